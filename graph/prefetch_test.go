package graph

import (
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"chiso/graph/model"
)

// unitFields returns the fields a query selects on unit(code: "x").
func unitFields(t *testing.T, query string) map[string]graphql.CollectedField {
	schema := NewExecutableSchema(Config{Resolvers: &Resolver{}}).Schema()
	doc, errs := gqlparser.LoadQueryWithRules(schema, query, rules.NewDefaultRules())
	require.Empty(t, errs)
	unit := doc.Operations[0].SelectionSet[0].(*ast.Field)
	out := map[string]graphql.CollectedField{}
	for _, s := range unit.SelectionSet {
		f := s.(*ast.Field)
		out[f.Alias] = graphql.CollectedField{Field: f}
	}
	return out
}

// TestLookAheadArguments: the look-ahead decodes the arguments of
// latest, series and children as gqlgen does (defaults, variables, null,
// a lone value for a list), and says when one cannot be decoded.
func TestLookAheadArguments(t *testing.T) {
	fs := unitFields(t, `query($k: [ObservationKind!], $one: ObservationKind, $i: ID!) { unit(code: "x") {
		l1: latest(indicator: "a") { value }
		l2: latest(indicator: $i, kind: $one) { value }
		l3: latest(indicator: "a", kind: null) { value }
		s1: series(indicator: "a", kinds: $k) { unit { code } }
		s2: series(indicator: "a", kinds: TARGET) { unit { code } }
		s3: series(indicator: "a") { unit { code } }
		c1: children(level: COMMUNE) { code }
		c2: children { code }
	} }`)
	vars := map[string]any{"k": []any{"ACTUAL", "TARGET"}, "one": "SHARE", "i": "b"}
	args := func(alias string) map[string]any {
		a, err := fieldArgs(fs[alias], vars)
		require.NoError(t, err, alias)
		return a
	}
	kind := func(alias string) *model.ObservationKind {
		k, err := enumArg[model.ObservationKind](args(alias), "kind")
		require.NoError(t, err)
		return k
	}
	require.Equal(t, model.ObservationKindActual, *kind("l1"), "the schema's default")
	require.Equal(t, model.ObservationKindShare, *kind("l2"))
	require.Nil(t, kind("l3"), "null: the resolver's default")
	ind, err := stringArg(args("l2"), "indicator")
	require.NoError(t, err)
	require.Equal(t, "b", ind)

	kinds := func(alias string) []model.ObservationKind {
		k, err := enumListArg[model.ObservationKind](args(alias), "kinds")
		require.NoError(t, err)
		return k
	}
	require.Equal(t, []model.ObservationKind{model.ObservationKindActual, model.ObservationKindTarget}, kinds("s1"))
	require.Equal(t, []model.ObservationKind{model.ObservationKindTarget}, kinds("s2"), "a lone value is a list of one")
	require.Nil(t, kinds("s3"))

	level, err := enumArg[model.Level](args("c1"), "level")
	require.NoError(t, err)
	require.Equal(t, model.LevelCommune, *level)
	level, err = enumArg[model.Level](args("c2"), "level")
	require.NoError(t, err)
	require.Nil(t, level)

	// What cannot be decoded is an error, not a panic.
	_, err = enumListArg[model.ObservationKind](map[string]any{"kinds": []any{"ACTUAL", "SOMETIMES"}}, "kinds")
	require.ErrorContains(t, err, "argument kinds, item 1: expected a model.ObservationKind value, got SOMETIMES")
	_, err = enumArg[model.Level](map[string]any{"level": 3}, "level")
	require.Error(t, err)
	_, err = stringArg(map[string]any{}, "indicator")
	require.Error(t, err)
	bad := &ast.Field{Name: "f", Definition: &ast.FieldDefinition{Arguments: ast.ArgumentDefinitionList{{Name: "n", Type: ast.NamedType("Int", nil)}}},
		Arguments: ast.ArgumentList{{Name: "n", Value: &ast.Value{Kind: ast.IntValue, Raw: "99999999999999999999"}}}}
	require.NotPanics(t, func() {
		_, err = fieldArgs(graphql.CollectedField{Field: bad}, nil)
	})
	require.ErrorContains(t, err, "field f, argument n:")
}
