package httpapi

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"chiso/export"
)

// table is the plan of an export: where the list is in the answer and
// the columns of its rows, typed by the schema.
type table struct {
	name   string       // for the file name: the path's field names joined with -
	path   []string     // response keys from data down to the list
	fields []*ast.Field // the fields along path
	cols   []column
	matrix *matrixKeys // a matrix, written one row per cell
	// listSels is the list field's merged selection; parentSels the
	// selection it is in.
	listSels, parentSels ast.SelectionSet
}

type matrixKeys struct{ rows, columns, cells string }

// column is one leaf field below the list.
type column struct {
	name   string
	typ    export.Type
	keys   []string     // response keys from the row down to the leaf
	fields []*ast.Field // the fields along keys
	list   bool         // a list of values, written joined with ";"
	part   int          // in a matrix: 0 the row's unit, 1 the column, 2 the cell
}

func (t *table) columns() []export.Column {
	out := make([]export.Column, len(t.cols))
	for i, c := range t.cols {
		out[i] = export.Column{Name: c.name, Type: c.typ}
	}
	return out
}

// planner plans one operation's table.
type planner struct {
	rc     *graphql.OperationContext
	schema *ast.Schema
}

// field is a field of a selection, with the sub-selections of every
// occurrence of its response key merged.
type field struct {
	key  string
	def  *ast.Field
	sels ast.SelectionSet
}

// collect returns the fields selected on an object of type typ, in
// order, with fragments expanded, @skip and @include applied and
// repeated response keys merged, as GraphQL's field collection does.
func (p *planner) collect(sels ast.SelectionSet, typ string) []field {
	var out []field
	at := map[string]int{}
	var walk func(ast.SelectionSet)
	walk = func(sels ast.SelectionSet) {
		for _, s := range sels {
			switch s := s.(type) {
			case *ast.Field:
				if !p.included(s.Directives) {
					continue
				}
				key := s.Alias
				if key == "" {
					key = s.Name
				}
				if i, ok := at[key]; ok {
					out[i].sels = append(out[i].sels, s.SelectionSet...)
					continue
				}
				at[key] = len(out)
				out = append(out, field{key: key, def: s, sels: append(ast.SelectionSet(nil), s.SelectionSet...)})
			case *ast.InlineFragment:
				if p.included(s.Directives) && p.applies(s.TypeCondition, typ) {
					walk(s.SelectionSet)
				}
			case *ast.FragmentSpread:
				if !p.included(s.Directives) {
					continue
				}
				if f := p.rc.Doc.Fragments.ForName(s.Name); f != nil && p.applies(f.TypeCondition, typ) {
					walk(f.SelectionSet)
				}
			}
		}
	}
	walk(sels)
	return out
}

func (p *planner) applies(cond, typ string) bool {
	if cond == "" || cond == typ {
		return true
	}
	if c := p.schema.Types[cond]; c != nil {
		for _, o := range p.schema.GetPossibleTypes(c) {
			if o.Name == typ {
				return true
			}
		}
	}
	return false
}

func (p *planner) included(ds ast.DirectiveList) bool {
	for _, d := range ds {
		v, _ := d.ArgumentMap(p.rc.Variables)["if"].(bool)
		switch d.Name {
		case "skip":
			if v {
				return false
			}
		case "include":
			if !v {
				return false
			}
		}
	}
	return true
}

// planTable finds the first list the operation selects (depth first, in
// selection order) and the leaf fields below it.
func planTable(schema *ast.Schema, rc *graphql.OperationContext) (*table, *gqlerror.Error) {
	p := &planner{rc: rc, schema: schema}
	if p.rc.Operation.Operation != ast.Query {
		return nil, exportBadRequest("query", "export runs queries only, not a %s", p.rc.Operation.Operation)
	}
	root := "Query"
	var find func(sels ast.SelectionSet, typ string, t table) *table
	find = func(sels ast.SelectionSet, typ string, t table) *table {
		for _, f := range p.collect(sels, typ) {
			if f.def.Definition == nil || strings.HasPrefix(f.def.Name, "__") {
				continue
			}
			ft := f.def.Definition.Type
			next := t
			next.path = append(append([]string(nil), t.path...), f.key)
			next.fields = append(append([]*ast.Field(nil), t.fields...), f.def)
			if ft.Elem != nil {
				next.listSels, next.parentSels = f.sels, sels
				return &next
			}
			if len(f.sels) > 0 {
				if got := find(f.sels, ft.Name(), next); got != nil {
					return got
				}
			}
		}
		return nil
	}
	t := find(p.rc.Operation.SelectionSet, root, table{})
	if t == nil {
		return nil, exportBadRequest("query", "the query selects no list: export writes the first list a query selects (observations { nodes { … } }, compare { rows { … } }, rollup, matrix, a unit's series { observations { … } } …)")
	}
	names := make([]string, len(t.fields))
	for i, f := range t.fields {
		names[i] = f.Name
	}
	t.name = strings.Join(names, "-")
	last := t.fields[len(t.fields)-1]
	parent := "Query"
	if len(t.fields) > 1 {
		parent = t.fields[len(t.fields)-2].Definition.Type.Name()
	}
	if parent == "Matrix" {
		return p.planMatrix(t)
	}
	if err := p.addColumns(t, t.listSels, last.Definition.Type, nil, nil, 0, strings.Join(t.path, ".")); err != nil {
		return nil, err
	}
	return t, nil
}

