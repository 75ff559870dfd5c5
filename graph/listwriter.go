package graph

import (
	"bytes"
	"context"
	"io"
	"math"
	"reflect"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"chiso/graph/model"
	"chiso/indicator"
)

// ListWriter is a field interceptor that writes long lists of analytic rows
// (rollup rows, comparison rows, observations, a matrix's cells), of
// units, and the edges of their pages in one pass. gqlgen
// executes every field of every row on its own: a field context, a
// context value and closures per field, a field set and a deferred group
// per object. For a 1,260-row rollup with three nested objects per row
// that costs more than the statement that computed the rows.
//
// The interceptor runs after the list's resolver. When every field the
// request selects below the list is one it knows (a plain value of the
// row, or a nested object made of such values), it compiles the selection
// once and writes each row as JSON, byte for byte what gqlgen writes;
// gqlgen takes a Marshaler returned by a resolver as the field's value.
// Anything else (a field with arguments or its own resolver that may batch
// or fail, @defer, a value gqlgen would refuse such as NaN, a null in a
// non-null field) leaves the list to gqlgen's own execution, so answers,
// errors and nulls are unchanged. The same arguments, limits, complexity
// and errors apply either way: only the writing of the resolved rows
// differs.
type ListWriter struct {
	t       *listTypes
	written atomic.Int64
}

// NewListWriter returns the interceptor for a resolver's schema.
func NewListWriter(r *Resolver) *ListWriter { return &ListWriter{t: newListTypes(r)} }

var _ interface {
	graphql.HandlerExtension
	graphql.FieldInterceptor
} = (*ListWriter)(nil)

// ExtensionName names the extension.
func (*ListWriter) ExtensionName() string { return "chiso.ListWriter" }

// Validate accepts any schema.
func (*ListWriter) Validate(graphql.ExecutableSchema) error { return nil }

// Written is the number of lists written so far (not left to gqlgen).
func (f *ListWriter) Written() int64 { return f.written.Load() }

// InterceptField resolves the field, then writes a supported list itself.
func (f *ListWriter) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if err != nil || res == nil {
		return res, err
	}
	var m graphql.Marshaler
	switch v := res.(type) {
	case []indicator.RollupRow:
		m = renderList(ctx, f.t.rollupRow, v)
	case []indicator.CompareRow:
		m = renderList(ctx, f.t.compareRow, v)
	case []indicator.Observation:
		m = renderList(ctx, f.t.observation, v)
	case []indicator.Unit:
		m = renderList(ctx, f.t.unit, v)
	case []model.ObservationEdge:
		m = renderList(ctx, f.t.obsEdge, v)
	case []model.UnitEdge:
		m = renderList(ctx, f.t.unitEdge, v)
	case [][]*model.MatrixCell:
		m = renderGrid(ctx, f.t.matrixCell, v)
	}
	if m == nil {
		return res, err
	}
	f.written.Add(1)
	return m, nil
}

// renderList writes rows as a non-null list of non-null objects, or
// returns nil when gqlgen should execute the list itself.
func renderList[T any](ctx context.Context, t *objectType[T], rows []T) graphql.Marshaler {
	emit, ok := compileList(ctx, t, 1)
	if !ok {
		return nil
	}
	var b bytes.Buffer
	b.Grow(len(rows) * 64)
	b.WriteByte('[')
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		if !emit(&b, &rows[i]) {
			return nil
		}
	}
	b.WriteByte(']')
	return written(b.Bytes())
}

// renderGrid writes a non-null list of non-null lists of nullable objects
// (a matrix's cells), or returns nil when gqlgen should.
func renderGrid[T any](ctx context.Context, t *objectType[T], rows [][]*T) graphql.Marshaler {
	emit, ok := compileList(ctx, t, 2)
	if !ok {
		return nil
	}
	cell := nullObject(emit)
	var b bytes.Buffer
	b.WriteByte('[')
	for i, row := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		for j := range row {
			if j > 0 {
				b.WriteByte(',')
			}
			if !cell(&b, row[j]) {
				return nil
			}
		}
		b.WriteByte(']')
	}
	b.WriteByte(']')
	return written(b.Bytes())
}

