package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"chiso/indicator"
)

// Trend returns a series with changes from each point to the next, an
// index against a base and the overall change.
//
// Rules: the points are the series' canonical values of the kind whose
// periods lie within From..To, in time order (range periods only when
// From, To or Base is a range); the base is Base's point, or the first;
// a point crosses a break from the base when their methodologies differ
// or it is flagged break; the overall change runs from the first point to
// the last. The points are of one basis: the one asked for, else the
// first of indicator.Bases among them.
func (e *Engine) Trend(ctx context.Context, q indicator.TrendQuery) (indicator.Trend, error) {
	ctx, cat, done, err := e.pin(ctx)
	if err != nil {
		return indicator.Trend{}, err
	}
	defer done()
	if _, err := knownUnit(cat, q.Unit, "unit"); err != nil {
		return indicator.Trend{}, err
	}
	x, err := knownIndicators(cat, []string{q.Indicator}, "indicator")
	if err != nil {
		return indicator.Trend{}, err
	}
	q.Indicator = x[0].Code
	ranges := false
	for _, p := range []*indicator.Period{q.From, q.To, q.Base} {
		ranges = ranges || p != nil && p.Kind == indicator.PeriodRange
	}
	key := indicator.SeriesKey{Unit: q.Unit, Indicator: q.Indicator}
	series, err := e.rows(ctx, RowQuery{Units: []string{q.Unit}, Indicators: []string{q.Indicator}, Kind: kindOrActual(q.Kind), Canonical: true})
	if err != nil {
		return indicator.Trend{}, err
	}
	var pts []*Row
	all := series[key]
	for i := range all {
		r := &all[i]
		if !ranges && isRange(r) || q.From != nil && r.Period.Start.Before(q.From.Start) || q.To != nil && r.Period.End.After(q.To.End) {
			continue
		}
		pts = append(pts, r)
	}
	has := map[indicator.Basis]bool{}
	for _, r := range pts {
		has[r.Basis] = true
	}
	basis := firstBasis(q.Basis, has)
	pts = slices.DeleteFunc(pts, func(r *Row) bool { return r.Basis != basis })
	sort.SliceStable(pts, func(a, b int) bool {
		pa, pb := pts[a].Period, pts[b].Period
		if !pa.Start.Equal(pb.Start) {
			return pa.Start.Before(pb.Start)
		}
		return pa.End.Before(pb.End)
	})
	var base *Row
	for _, r := range pts {
		if q.Base == nil || r.Period.Label == q.Base.Label {
			base = r
			break
		}
	}
	if len(pts) > 0 && base == nil {
		return indicator.Trend{}, indicator.Invalidf("base", "the series has no %s value for %s to index against", kindOrActual(q.Kind), q.Base.Label)
	}
	ids := make([]int64, len(pts))
	for i, r := range pts {
		ids[i] = r.ID
	}
	obs, err := e.observations(ctx, ids...)
	if err != nil {
		return indicator.Trend{}, err
	}
	t := indicator.Trend{Points: make([]indicator.TrendPoint, 0, len(pts))}
	for i, r := range pts {
		p := indicator.TrendPoint{Obs: obs[r.ID], CrossesBreak: crossesBreak(base, r)}
		if base != nil {
			p.Index = num(r.Value/base.Value*100, base.Value == 0)
		}
		if i > 0 {
			p.Previous = changeOf(pts[i-1], r)
			fillChange(p.Previous, obs)
		}
		t.Points = append(t.Points, p)
	}
	if base != nil {
		b := obs[base.ID]
		t.Base = &b
	}
	if n := len(pts); n > 1 {
		t.Overall = changeOf(pts[0], pts[n-1])
		fillChange(t.Overall, obs)
	}
	return t, nil
}

// ChangeBetween is the change between two periods of one series.
//
// Rules: each end is the series' canonical value of the kind for its
// period, of the basis asked for (else the first of indicator.Bases the
// period has); a missing end is NOT_FOUND. A range end meeting a single
// period carries the warning RANGE_VS_POINT, and ends of different bases
// BASIS_DIFFERS.
func (e *Engine) ChangeBetween(ctx context.Context, q indicator.TrendQuery) (indicator.Change, error) {
	if q.From == nil || q.To == nil {
		return indicator.Change{}, indicator.Invalidf("from", "a change needs both from and to")
	}
	ctx, cat, done, err := e.pin(ctx)
	if err != nil {
		return indicator.Change{}, err
	}
	defer done()
	if _, err := knownUnit(cat, q.Unit, "unit"); err != nil {
		return indicator.Change{}, err
	}
	x, err := knownIndicators(cat, []string{q.Indicator}, "indicator")
	if err != nil {
		return indicator.Change{}, err
	}
	q.Indicator = x[0].Code
	series, err := e.rows(ctx, RowQuery{Units: []string{q.Unit}, Indicators: []string{q.Indicator}, Kind: kindOrActual(q.Kind), Canonical: true})
	if err != nil {
		return indicator.Change{}, err
	}
	rows := series[indicator.SeriesKey{Unit: q.Unit, Indicator: q.Indicator}]
	end := func(p *indicator.Period, arg string) (*Row, error) {
		has := map[indicator.Basis]bool{}
		for i := range rows {
			if rows[i].Period.Label == p.Label {
				has[rows[i].Basis] = true
			}
		}
		b := firstBasis(q.Basis, has)
		for i := range rows {
			if r := &rows[i]; r.Period.Label == p.Label && r.Basis == b {
				return r, nil
			}
		}
		return nil, &indicator.ArgError{Arg: arg, Reason: fmt.Sprintf("%s has no %s value of %s for %s", q.Unit, kindOrActual(q.Kind), q.Indicator, p.Label), Kind: indicator.ErrNotFound}
	}
	from, err := end(q.From, "from")
	if err != nil {
		return indicator.Change{}, err
	}
	to, err := end(q.To, "to")
	if err != nil {
		return indicator.Change{}, err
	}
	if q.From.Label == q.To.Label {
		return indicator.Change{}, indicator.Invalidf("to", "from and to are the same period")
	}
	ch := changeOf(from, to)
	if from.Basis != to.Basis {
		ch.Warnings = append(ch.Warnings, "BASIS_DIFFERS")
	}
	obs, err := e.observations(ctx, from.ID, to.ID)
	if err != nil {
		return indicator.Change{}, err
	}
	fillChange(ch, obs)
	return *ch, nil
}
