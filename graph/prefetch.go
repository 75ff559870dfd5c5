package graph

import (
	"context"
	"fmt"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"chiso/graph/model"
	"chiso/indicator"
)

// ahead is what a request will ask for below a list of units: the keys of
// their latest values and of their series.
type ahead struct{ latest, series []seriesKey }

// prefetch looks ahead from a list of units just resolved (a unit's
// children or descendants, or a page of units): the latest values and
// series the request selects on those units, and on their children and
// descendants further down, are fetched at once, one engine call for each
// kind of value (run side by side), and primed in the request's loaders.
// Their resolvers then answer without waiting for the batch window; a
// tree of a province's districts and communes with each commune's latest
// value costs one statement and no wait. The look-ahead follows only unit
// lists, which come from the snapshot's index without SQL. Whatever it
// misses (an argument it cannot read, too many keys) the resolvers fetch
// through the loaders' batches.
//
// Only the top list of a tree looks ahead (a list inside another list
// does not): its look-ahead covers the whole tree, and when the tree is
// too big for one fetch, the loaders' batches serve it rather than one
// fetch per sub-list, one after another.
func (r *Resolver) prefetch(ctx context.Context, units []indicator.Unit) {
	if fc, oc := topList(ctx); fc != nil {
		r.prefetchBelow(ctx, oc, fc.Field.Selections, units)
	}
}

// topList returns the field being resolved and its operation when the
// field is not inside a list (see prefetch), else nil.
func topList(ctx context.Context) (*graphql.FieldContext, *graphql.OperationContext) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || !graphql.HasOperationContext(ctx) || inList(ctx) {
		return nil, nil
	}
	return fc, graphql.GetOperationContext(ctx)
}

// prefetchPage is prefetch for a page of units: what the request selects
// on its nodes and on its edges' nodes.
func (r *Resolver) prefetchPage(ctx context.Context, units []indicator.Unit) {
	fc, oc := topList(ctx)
	if fc == nil {
		return
	}
	var sel ast.SelectionSet
	for _, f := range graphql.CollectFields(oc, fc.Field.Selections, unitConnectionImplementors) {
		switch f.Name {
		case "nodes":
			sel = append(sel, f.Selections...)
		case "edges":
			for _, e := range graphql.CollectFields(oc, f.Selections, unitEdgeImplementors) {
				if e.Name == "node" {
					sel = append(sel, e.Selections...)
				}
			}
		}
	}
	r.prefetchBelow(ctx, oc, sel, units)
}

// prefetchBelow fetches and primes what sel asks for on units and below.
func (r *Resolver) prefetchBelow(ctx context.Context, oc *graphql.OperationContext, sel ast.SelectionSet, units []indicator.Unit) {
	l, _ := ctx.Value(loadersKey{}).(*loaders)
	if l == nil || len(units) == 0 || len(sel) == 0 {
		return
	}
	var a ahead
	if !r.lookAhead(ctx, oc, sel, units, &a, l.latest.max) {
		return
	}
	// An error here is the resolvers' to report: they fetch again.
	var wg sync.WaitGroup
	if len(a.latest) > 0 {
		wg.Go(func() { _ = l.latest.prime(a.latest) })
	}
	if len(a.series) > 0 {
		wg.Go(func() { _ = l.series.prime(a.series) })
	}
	wg.Wait()
}