// planMatrix plans a matrix: one row per cell, with the row's fields
// (under the rows key), the column label and the cell's fields.
func (p *planner) planMatrix(t *table) (*table, *gqlerror.Error) {
	t.path = t.path[:len(t.path)-1]
	t.fields = t.fields[:len(t.fields)-1]
	t.name = t.name[:strings.LastIndex(t.name, "-")]
	t.matrix = &matrixKeys{}
	for _, f := range p.collect(t.parentSels, "Matrix") {
		switch f.def.Name {
		case "rows":
			t.matrix.rows = f.key
			if err := p.addColumns(t, f.sels, f.def.Definition.Type, nil, nil, 0, f.key); err != nil {
				return nil, err
			}
			for i := range t.cols {
				if t.cols[i].part == 0 {
					t.cols[i].name = f.key + "." + t.cols[i].name
				}
			}
		case "columns":
			t.matrix.columns = f.key
			t.cols = append(t.cols, column{name: f.key, typ: export.String, part: 1})
		case "cells":
			t.matrix.cells = f.key
			n := len(t.cols)
			if err := p.addColumns(t, f.sels, f.def.Definition.Type.Elem, nil, nil, 2, f.key); err != nil {
				return nil, err
			}
			for i := n; i < len(t.cols); i++ {
				t.cols[i].name = f.key + "." + t.cols[i].name
			}
		}
	}
	return t, nil
}

// addColumns adds a column per leaf field selected below a value of type
// typ (a list's element type when typ is a list), named by the response
// keys from the row joined with dots.
func (p *planner) addColumns(t *table, sels ast.SelectionSet, typ *ast.Type, keys []string, fields []*ast.Field, part int, at string) *gqlerror.Error {
	for typ.Elem != nil {
		typ = typ.Elem
	}
	for _, f := range p.collect(sels, typ.Name()) {
		k := append(append([]string(nil), keys...), f.key)
		fs := append(append([]*ast.Field(nil), fields...), f.def)
		if f.def.Name == "__typename" {
			t.cols = append(t.cols, column{name: strings.Join(k, "."), typ: export.String, keys: k, fields: fs, part: part})
			continue
		}
		ft := f.def.Definition.Type
		if len(f.sels) > 0 {
			if ft.Elem != nil {
				return exportBadRequest("query", "field %s.%s is a list inside the exported list %s: a table flattens one list; leave it out, or export it on its own", at, strings.Join(k, "."), at)
			}
			if err := p.addColumns(t, f.sels, ft, k, fs, part, at); err != nil {
				return err
			}
			continue
		}
		c := column{name: strings.Join(k, "."), keys: k, fields: fs, part: part, list: ft.Elem != nil}
		if !c.list {
			c.typ = scalarType(ft.Name())
		}
		t.cols = append(t.cols, c)
	}
	return nil
}

func scalarType(name string) export.Type {
	switch name {
	case "Int":
		return export.Int
	case "Float":
		return export.Float
	case "Boolean":
		return export.Bool
	case "Date":
		return export.Date
	case "Time":
		return export.Time
	}
	return export.String // String, ID and enums
}

// fromJSON reads the column's cell from a row of a JSON answer, typed.
func (c column) fromJSON(row any) any {
	v := row
	if c.part == 1 {
		return v
	}
	for _, k := range c.keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	if v == nil {
		return nil
	}
	if c.list {
		l, _ := v.([]any)
		s := make([]string, len(l))
		for i, x := range l {
			s[i] = export.Text(x)
		}
		return strings.Join(s, ";")
	}
	switch c.typ {
	case export.Int:
		if n, ok := v.(json.Number); ok {
			i, err := n.Int64()
			if err == nil {
				return i
			}
		}
	case export.Float:
		if n, ok := v.(json.Number); ok {
			f, err := n.Float64()
			if err == nil {
				return f
			}
		}
	case export.Bool:
		return v
	case export.Date:
		if s, ok := v.(string); ok {
			if t, err := time.Parse(time.DateOnly, s); err == nil {
				return t
			}
		}
	case export.Time:
		if s, ok := v.(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return t.UTC()
			}
		}
	default:
		if s, ok := v.(string); ok {
			return s
		}
	}
	return export.Text(v)
}
