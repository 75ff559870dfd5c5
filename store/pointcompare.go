package store

import (
	"database/sql"
	"math"
	"slices"
	"strings"

	"chiso/indicator"
)

// comparePending is what a comparison row carries besides its
// observation until the rows are ranked: the ids of the parent's and the
// earliest observations, and the change since the earliest.
type comparePending struct {
	parent, earliest sql.NullInt64
	changeCols
}

// changeCols are the columns of a change between two observations, as
// the statements compute them (rel_change, cagr, crosses_break).
type changeCols struct {
	abs, rel, years, growth sql.NullFloat64
	crosses, rangeMix       sql.NullBool
}

// comparePick is one picked (unit, indicator) of a comparison: what the
// comparison statement returns per row, or the point index computes.
type comparePick struct {
	stale                     bool
	rv, value, share, dparent sql.NullFloat64
	alts                      int
	p                         comparePending
	obs                       indicator.Observation
}

// compareSpec is a comparison resolved against the snapshot: the same
// inputs the comparison statement binds, and the features it keeps.
type compareSpec struct {
	units, parents []string
	inds           []indicator.Indicator
	kind           string
	exact          string // EXACT's period label
	want           map[string]bool
	rankBy         string
	minUnits       int
	maxAge         float64
}

// compare picks and describes each unit's value of each indicator from
// the index, as compareSQL does: candidates are the canonical rows of the
// kind (ranges only when an exact range is asked for, only the exact
// period or the common one when the mode says so); the pick is the latest
// (period end, then start, then basis, then id); the earliest is the
// lowest id among the single-period canonical rows; a parent's row is
// its row for the pick's period (one pick per such row, as the join
// yields); alternatives count the other rows of the pick's period.
func (p *points) compare(dim *dimensions, sp compareSpec) []comparePick {
	kindCode := p.kind.code(sp.kind)
	exactCode := -1
	if sp.want[featExact] {
		if exactCode = p.period.code(sp.exact); exactCode < 0 {
			return nil
		}
	}
	if kindCode < 0 {
		return nil
	}
	ranges, isRange := sp.want[featRanges], p.isRange
	// rowsOf lists a series' rows of the kind (canonical or not).
	rowsOf := func(unit, ind string) []int64 {
		_, ids := p.kindRows(nil, dim, indicator.SeriesKey{Unit: unit, Indicator: ind}, kindCode, false)
		return ids
	}
	var out []comparePick
	for _, x := range sp.inds {
		type unitRows struct {
			unit       string
			rows, cand []int64
			pick       int64
		}
		us := make([]unitRows, 0, len(sp.units))
		for _, u := range sp.units {
			ur := unitRows{unit: u, rows: rowsOf(u, x.Code)}
			for _, id := range ur.rows {
				i := id - 1
				c := int(p.period.codes[i])
				if bit(p.canonical, i) && (ranges || !isRange[c]) && (exactCode < 0 || c == exactCode) {
					ur.cand = append(ur.cand, id)
				}
			}
			us = append(us, ur)
		}
		if sp.want[featCommon] {
			// The most recent period at least minUnits units share.
			n := make([]int, len(p.period.vals))
			for _, ur := range us {
				seen := map[uint16]bool{}
				for _, id := range ur.cand {
					if c := p.period.codes[id-1]; !seen[c] {
						seen[c] = true
						n[c]++
					}
				}
			}
			common := -1
			for c, k := range n {
				if k < sp.minUnits {
					continue
				}
				if common < 0 || laterPeriod(dim.periods[p.period.vals[c]], dim.periods[p.period.vals[common]]) {
					common = c
				}
			}
			for i := range us {
				us[i].cand = slices.DeleteFunc(us[i].cand, func(id int64) bool { return int(p.period.codes[id-1]) != common })
			}
		}
		newest := math.Inf(-1)
		for i := range us {
			us[i].pick = p.latestAmong(dim, us[i].cand)
			if us[i].pick != 0 {
				newest = max(newest, p.endPos[p.period.codes[us[i].pick-1]])
			}
		}
		for _, ur := range us {
			if ur.pick == 0 {
				continue
			}
			i := ur.pick - 1
			per := p.period.codes[i]
			k := comparePick{value: sql.NullFloat64{Float64: p.value[i], Valid: true}}
			k.obs = p.obs(dim, p.spanOf(ur.pick), ur.pick)
			k.stale = sp.want[featMaxAge] && newest-p.endPos[per] > sp.maxAge
			if sp.want[featAlts] {
				n := 0
				for _, id := range ur.rows {
					if p.period.codes[id-1] == per {
						n++
					}
				}
				k.alts = max(n-1, 0)
			}
			var ev float64
			if sp.want[featEarliest] {
				for _, id := range ur.rows {
					if e := id - 1; bit(p.canonical, e) && !isRange[p.period.codes[e]] {
						if id != ur.pick {
							ev = p.value[e]
							k.p.earliest = sql.NullInt64{Int64: id, Valid: true}
							p.change(&k.p.changeCols, e, i, isRange[p.period.codes[e]] != isRange[per])
						}
						break
					}
				}
			}
			switch sp.rankBy {
			case string(indicator.RankByChange):
				k.rv = sql.NullFloat64{Float64: k.value.Float64 - ev, Valid: k.p.earliest.Valid}
			case string(indicator.RankByGrowth):
				k.rv = k.p.growth
			default:
				k.rv = k.value
			}
			// The parent's rows for the pick's period: one pick each.
			var pos []int64
			if un, ok := dim.unit(ur.unit); ok && sp.want[featParent] && un.Parent != "" {
				for _, id := range rowsOf(un.Parent, x.Code) {
					if bit(p.canonical, id-1) && p.period.codes[id-1] == per {
						pos = append(pos, id)
					}
				}
			}
			if len(pos) == 0 {
				out = append(out, k)
				continue
			}
			for _, id := range pos {
				kp, pv := k, p.value[id-1]
				kp.p.parent = sql.NullInt64{Int64: id, Valid: true}
				kp.dparent = sql.NullFloat64{Float64: k.value.Float64 - pv, Valid: true}
				kp.share = nullIf(k.value.Float64/pv*100, x.Rollup.Kind != indicator.RuleSum || pv == 0)
				out = append(out, kp)
			}
		}
	}
	return out
}

