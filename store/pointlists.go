package store

import (
	"database/sql"
	"slices"
	"sort"

	"chiso/indicator"
)

// indicatorsOf answers UnitIndicators: each unit's indicators with data,
// by code (a unit's series follow the indicators' order).
func (p *points) indicatorsOf(dim *dimensions, units []string) map[string][]string {
	out := make(map[string][]string, len(units))
	for _, u := range units {
		list := []string{}
		if k, ok := dim.unitIndex[u]; ok {
			for _, sp := range p.byUnit[k] {
				list = append(list, dim.indicators[p.spans[sp].ind].Code)
			}
		}
		out[u] = list
	}
	return out
}

// coverageOf answers Coverage: per indicator, its row count, its units by
// code and its periods in time order.
func (p *points) coverageOf(dim *dimensions, inds []string) map[string]indicator.Coverage {
	out := make(map[string]indicator.Coverage, len(inds))
	for _, c := range inds {
		cv := indicator.Coverage{Units: []string{}, Periods: []indicator.Period{}}
		x, ok := dim.indIndex[c]
		if r := p.byInd[x]; ok && r[0] >= 0 {
			lo, hi := p.spans[r[0]].lo, p.spans[r[1]].hi
			cv.Observations = int(hi - lo + 1)
			for k := r[0]; k <= r[1]; k++ {
				cv.Units = append(cv.Units, dim.units[p.spans[k].unit].Code)
			}
			sort.Strings(cv.Units)
			seen := make([]bool, len(p.period.vals))
			for i := lo - 1; i < hi; i++ {
				seen[p.period.codes[i]] = true
			}
			for code, ok := range seen {
				if ok {
					cv.Periods = append(cv.Periods, dim.periods[p.period.vals[code]])
				}
			}
			sortPeriods(cv.Periods)
		}
		out[c] = cv
	}
	return out
}

// matrixCells answers a matrix by period: the canonical rows of the kind
// of one indicator for the units, in the given periods (none: every
// single period), ordered by period (start, end, label), then basis and
// id, as matrixSQL orders them.
func (p *points) matrixCells(dim *dimensions, units []string, ind, kind string, labels []string) []indicator.Observation {
	kindCode := p.kind.code(kind)
	if kindCode < 0 {
		return nil
	}
	want := make([]bool, len(p.period.vals))
	for c, r := range p.isRange {
		want[c] = len(labels) == 0 && !r
	}
	for _, l := range labels {
		if c := p.period.code(l); c >= 0 {
			want[c] = true
		}
	}
	var found []indicator.Observation
	var ids []int64
	var s span
	for _, u := range units {
		// Within a series, ids follow period, kind and basis.
		s, ids = p.kindRows(ids[:0], dim, indicator.SeriesKey{Unit: u, Indicator: ind}, kindCode, true)
		for _, id := range ids {
			if want[p.period.codes[id-1]] {
				found = append(found, p.obs(dim, s, id))
			}
		}
	}
	sort.SliceStable(found, func(a, b int) bool { return periodBefore(found[a].Period, found[b].Period) })
	return found
}

// trendRow is one point of a trend as trendSQL returns it: the point,
// the change from the previous point, the index against the base and the
// change from the first point (read on the last).
type trendRow struct {
	id, pid, bid, fid sql.NullInt64
	prev, first       changeCols
	idx               sql.NullFloat64
	bCross, last      sql.NullBool
}

// trend answers Trend's statement: a series' canonical rows of the kind
// within the bounds (ranges only when asked for), in period order (id
// among a period's bases), each with its changes.
func (p *points) trend(dim *dimensions, q indicator.TrendQuery, ranges bool) []trendRow {
	per := func(id int64) indicator.Period { return dim.periods[p.period.at(id-1)] }
	_, ids := p.kindRows(nil, dim, indicator.SeriesKey{Unit: q.Unit, Indicator: q.Indicator}, p.kind.code(kindOrActual(q.Kind)), true)
	ids = slices.DeleteFunc(ids, func(id int64) bool {
		x := per(id)
		return !ranges && x.Kind == indicator.PeriodRange ||
			q.From != nil && x.Start.Before(q.From.Start) || q.To != nil && x.End.After(q.To.End)
	})
	sort.SliceStable(ids, func(a, b int) bool {
		pa, pb := per(ids[a]), per(ids[b])
		if !pa.Start.Equal(pb.Start) {
			return pa.Start.Before(pb.Start)
		}
		return pa.End.Before(pb.End)
	})
	var base int64
	for _, id := range ids {
		if q.Base == nil || per(id).Label == q.Base.Label {
			base = id
			break
		}
	}
	valid := func(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: true} }
	rows := make([]trendRow, len(ids))
	for k, id := range ids {
		r := &rows[k]
		r.id, r.fid, r.last = valid(id), valid(ids[0]), sql.NullBool{Bool: k == len(ids)-1, Valid: true}
		if k > 0 {
			r.pid = valid(ids[k-1])
			p.change(&r.prev, ids[k-1]-1, id-1, p.rangeRow(ids[k-1]) != p.rangeRow(id))
		}
		p.change(&r.first, ids[0]-1, id-1, p.rangeRow(ids[0]) != p.rangeRow(id))
		r.bCross = sql.NullBool{Bool: p.crossesBreak(base-1, id-1), Valid: true}
		if base != 0 {
			bv := p.value[base-1]
			r.bid, r.idx = valid(base), nullIf(p.value[id-1]/bv*100, bv == 0)
		}
	}
	return rows
}
