package graph

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"chiso/graph/model"
	"chiso/indicator"
)

// The hierarchy over time: which tree a unit list follows, and lookups by
// official code.
//
// A list of units (units, children, descendants) follows the tree valid
// on one day: the asOf of its field; else the asOf of the nearest field
// above it that has one (unit, units, children, descendants); else the
// tree day of indicator.TreeDay, per unit (today within the unit's
// lifetime, or the last tree that had units of the kind asked). A chiso
// code always finds its unit, whatever its validity.

// UnitChangeLink is a unit change seen from one of its units: Other is the
// predecessor in a predecessors list, the successor in a successors list.
type UnitChangeLink struct {
	Change indicator.UnitChange
	Other  string
}

// today is the resolvers' current day.
func (r *Resolver) today() time.Time {
	if r.Now != nil {
		return indicator.Day(r.Now())
	}
	return indicator.Day(time.Now())
}

// inheritedAsOf is the asOf given to the nearest field above the one being
// resolved that takes one (unit, units, children, descendants); nil if none
// was given.
func inheritedAsOf(ctx context.Context) *time.Time {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return nil
	}
	for p := fc.Parent; p != nil; p = p.Parent {
		if p.Field.Field == nil || p.Args == nil {
			continue
		}
		switch p.Field.Name {
		case "unit", "units", "children", "descendants":
		default:
			continue
		}
		switch v := p.Args["asOf"].(type) {
		case *time.Time:
			if v != nil {
				return v
			}
		case time.Time:
			return &v
		}
	}
	return nil
}

// below lists the children (descendants when desc) of units at level,
// each in the tree valid on asOf, or when asOf is nil on its tree day:
// the units below valid that day (a unit's validity lies within its
// parent's, so this is the tree of that day).
func (r *Resolver) below(ctx context.Context, desc bool, units []indicator.Unit, level indicator.Level, asOf *time.Time) (map[string][]indicator.Unit, error) {
	list := r.Engine.Children
	if desc {
		list = r.Engine.Descendants
	}
	codes := make([]string, len(units))
	for i, u := range units {
		codes[i] = u.Code
	}
	all, err := list(ctx, codes, level, nil)
	if err != nil {
		return nil, err
	}
	today := r.today()
	out := make(map[string][]indicator.Unit, len(units))
	for _, u := range units {
		d := asOf
		if d == nil {
			t := indicator.TreeDay(u, all[u.Code], today)
			d = &t
		}
		out[u.Code] = indicator.ValidOn(all[u.Code], *d)
	}
	return out, nil
}

// unitAt finds a unit by chiso code, else by official code on asOf (nil:
// today, failing that the unit valid latest).
func (r *Resolver) unitAt(ctx context.Context, code string, asOf *time.Time) (*indicator.Unit, error) {
	if u, err := r.unit(ctx, code); err != nil || u != nil {
		return u, err
	}
	day := asOf
	if day == nil {
		t := r.today()
		day = &t
	}
	m, err := r.Engine.UnitsByOfficialCode(ctx, []string{code}, day)
	if err != nil {
		return nil, err
	}
	if u, ok := m[code]; ok {
		return &u, nil
	}
	if asOf != nil {
		return nil, nil
	}
	if m, err = r.Engine.UnitsByOfficialCode(ctx, []string{code}, nil); err != nil {
		return nil, err
	}
	if u, ok := m[code]; ok {
		return &u, nil
	}
	return nil, nil
}

// listUnits answers units(...): on asOf, or without it on today's tree,
// or when that has no unit of the kind asked, the last tree that had some.
// A search or an official code without asOf is a lookup, like a code: it
// finds units whatever their validity.
func (r *Resolver) listUnits(ctx context.Context, q indicator.UnitQuery) ([]indicator.Unit, indicator.PageInfo, error) {
	if q.AsOf != nil || q.Search != "" || q.OfficialCode != "" {
		return r.Engine.ListUnits(ctx, q)
	}
	today := r.today()
	q.AsOf = &today
	units, info, err := r.Engine.ListUnits(ctx, q)
	if err != nil || info.TotalCount > 0 {
		return units, info, err
	}
	every := q
	every.AsOf, every.After, every.First = nil, "", maxUnitsListed
	all, _, err := r.Engine.ListUnits(ctx, every)
	if err != nil || len(all) == 0 {
		return units, info, err
	}
	var top indicator.Unit
	if q.Parent != "" {
		if p, err := r.unit(ctx, q.Parent); err != nil {
			return nil, info, err
		} else if p != nil {
			top = *p
		}
	}
	d := indicator.TreeDay(top, all, today)
	q.AsOf = &d
	return r.Engine.ListUnits(ctx, q)
}

// maxUnitsListed bounds the units read to find a list's tree day.
const maxUnitsListed = 1 << 20

// changes returns a unit's changes (from the snapshot's index, no
// statement) as links to its predecessors (the
// changes that formed it) or its successors (those that ended it).
func (r *Resolver) changes(ctx context.Context, code string, predecessors bool) ([]UnitChangeLink, error) {
	m, err := r.Engine.UnitChanges(ctx, []string{code})
	if err != nil {
		return nil, err
	}
	cs := m[code]
	out := []UnitChangeLink{}
	for _, c := range cs {
		switch {
		case predecessors && c.Successor == code:
			out = append(out, UnitChangeLink{Change: c, Other: c.Predecessor})
		case !predecessors && c.Predecessor == code:
			out = append(out, UnitChangeLink{Change: c, Other: c.Successor})
		}
	}
	return out, nil
}

// seriesInTree adds to a series its figures in the tree valid on day
// (Engine.SeriesInTree).
func (r *Resolver) seriesInTree(ctx context.Context, s *model.Series, kinds []model.ObservationKind, day time.Time) (*model.Series, error) {
	vals, err := r.Engine.SeriesInTree(ctx, indicator.TreeSeriesQuery{Unit: s.Unit.Code, Indicator: s.Indicator.Code, Kinds: domainKinds(kinds), Tree: day})
	if err != nil {
		return nil, err
	}
	s.Tree, s.InTree = &day, vals
	return s, nil
}
