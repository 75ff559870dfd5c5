package engine

import (
	"context"
	"sort"

	"chiso/indicator"
)

// Progress reports targets against actuals.
//
// Rules: for each canonical target of the units (of TargetYear when
// given), the latest is the unit's latest canonical actual at or before
// the target (a target over a range, a plan-period total, is met only by
// an actual for the same range); the baseline is the earliest earlier
// single-period actual under the latest's methodology. progress =
// (latest − baseline) / (target − baseline); expected = the share of the
// baseline → target time elapsed at the latest; on track when progress ≥
// expected; ACHIEVED when the latest meets the target in the indicator's
// direction; required per year = (target − latest) / years left.
func (e *Engine) Progress(ctx context.Context, q indicator.ProgressQuery) ([]indicator.ProgressRow, error) {
	ctx, cat, done, err := e.pin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	units, err := resolveSet(cat, indicator.UnitSet{Codes: q.Units}, "units", nil, e.today())
	if err != nil {
		return nil, err
	}
	if len(q.Indicators) > 0 {
		x, err := knownIndicators(cat, q.Indicators, "indicators")
		if err != nil {
			return nil, err
		}
		q.Indicators = codesOf(x)
	}
	series, err := e.rows(ctx, RowQuery{Units: units, Indicators: q.Indicators, Canonical: true})
	if err != nil {
		return nil, err
	}
	type pending struct {
		row     indicator.ProgressRow
		t, l, b *Row
	}
	var ps []pending
	for key, rows := range series {
		x, ok := cat.Indicator(key.Indicator)
		if !ok {
			continue
		}
		var actuals []*Row
		for i := range rows {
			if rows[i].Kind == indicator.KindActual {
				actuals = append(actuals, &rows[i])
			}
		}
		for i := range rows {
			t := &rows[i]
			if t.Kind != indicator.KindTarget || q.TargetYear != 0 && t.Period.End.Year() != q.TargetYear {
				continue
			}
			p := pending{t: t, row: indicator.ProgressRow{Unit: key.Unit, Indicator: key.Indicator}}
			p.l = progressLatest(t, actuals)
			if p.l != nil && !isRange(t) {
				p.b = progressBaseline(p.l, actuals)
			}
			progressCompute(&p.row, x.Direction, t, p.l, p.b)
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		switch {
		case a.row.Unit != b.row.Unit:
			return a.row.Unit < b.row.Unit
		case a.row.Indicator != b.row.Indicator:
			return a.row.Indicator < b.row.Indicator
		case !a.t.Period.End.Equal(b.t.Period.End):
			return a.t.Period.End.Before(b.t.Period.End)
		}
		return a.t.ID < b.t.ID
	})
	var ids []int64
	for _, p := range ps {
		ids = append(ids, p.t.ID)
		for _, r := range []*Row{p.l, p.b} {
			if r != nil {
				ids = append(ids, r.ID)
			}
		}
	}
	obs, err := e.observations(ctx, ids...)
	if err != nil {
		return nil, err
	}
	out := make([]indicator.ProgressRow, 0, len(ps))
	for _, p := range ps {
		row := p.row
		row.Target = obs[p.t.ID]
		if p.l != nil {
			row.Latest = obsPtr(obs, p.l.ID)
		}
		if p.b != nil {
			row.Baseline = obsPtr(obs, p.b.ID)
		}
		switch {
		case row.Status == indicator.StatusNoActual && isRange(p.t):
			row.Note = "the target is a total over the plan period; there is no actual total for that period"
		case row.Status == indicator.StatusNoBaseline:
			row.Note = "only one actual value under the latest methodology: progress needs an earlier one"
		}
		out = append(out, row)
	}
	return out, nil
}

// progressLatest is the latest actual that can meet target t.
func progressLatest(t *Row, actuals []*Row) *Row {
	var best *Row
	for _, a := range actuals {
		if isRange(t) {
			if a.Period.Label != t.Period.Label {
				continue
			}
		} else if isRange(a) || a.Period.End.After(t.Period.End) {
			continue
		}
		if best == nil || a.Period.End.After(best.Period.End) ||
			a.Period.End.Equal(best.Period.End) && a.Period.Start.After(best.Period.Start) {
			best = a
		}
	}
	return best
}

// progressBaseline is the earliest single-period actual before the
// latest, under the latest's methodology.
func progressBaseline(l *Row, actuals []*Row) *Row {
	var best *Row
	for _, a := range actuals {
		if isRange(a) || !a.Period.End.Before(l.Period.End) || a.Methodology != l.Methodology {
			continue
		}
		if best == nil || a.Period.Start.Before(best.Period.Start) ||
			a.Period.Start.Equal(best.Period.Start) && a.Period.End.Before(best.Period.End) {
			best = a
		}
	}
	return best
}

// progressCompute fills progress, expected progress, status and the
// change per year still needed.
func progressCompute(row *indicator.ProgressRow, dir indicator.Direction, t, l, b *Row) {
	if l == nil {
		row.Status = indicator.StatusNoActual
		row.CrossesBreak = crossesBreak(nil, t)
		return
	}
	row.CrossesBreak = crossesBreak(l, t)
	var progress, expected *float64
	if b != nil {
		progress = num((l.Value-b.Value)/(t.Value-b.Value), t.Value == b.Value)
		expected = num((l.Pos-b.Pos)/(t.Pos-b.Pos), t.Pos == b.Pos)
	}
	if !isRange(t) {
		row.RequiredPerYear = num((t.Value-l.Value)/(t.Pos-l.Pos), t.Pos == l.Pos)
	}
	row.Progress, row.ExpectedProgress = progress, expected
	switch {
	case dir == indicator.HigherBetter && l.Value >= t.Value, dir == indicator.LowerBetter && l.Value <= t.Value:
		row.Status = indicator.StatusAchieved
	case dir == indicator.Neutral:
		row.Status = indicator.StatusNotDirected
	case isRange(t):
		row.Status = indicator.StatusOffTrack
	case b == nil || progress == nil:
		row.Status = indicator.StatusNoBaseline
	case expected != nil && *progress >= *expected:
		row.Status = indicator.StatusOnTrack
	default:
		row.Status = indicator.StatusOffTrack
	}
}