// compileList compiles the selection of the list field being resolved
// when its type is the one the caller writes: [T!]! at depth 1, or
// [[T]!]! at depth 2 (a grid, whose cells may be null). The outer list
// may be nullable ([T!], a root field that can fail on its own): the
// interceptor only writes a list it was given.
func compileList[T any](ctx context.Context, t *objectType[T], depth int) (emit[T], bool) {
	fc := graphql.GetFieldContext(ctx)
	oc := graphql.GetOperationContext(ctx)
	if fc == nil || oc == nil || fc.Field.Field == nil || fc.Field.Definition == nil {
		return nil, false
	}
	typ := fc.Field.Definition.Type
	for d := range depth {
		if typ == nil || (!typ.NonNull && d > 0) {
			return nil, false
		}
		typ = typ.Elem
	}
	if typ == nil || typ.NamedType != t.name || typ.NonNull != (depth == 1) {
		return nil, false
	}
	return t.compile(ctx, oc, fc.Field.Selections)
}

// written is a Marshaler that writes out as it is.
func written(out []byte) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) { w.Write(out) })
}

// emit writes one value; false means it cannot, and gqlgen takes over.
type emit[T any] func(b *bytes.Buffer, v *T) bool

// fieldCompiler compiles one selected field of T into its value's writer;
// false means the field is not one the list writer writes.
type fieldCompiler[T any] func(ctx context.Context, oc *graphql.OperationContext, f graphql.CollectedField) (emit[T], bool)

// field is a field of T the list writer writes: the GraphQL type of what
// it writes (a test holds it to the schema's) and its compiler.
type field[T any] struct {
	typ     func() *ast.Type
	compile fieldCompiler[T]
}

// objectType is a GraphQL object type the list writer can write: its name,
// gqlgen's implementors list for collecting fields, and its fields.
type objectType[T any] struct {
	name         string
	implementors []string
	fields       map[string]field[T]
}

// fieldTypes is the GraphQL type of each field o writes, by name.
func (o *objectType[T]) fieldTypes() map[string]*ast.Type {
	out := make(map[string]*ast.Type, len(o.fields))
	for name, f := range o.fields {
		out[name] = f.typ()
	}
	return out
}

// compile collects the selection as gqlgen does (fragments, aliases,
// @skip and @include under the request's variables) and compiles each
// field, in order.
func (o *objectType[T]) compile(ctx context.Context, oc *graphql.OperationContext, sel ast.SelectionSet) (emit[T], bool) {
	fields := graphql.CollectFields(oc, sel, o.implementors)
	type part struct {
		key  []byte
		emit emit[T]
	}
	parts := make([]part, 0, len(fields))
	for i, f := range fields {
		if len(f.Deferrables) > 0 || len(f.Arguments) > 0 || hasOtherDirectives(f.Directives) {
			return nil, false
		}
		var key bytes.Buffer
		if i > 0 {
			key.WriteByte(',')
		}
		graphql.MarshalString(f.Alias).MarshalGQL(&key)
		key.WriteByte(':')
		var e emit[T]
		if f.Name == "__typename" {
			e = constant[T](o.name)
		} else {
			c, ok := o.fields[f.Name]
			if !ok {
				return nil, false
			}
			if e, ok = c.compile(ctx, oc, f); !ok {
				return nil, false
			}
		}
		parts = append(parts, part{key.Bytes(), e})
	}
	return func(b *bytes.Buffer, v *T) bool {
		b.WriteByte('{')
		for _, p := range parts {
			b.Write(p.key)
			if !p.emit(b, v) {
				return false
			}
		}
		b.WriteByte('}')
		return true
	}, true
}

// hasOtherDirectives reports a directive other than @skip and @include
// (which field collection has already applied).
func hasOtherDirectives(ds ast.DirectiveList) bool {
	for _, d := range ds {
		if d.Name != "skip" && d.Name != "include" {
			return true
		}
	}
	return false
}

func constant[T any](typeName string) emit[T] {
	var b bytes.Buffer
	graphql.MarshalString(typeName).MarshalGQL(&b)
	lit := b.Bytes()
	return func(b *bytes.Buffer, _ *T) bool { b.Write(lit); return true }
}

// leaf compiles a field whose value is written by put.
func leaf[T, V any](get func(*T) V, put scalar[V]) field[T] {
	return resolvedLeaf(func(_ context.Context, v *T) (V, error) { return get(v), nil }, put)
}

// resolvedLeaf compiles a leaf whose value a resolver maps from the row;
// the request's context reaches it, as under gqlgen.
func resolvedLeaf[T, V any](res func(context.Context, *T) (V, error), put scalar[V]) field[T] {
	return field[T]{typ: func() *ast.Type { return put.typ }, compile: func(ctx context.Context, _ *graphql.OperationContext, f graphql.CollectedField) (emit[T], bool) {
		if len(f.Selections) > 0 {
			return nil, false
		}
		return func(b *bytes.Buffer, v *T) bool {
			x, err := res(ctx, v)
			return err == nil && put.put(b, x)
		}, true
	}}
}

