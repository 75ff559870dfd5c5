package graph

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// codeValidationFailed is gqlgen's code of a document or variables that
// do not validate.
const codeValidationFailed = "GRAPHQL_VALIDATION_FAILED"

// intOutOfRange is the first argument of op (fragments included, each
// once) typed Int whose value, literal or variable, is outside GraphQL's
// 32-bit Int: a request error (the spec's input coercion of Int), which
// gqlparser's validation does not check and gqlgen would read as a
// 64-bit int. nil when every Int argument fits.
func intOutOfRange(op *ast.OperationDefinition, vars map[string]any) *gqlerror.Error {
	seen := map[string]bool{}
	var set func(ast.SelectionSet) *gqlerror.Error
	set = func(ss ast.SelectionSet) *gqlerror.Error {
		for _, sel := range ss {
			var err *gqlerror.Error
			switch s := sel.(type) {
			case *ast.Field:
				if err = fieldInts(s, vars); err == nil {
					err = set(s.SelectionSet)
				}
			case *ast.InlineFragment:
				err = set(s.SelectionSet)
			case *ast.FragmentSpread:
				if !seen[s.Name] && s.Definition != nil {
					seen[s.Name] = true
					err = set(s.Definition.SelectionSet)
				}
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return set(op.SelectionSet)
}

func fieldInts(f *ast.Field, vars map[string]any) *gqlerror.Error {
	if f.Definition == nil {
		return nil
	}
	for _, a := range f.Arguments {
		def := f.Definition.Arguments.ForName(a.Name)
		if def == nil || a.Value == nil {
			continue
		}
		if bad, ok := badInt(def.Type, a.Value, vars); ok {
			err := gqlerror.ErrorPosf(a.Value.Position, "argument %s: Int cannot represent non 32-bit signed integer value: %s (GraphQL's Int is from %d to %d)", a.Name, bad, math.MinInt32, math.MaxInt32)
			err.Extensions = map[string]any{"code": codeValidationFailed, "argument": a.Name}
			return err
		}
	}
	return nil
}

// badInt is the text of the first Int in v (of type t) outside 32 bits.
func badInt(t *ast.Type, v *ast.Value, vars map[string]any) (string, bool) {
	switch {
	case v.Kind == ast.Variable:
		return badIntValue(t, vars[v.Raw])
	case t.Elem != nil && v.Kind == ast.ListValue:
		for _, c := range v.Children {
			if bad, ok := badInt(t.Elem, c.Value, vars); ok {
				return bad, true
			}
		}
	case t.Elem != nil:
		return badInt(t.Elem, v, vars) // one value given for a list
	case t.NamedType == "Int" && v.Kind == ast.IntValue:
		if _, err := strconv.ParseInt(v.Raw, 10, 32); err != nil {
			return v.Raw, true
		}
	}
	return "", false
}

// badIntValue is badInt for a variable's coerced value.
func badIntValue(t *ast.Type, v any) (string, bool) {
	if t.Elem != nil {
		if l, ok := v.([]any); ok {
			for _, x := range l {
				if bad, ok := badIntValue(t.Elem, x); ok {
					return bad, true
				}
			}
			return "", false
		}
		return badIntValue(t.Elem, v)
	}
	if t.NamedType != "Int" {
		return "", false
	}
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case int:
		s = strconv.Itoa(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case float64:
		if x < math.MinInt32 || x > math.MaxInt32 {
			return fmt.Sprint(x), true
		}
		return "", false
	default:
		return "", false
	}
	_, err := strconv.ParseInt(s, 10, 32)
	if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		return s, true
	}
	if f, ferr := strconv.ParseFloat(s, 64); err != nil && ferr == nil && (f < math.MinInt32 || f > math.MaxInt32) {
		return s, true // 1e10
	}
	return "", false
}