// laterPeriod orders COMMON's candidates: the later end, then the later
// start, then the lower label.
func laterPeriod(a, b indicator.Period) bool {
	switch {
	case !a.End.Equal(b.End):
		return a.End.After(b.End)
	case !a.Start.Equal(b.Start):
		return a.Start.After(b.Start)
	}
	return a.Label < b.Label
}

// latestAmong picks the latest of ids, given in id order (see
// latestKeySQL), or 0.
func (p *points) latestAmong(dim *dimensions, ids []int64) int64 {
	var best int64
	var bp indicator.Period
	for _, id := range ids {
		i := id - 1
		per := dim.periods[p.period.at(i)]
		if best != 0 {
			switch {
			case !per.End.Equal(bp.End):
				if per.End.Before(bp.End) {
					continue
				}
			case !per.Start.Equal(bp.Start):
				if per.Start.Before(bp.Start) {
					continue
				}
			case p.basis.at(i) >= p.basis.at(best-1):
				continue // same dates: the lower basis, then the lower id, stays
			}
		}
		best, bp = id, per
	}
	return best
}

// change fills the change from row e (0-based) to row i, as the
// statement's rel_change, cagr and crosses_break do.
func (p *points) change(c *changeCols, e, i int64, rangeMix bool) {
	ev, v := p.value[e], p.value[i]
	years := p.pos[p.period.codes[i]] - p.pos[p.period.codes[e]]
	c.abs = sql.NullFloat64{Float64: v - ev, Valid: true}
	c.rel = nullIf((v-ev)/math.Abs(ev), ev == 0)
	c.years = sql.NullFloat64{Float64: years, Valid: true}
	c.growth = nullIf(math.Pow(v/ev, 1/years)-1, !(ev > 0 && v > 0 && years > 0))
	c.crosses = sql.NullBool{Bool: p.crossesBreak(e, i), Valid: true}
	c.rangeMix = sql.NullBool{Bool: rangeMix, Valid: true}
}

// crossesBreak is crosses_break from row e's methodology (e < 0: none)
// to row i's, or row i flagged as a break.
func (p *points) crossesBreak(e, i int64) bool {
	broke := e >= 0 && !p.meth.isNull(e) && !p.meth.isNull(i) && p.meth.at(e) != p.meth.at(i)
	return broke || strings.Contains(";"+p.flags.at(i)+";", ";break;")
}
