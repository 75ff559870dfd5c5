package graph

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestListTypesMatchSchema: every field the list writer writes exists in
// the schema gqlgen generated from (schema.graphqls, analytics.graphqls),
// on the same object type, with the same type and nullability and no
// arguments; so a schema change the writer does not follow fails here,
// naming the field, instead of writing a different answer.
func TestListTypesMatchSchema(t *testing.T) {
	schema := NewExecutableSchema(Config{Resolvers: &Resolver{}}).Schema()
	types := newListTypes(&Resolver{}).written()
	require.Len(t, types, 10)
	require.Empty(t, schemaMismatches(schema, types))
}

// TestSchemaMismatches: the check names what differs.
func TestSchemaMismatches(t *testing.T) {
	schema := NewExecutableSchema(Config{Resolvers: &Resolver{}}).Schema()
	wrong := []writtenType{
		{name: "Period", implementors: periodImplementors, fields: map[string]*ast.Type{
			"label": ast.NamedType("String", nil), // nullable, where the schema says String!
			"size":  ast.NonNullNamedType("Int", nil),
			"start": ast.NonNullNamedType("String", nil),
		}},
		{name: "Nothing", fields: map[string]*ast.Type{}},
		{name: "Unit", implementors: periodImplementors, fields: map[string]*ast.Type{}},
		{name: "Unit", implementors: unitImplementors, fields: map[string]*ast.Type{"latest": ast.NamedType("Observation", nil)}},
	}
	require.Equal(t, []string{
		"Period.label: the schema's type is String!, the list writer writes String",
		"Period.size: not in the schema",
		"Period.start: the schema's type is Date!, the list writer writes String!",
		"Nothing: not an object type of the schema",
		"Unit: its implementors [Period] do not include it",
		"Unit.latest: takes arguments in the schema (indicator, kind), which the list writer does not read",
	}, schemaMismatches(schema, wrong))
}

// schemaMismatches lists every way types differ from the schema.
func schemaMismatches(schema *ast.Schema, types []writtenType) []string {
	var out []string
	for _, wt := range types {
		def := schema.Types[wt.name]
		if def == nil || def.Kind != ast.Object {
			out = append(out, wt.name+": not an object type of the schema")
			continue
		}
		if !slices.Contains(wt.implementors, wt.name) {
			out = append(out, fmt.Sprintf("%s: its implementors %v do not include it", wt.name, wt.implementors))
		}
		names := make([]string, 0, len(wt.fields))
		for name := range wt.fields {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			typ := wt.fields[name]
			fd := def.Fields.ForName(name)
			switch {
			case fd == nil:
				out = append(out, fmt.Sprintf("%s.%s: not in the schema", wt.name, name))
			case fd.Type.String() != typ.String():
				out = append(out, fmt.Sprintf("%s.%s: the schema's type is %s, the list writer writes %s", wt.name, name, fd.Type, typ))
			case len(fd.Arguments) > 0:
				var args []string
				for _, a := range fd.Arguments {
					args = append(args, a.Name)
				}
				out = append(out, fmt.Sprintf("%s.%s: takes arguments in the schema (%s), which the list writer does not read", wt.name, name, joinNames(args)))
			}
		}
	}
	return out
}

func joinNames(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}
