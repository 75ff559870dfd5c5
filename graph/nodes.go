package graph

import (
	"context"
	"fmt"

	"chiso/indicator"
)

// nodes resolves global ids (indicator.NodeID) to the objects that have
// them, in order, nil where none has one: units and indicators from the
// snapshot's catalog, observations by reading the series their ids name
// (one engine call for all) and keeping the fact whose hash matches. An id
// chiso cannot have given is an INVALID_ARGUMENT naming arg.
func (r *Resolver) nodes(ctx context.Context, ids []string, arg string) ([]Node, error) {
	refs := make([]indicator.NodeRef, len(ids))
	var units, inds []string
	var keys []indicator.SeriesKey
	seen := map[indicator.SeriesKey]bool{}
	for i, id := range ids {
		ref, err := indicator.ParseNodeID(id)
		if err != nil {
			if arg != "id" {
				return nil, indicator.Invalidf(arg, "ids[%d]: %v", i, err)
			}
			return nil, indicator.Invalidf(arg, "%v", err)
		}
		refs[i] = ref
		switch ref.Type {
		case indicator.NodeUnit:
			units = append(units, ref.Code)
		case indicator.NodeIndicator:
			inds = append(inds, ref.Code)
		case indicator.NodeObservation:
			k := indicator.SeriesKey{Unit: ref.Unit, Indicator: ref.Indicator}
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	um, err := r.Engine.Units(ctx, units)
	if err != nil {
		return nil, err
	}
	im, err := r.Engine.Indicators(ctx, inds)
	if err != nil {
		return nil, err
	}
	var series map[indicator.SeriesKey][]indicator.Observation
	if len(keys) > 0 {
		if series, err = r.Engine.Series(ctx, keys, nil); err != nil {
			return nil, err
		}
	}
	out := make([]Node, len(ids))
	for i, ref := range refs {
		switch ref.Type {
		case indicator.NodeUnit:
			if u, ok := um[ref.Code]; ok {
				out[i] = &u
			}
		case indicator.NodeIndicator:
			if x, ok := im[ref.Code]; ok && x.Code == ref.Code {
				out[i] = &x
			}
		case indicator.NodeObservation:
			o, err := matchFact(series[indicator.SeriesKey{Unit: ref.Unit, Indicator: ref.Indicator}], ref)
			if err != nil {
				return nil, err
			}
			if o != nil {
				out[i] = o
			}
		}
	}
	return out, nil
}

// matchFact is the observation of series that ref names, or nil.
func matchFact(series []indicator.Observation, ref indicator.NodeRef) (*indicator.Observation, error) {
	var found *indicator.Observation
	for i := range series {
		o := &series[i]
		if o.Period.Label != ref.Period || o.Kind != ref.Kind || o.Unit != ref.Unit || o.Indicator != ref.Indicator || o.FactHash() != ref.Hash {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("graph: observations %d and %d share the id %s", found.ID, o.ID, o.NodeID())
		}
		found = o
	}
	return found, nil
}
