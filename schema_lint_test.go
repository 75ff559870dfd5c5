package main

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// schemaFiles are the schema's sources, as gqlgen.yml lists them.
var schemaFiles = []string{"schema.graphqls", "analytics.graphqls"}

var (
	typeName  = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
	fieldName = regexp.MustCompile(`^[a-z][A-Za-z0-9]*$`)
	enumValue = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)
)

// lintSchema returns every problem a schema linter reports on s: a type,
// field, argument, input field or enum value without a description, and
// names off the conventions (types PascalCase, fields and arguments
// camelCase, enum values UPPER_CASE). Built-in types and introspection
// fields are not the schema's own and are skipped.
func lintSchema(s *ast.Schema) []string {
	var out []string
	report := func(pos *ast.Position, format string, a ...any) {
		where := ""
		if pos != nil && pos.Src != nil {
			where = fmt.Sprintf("%s:%d: ", pos.Src.Name, pos.Line)
		}
		out = append(out, where+fmt.Sprintf(format, a...))
	}
	described := func(d string) bool { return strings.TrimSpace(d) != "" }
	for _, name := range slices.Sorted(maps.Keys(s.Types)) {
		t := s.Types[name]
		if t.BuiltIn || strings.HasPrefix(name, "__") {
			continue
		}
		if !described(t.Description) {
			report(t.Position, "type %s has no description", name)
		}
		if !typeName.MatchString(name) {
			report(t.Position, "type %s: expected a PascalCase name", name)
		}
		for _, f := range t.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			what := "field"
			if t.Kind == ast.InputObject {
				what = "input field"
			}
			if !described(f.Description) {
				report(f.Position, "%s %s.%s has no description", what, name, f.Name)
			}
			if !fieldName.MatchString(f.Name) {
				report(f.Position, "%s %s.%s: expected a camelCase name", what, name, f.Name)
			}
			for _, a := range f.Arguments {
				if !described(a.Description) {
					report(a.Position, "argument %s.%s(%s) has no description", name, f.Name, a.Name)
				}
				if !fieldName.MatchString(a.Name) {
					report(a.Position, "argument %s.%s(%s): expected a camelCase name", name, f.Name, a.Name)
				}
			}
		}
		for _, v := range t.EnumValues {
			if !described(v.Description) {
				report(v.Position, "enum value %s.%s has no description", name, v.Name)
			}
			if !enumValue.MatchString(v.Name) {
				report(v.Position, "enum value %s.%s: expected an UPPER_CASE name", name, v.Name)
			}
		}
	}
	return out
}

// TestSchemaLint: every type, field, argument and enum value of the
// schema is described (introspection, GraphiQL's docs pane and generated
// clients show these texts) and named by the conventions.
func TestSchemaLint(t *testing.T) {
	var srcs []*ast.Source
	for _, f := range schemaFiles {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		srcs = append(srcs, &ast.Source{Name: f, Input: string(b)})
	}
	s, err := gqlparser.LoadSchema(srcs...)
	require.NoError(t, err)
	problems := lintSchema(s)
	require.Empty(t, problems, "%d schema lint problems:\n%s", len(problems), strings.Join(problems, "\n"))
}

// TestSchemaLintFindsGaps: the linter reports what it should on a small
// schema with one of each gap.
func TestSchemaLintFindsGaps(t *testing.T) {
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "t.graphqls", Input: `
"The root."
type Query {
  "Fine."
  ok(
    "Fine."
    x: Int): Int
  bare(y: Int): Int
  snake_case: Int
}
enum Colour {
  "Fine."
  RED
  green
}
input Filter {
  "Fine."
  a: Int
  b: Int
}`})
	require.NoError(t, err)
	problems := lintSchema(s)
	slices.Sort(problems)
	require.Equal(t, []string{
		"t.graphqls:11: type Colour has no description",
		"t.graphqls:14: enum value Colour.green has no description",
		"t.graphqls:14: enum value Colour.green: expected an UPPER_CASE name",
		"t.graphqls:16: type Filter has no description",
		"t.graphqls:19: input field Filter.b has no description",
		"t.graphqls:8: argument Query.bare(y) has no description",
		"t.graphqls:8: field Query.bare has no description",
		"t.graphqls:9: field Query.snake_case has no description",
		"t.graphqls:9: field Query.snake_case: expected a camelCase name",
	}, problems)
}
