package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"chiso/graph/model"
	"chiso/indicator"
)

// prefetchLatest looks ahead from a list of units just resolved (a unit's
// children or descendants): the latest values the request selects on
// those units, and on their children and descendants further down, are
// fetched now, in one engine call, and primed in the request's loader.
// Their resolvers then answer at once instead of each waiting for the
// batch window; a tree of a province's districts and communes with each
// commune's latest value costs one statement and no wait. The look ahead
// follows only unit lists, which come from the snapshot's index without
// SQL. Whatever it misses (an argument it cannot read, too many keys)
// is still fetched by the resolvers through the loader as before.
func (r *Resolver) prefetchLatest(ctx context.Context, units []indicator.Unit) {
	l, _ := ctx.Value(loadersKey{}).(*loaders)
	fc := graphql.GetFieldContext(ctx)
	if l == nil || fc == nil || len(units) == 0 || !graphql.HasOperationContext(ctx) {
		return
	}
	oc := graphql.GetOperationContext(ctx)
	var keys []seriesKey
	if !r.latestKeys(ctx, oc, fc.Field.Selections, units, &keys, l.latest.max) || len(keys) == 0 {
		return
	}
	// An error here is the resolvers' to report: they fetch again.
	_ = l.latest.prime(keys)
}

// latestKeys appends the latest-value keys that sel asks for on units and
// below them; false when it cannot tell or there would be more than max.
func (r *Resolver) latestKeys(ctx context.Context, oc *graphql.OperationContext, sel ast.SelectionSet, units []indicator.Unit, keys *[]seriesKey, max int) (ok bool) {
	defer func() {
		if recover() != nil { // an argument the validator let through but ArgumentMap cannot read
			ok = false
		}
	}()
	for _, f := range graphql.CollectFields(oc, sel, unitImplementors) {
		switch f.Name {
		case "latest":
			args := f.ArgumentMap(oc.Variables)
			ind, _ := args["indicator"].(string)
			kindArg, _ := args["kind"].(string)
			kind := model.ObservationKind(kindArg)
			if ind == "" || !kind.IsValid() {
				return false
			}
			k := string(domainKind(&kind))
			for _, u := range units {
				*keys = append(*keys, seriesKey{indicator.SeriesKey{Unit: u.Code, Indicator: ind}, k})
			}
		case "children", "descendants":
			var level *model.Level
			if s, ok := f.ArgumentMap(oc.Variables)["level"].(string); ok {
				lv := model.Level(s)
				if !lv.IsValid() {
					return false
				}
				level = &lv
			}
			codes := make([]string, len(units))
			for i, u := range units {
				codes[i] = u.Code
			}
			var below map[string][]indicator.Unit
			var err error
			if f.Name == "children" {
				below, err = r.Engine.Children(ctx, codes, domainLevel(level))
			} else {
				below, err = r.Engine.Descendants(ctx, codes, domainLevel(level))
			}
			if err != nil {
				return false
			}
			var next []indicator.Unit
			for _, c := range codes {
				next = append(next, below[c]...)
			}
			if len(next) > 0 && !r.latestKeys(ctx, oc, f.Selections, next, keys, max) {
				return false
			}
		}
		if len(*keys) > max {
			return false
		}
	}
	return true
}