// object compiles a field holding a nested object of the row.
func object[T, U any](get func(*T) *U, nonNull bool, u func() *objectType[U]) field[T] {
	return resolvedObject(func(_ context.Context, v *T) (*U, error) { return get(v), nil }, nonNull, u)
}

// resolvedObject compiles a field holding a nested object that a resolver
// maps from the row. A nil one is null or, in a non-null field, left to
// gqlgen (which reports it).
func resolvedObject[T, U any](res func(context.Context, *T) (*U, error), nonNull bool, u func() *objectType[U]) field[T] {
	typ := func() *ast.Type { return &ast.Type{NamedType: u().name, NonNull: nonNull} }
	return field[T]{typ: typ, compile: func(ctx context.Context, oc *graphql.OperationContext, f graphql.CollectedField) (emit[T], bool) {
		e, ok := u().compile(ctx, oc, f.Selections)
		if !ok {
			return nil, false
		}
		if !nonNull {
			e = nullObject(e)
		}
		return func(b *bytes.Buffer, v *T) bool {
			x, err := res(ctx, v)
			return err == nil && (x != nil || !nonNull) && e(b, x)
		}, true
	}}
}

// nullObject writes a nil object as null and any other with e.
func nullObject[T any](e emit[T]) emit[T] {
	return func(b *bytes.Buffer, v *T) bool {
		if v == nil {
			b.WriteString("null")
			return true
		}
		return e(b, v)
	}
}

// scalar writes a leaf value of Go type V as gqlgen writes its GraphQL
// type typ; false means it cannot (gqlgen takes over).
type scalar[V any] struct {
	typ *ast.Type
	put func(*bytes.Buffer, V) bool
}

func nonNull(name string) *ast.Type { return ast.NonNullNamedType(name, nil) }

// orNull writes a nil value as null and any other as s does: s's type,
// nullable.
func orNull[V any](s scalar[V]) scalar[*V] {
	t := *s.typ
	t.NonNull = false
	return scalar[*V]{typ: &t, put: func(b *bytes.Buffer, v *V) bool {
		if v == nil {
			b.WriteString("null")
			return true
		}
		return s.put(b, *v)
	}}
}

// The writers of scalar values, as gqlgen's marshalers write them.
var (
	putString  = scalar[string]{nonNull("String"), writeString}
	putID      = scalar[string]{nonNull("ID"), writeString} // graphql.MarshalID is MarshalString
	putStrings = scalar[[]string]{ast.NonNullListType(nonNull("String"), nil), writeStrings}
	putInt     = scalar[int]{nonNull("Int"), writeInt}
	putFloat   = scalar[float64]{nonNull("Float"), writeFloat}
	putBool    = scalar[bool]{nonNull("Boolean"), writeBool}
	putDate    = scalar[time.Time]{nonNull("Date"), writeDate}
)

// putEnum writes an enum of package model, whose Go type is named as the
// GraphQL enum is.
func putEnum[E graphql.Marshaler]() scalar[E] {
	return scalar[E]{nonNull(reflect.TypeFor[E]().Name()), func(b *bytes.Buffer, e E) bool {
		e.MarshalGQL(b)
		return true
	}}
}

func writeString(b *bytes.Buffer, s string) bool {
	graphql.MarshalString(s).MarshalGQL(b)
	return true
}

func writeStrings(b *bytes.Buffer, ss []string) bool {
	b.WriteByte('[')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, s)
	}
	b.WriteByte(']')
	return true
}

func writeInt(b *bytes.Buffer, n int) bool {
	b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(n), 10))
	return true
}

// writeFloat writes what gqlgen's %g writes; NaN and infinities, which
// gqlgen turns into an error, are left to it.
func writeFloat(b *bytes.Buffer, x float64) bool {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return false
	}
	b.Write(strconv.AppendFloat(b.AvailableBuffer(), x, 'g', -1, 64))
	return true
}

func writeBool(b *bytes.Buffer, x bool) bool {
	b.WriteString(strconv.FormatBool(x))
	return true
}

func writeDate(b *bytes.Buffer, t time.Time) bool {
	MarshalDate(t).MarshalGQL(b)
	return true
}