// lookAhead adds to a the keys that sel asks for on units and below them;
// false when it cannot tell or there would be more than max of a kind.
// It decodes the arguments it reads itself (fieldArgs); one it cannot
// decode makes it give up, deliberately: the resolvers then decode the
// same arguments through gqlgen, which reports the error to the client.
func (r *Resolver) lookAhead(ctx context.Context, oc *graphql.OperationContext, sel ast.SelectionSet, units []indicator.Unit, a *ahead, max int) bool {
	each := func(keys *[]seriesKey, ind, kinds string) {
		for _, u := range units {
			*keys = append(*keys, seriesKey{indicator.SeriesKey{Unit: u.Code, Indicator: ind}, kinds})
		}
	}
	for _, f := range graphql.CollectFields(oc, sel, unitImplementors) {
		switch f.Name {
		case "latest":
			args, err := fieldArgs(f, oc.Variables)
			if err != nil {
				return false
			}
			ind, err := stringArg(args, "indicator")
			if err != nil {
				return false
			}
			kind, err := enumArg[model.ObservationKind](args, "kind")
			if err != nil {
				return false
			}
			each(&a.latest, ind, string(domainKind(kind)))
		case "series":
			args, err := fieldArgs(f, oc.Variables)
			if err != nil {
				return false
			}
			ind, err := stringArg(args, "indicator")
			if err != nil {
				return false
			}
			kinds, err := enumListArg[model.ObservationKind](args, "kinds")
			if err != nil {
				return false
			}
			each(&a.series, ind, kindsKey(domainKinds(kinds)))
		case "children", "descendants":
			args, err := fieldArgs(f, oc.Variables)
			if err != nil {
				return false
			}
			level, err := enumArg[model.Level](args, "level")
			if err != nil {
				return false
			}
			codes := make([]string, len(units))
			for i, u := range units {
				codes[i] = u.Code
			}
			var below map[string][]indicator.Unit
			if f.Name == "children" {
				below, err = r.Engine.Children(ctx, codes, domainLevel(level), nil)
			} else {
				below, err = r.Engine.Descendants(ctx, codes, domainLevel(level), nil)
			}
			if err != nil {
				return false
			}
			var next []indicator.Unit
			for _, c := range codes {
				next = append(next, below[c]...)
			}
			if len(next) > 0 && !r.lookAhead(ctx, oc, f.Selections, next, a, max) {
				return false
			}
		}
		if len(a.latest) > max || len(a.series) > max {
			return false
		}
	}
	return true
}

// fieldArgs decodes a selected field's arguments under the request's
// variables, with the schema's defaults, as ast.Field.ArgumentMap does;
// where that panics on a value it cannot read, this returns an error. An
// argument neither given nor defaulted is absent from the map; one given
// as null is present with a nil value.
func fieldArgs(f graphql.CollectedField, vars map[string]any) (map[string]any, error) {
	if f.Field == nil || f.Definition == nil {
		return nil, fmt.Errorf("field %s: no definition in the schema", f.Name)
	}
	out := make(map[string]any, len(f.Definition.Arguments))
	for _, def := range f.Definition.Arguments {
		var val any
		var given bool
		var err error
		if arg := f.Arguments.ForName(def.Name); arg != nil {
			if arg.Value.Kind == ast.Variable {
				val, given = vars[arg.Value.Raw]
			} else {
				val, err = arg.Value.Value(vars)
				given = true
			}
		}
		if !given && def.DefaultValue != nil {
			val, err = def.DefaultValue.Value(vars)
			given = true
		}
		if err != nil {
			return nil, fmt.Errorf("field %s, argument %s: %w", f.Name, def.Name, err)
		}
		if given {
			out[def.Name] = val
		}
	}
	return out, nil
}

// stringArg decodes a required String or ID argument.
func stringArg(args map[string]any, name string) (string, error) {
	s, ok := args[name].(string)
	if !ok || s == "" {
		return "", fmt.Errorf("argument %s: expected a string, got %v", name, args[name])
	}
	return s, nil
}

// enum is a generated enum of package model.
type enum interface {
	~string
	IsValid() bool
}

// enumArg decodes an optional enum argument: nil when absent or null.
func enumArg[E enum](args map[string]any, name string) (*E, error) {
	v, ok := args[name]
	if !ok || v == nil {
		return nil, nil
	}
	e, err := enumValue[E](v)
	if err != nil {
		return nil, fmt.Errorf("argument %s: %w", name, err)
	}
	return &e, nil
}

// enumListArg decodes an optional list of enums: nil when absent or null.
// A single value stands for a list of one, as GraphQL's input coercion
// (and gqlgen's) has it.
func enumListArg[E enum](args map[string]any, name string) ([]E, error) {
	v, ok := args[name]
	if !ok || v == nil {
		return nil, nil
	}
	list, isList := v.([]any)
	if !isList {
		list = []any{v}
	}
	out := make([]E, len(list))
	for i, x := range list {
		e, err := enumValue[E](x)
		if err != nil {
			return nil, fmt.Errorf("argument %s, item %d: %w", name, i, err)
		}
		out[i] = e
	}
	return out, nil
}

func enumValue[E enum](v any) (E, error) {
	s, _ := v.(string)
	if e := E(s); e.IsValid() {
		return e, nil
	}
	return "", fmt.Errorf("expected a %T value, got %v", E(""), v)
}
