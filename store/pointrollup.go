package store

import (
	"database/sql"
	"slices"
	"strconv"
	"strings"

	"chiso/indicator"
)

// rollupRaw is one computed row of a rollup, before the parents' own
// observations are looked up: what the rollup statement returns, or the
// point index computes.
type rollupRaw struct {
	parent, gperiod    string
	expected, withData int
	value, share       sql.NullFloat64
	gap, gapRel        sql.NullFloat64
	inputs             []int64
	missing            []string // child:period
	rep                sql.NullInt64
}

// rollupPlan is a rollup's grid and rule, resolved against the snapshot:
// the same inputs the rollup statement binds.
type rollupPlan struct {
	rule    indicator.Rule
	kind    string
	ind     string    // the indicator, whose parents' values are the reported ones
	cols    [3]string // see rollupCols
	mult    float64   // RATIO's multiplier
	withRep bool
	parents []string
	// Unit grid: the (parent, child) pairs and the periods asked for
	// (empty: every period with child data for the rule's inputs).
	kidParents, kids, periods []string
	// Time grid: the parents' own years y0..y1 into the range label.
	over      string
	y0, y1    int
	overTime  bool
	skipInput bool
	skipMiss  bool
}

// rollupCols are the indicators a rule reads, as the statement's x, w and
// d columns ("" for a column it does not read).
func rollupCols(ind indicator.Indicator) [3]string {
	switch ind.Rollup.Kind {
	case indicator.RuleRatio:
		return [3]string{"", ind.Rollup.Numerator, ind.Rollup.Denominator}
	case indicator.RuleWeightedMean:
		return [3]string{ind.Code, ind.Rollup.Weight, ""}
	}
	return [3]string{ind.Code, "", ""}
}

// rollup computes a rollup from the index, as the rollup statement does
// (see rollupTail): the grid joined to the rows of each input (a cell
// with several canonical rows, one per basis, counts once per row, as the
// join does), aggregated per parent and grid period by the rule, then
// joined to the parents' own values.
func (p *points) rollup(dim *dimensions, pl rollupPlan) []rollupRaw {
	kindCode := p.kind.code(pl.kind)
	// rows appends a series' canonical rows of the kind to buf (none for
	// a column the rule does not read).
	rows := func(buf []int64, unit, ind string) []int64 {
		if ind == "" {
			return buf
		}
		_, buf = p.kindRows(buf, dim, indicator.SeriesKey{Unit: unit, Indicator: ind}, kindCode, true)
		return buf
	}
	// The grid: for each (parent, child) pair, the child's periods at
	// positions 0..len(cper)-1. Over time each parent is its own child, the
	// positions are the years and a parent's cells form one group; across
	// units a group is one parent and one period.
	var cper, parents []string
	var pairs [][2]int // (parent index, index into kids)
	var kids []string
	var buf []int64
	if pl.overTime {
		for y := pl.y0; y <= pl.y1; y++ {
			cper = append(cper, strconv.Itoa(y))
		}
		parents, kids = pl.parents, pl.parents
		for i := range pl.parents {
			pairs = append(pairs, [2]int{i, i})
		}
	} else {
		at := map[string]int{}
		for i := range pl.kids {
			k, ok := at[pl.kidParents[i]]
			if !ok {
				k = len(parents)
				at[pl.kidParents[i]] = k
				parents = append(parents, pl.kidParents[i])
			}
			pairs = append(pairs, [2]int{k, i})
		}
		kids = pl.kids
		cper = slices.Clone(pl.periods)
		if len(cper) == 0 {
			seen := make([]bool, len(p.period.vals))
			for _, c := range pl.kids {
				for _, x := range pl.cols {
					buf = rows(buf[:0], c, x)
					for _, id := range buf {
						seen[p.period.codes[id-1]] = true
					}
				}
			}
			for c, ok := range seen {
				if ok {
					cper = append(cper, p.period.vals[c])
				}
			}
		}
		slices.Sort(cper)
		cper = slices.Compact(cper)
	}
	nPos := len(cper)
	posOf := make([]int, len(p.period.vals))
	for c := range posOf {
		posOf[c] = -1
	}
	for pos, l := range cper {
		if c := p.period.code(l); c >= 0 {
			posOf[c] = pos
		}
	}
	// Groups: parent-major across units, one per parent over time.
	group := func(parent, pos int) int { return parent*nPos + pos }
	groupKey := func(g int) (string, string) { return parents[g/nPos], cper[g%nPos] }
	if pl.overTime {
		group = func(parent, _ int) int { return parent }
		groupKey = func(g int) (string, string) { return parents[g], pl.over }
	}
	type acc struct {
		used bool
		raw  rollupRaw
		// Over the rows with data: the sum and count of x (SUM, MEAN), the
		// numerator and denominator (WEIGHTED_MEAN: x·w and w; RATIO: w
		// and d); and the weight (w or d) of every row that has one.
		sx, num, den, all float64
		nx, nhd           int
		lastPer           string
		lastX             float64
		lastID            int64
		ids               [3][]int64
		missing           [][2]string
	}
	ngroups := len(parents) * nPos
	if pl.overTime {
		ngroups = len(parents)
	}
	accs := make([]acc, ngroups)
	val := func(id int64) float64 { return p.value[id-1] }
	// add joins one cell to its rows, a row per combination of the
	// columns' matches (NULL for a column without one), and aggregates.
	add := func(a *acc, child, cper string, m *[3][]int64) {
		for _, xid := range orNull(m[0]) {
			for _, wid := range orNull(m[1]) {
				for _, did := range orNull(m[2]) {
					a.raw.expected++
					var hd bool
					switch pl.rule.Kind {
					case indicator.RuleRatio:
						hd = wid != 0 && did != 0
						if did != 0 {
							a.all += val(did)
						}
					case indicator.RuleWeightedMean:
						hd = xid != 0 && wid != 0
						if wid != 0 {
							a.all += val(wid)
						}
					default:
						hd = xid != 0
					}
					if !hd {
						if !pl.skipMiss {
							a.missing = append(a.missing, [2]string{child, cper})
						}
						continue
					}
					a.raw.withData++
					a.nhd++
					if !pl.skipInput {
						for c, id := range [3]int64{xid, wid, did} {
							if id != 0 {
								a.ids[c] = append(a.ids[c], id)
							}
						}
					}
					switch pl.rule.Kind {
					case indicator.RuleRatio:
						a.num += val(wid)
						a.den += val(did)
					case indicator.RuleWeightedMean:
						a.num += val(xid) * val(wid)
						a.den += val(wid)
					default:
						a.sx += val(xid)
						a.nx++
						if a.lastID == 0 || cper > a.lastPer {
							a.lastPer, a.lastX, a.lastID = cper, val(xid), xid
						}
					}
				}
			}
		}
	}
	// Per pair: each column's first row per position, and any further
	// rows (a second basis) aside.
	type extraRow struct {
		pos int
		id  int64
	}
	var first [3][]int64
	var extra [3][]extraRow
	for c := range first {
		first[c] = make([]int64, nPos)
	}
	var m [3][]int64
	for _, pr := range pairs {
		child := kids[pr[1]]
		for c, x := range pl.cols {
			clear(first[c])
			extra[c] = extra[c][:0]
			buf = rows(buf[:0], child, x)
			for _, id := range buf {
				switch pos := posOf[p.period.codes[id-1]]; {
				case pos < 0:
				case first[c][pos] == 0:
					first[c][pos] = id
				default:
					extra[c] = append(extra[c], extraRow{pos, id})
				}
			}
		}
		for pos := range nPos {
			for c := range m {
				m[c] = m[c][:0]
				if id := first[c][pos]; id != 0 {
					m[c] = append(m[c], id)
					for _, e := range extra[c] {
						if e.pos == pos {
							m[c] = append(m[c], e.id)
						}
					}
				}
			}
			a := &accs[group(pr[0], pos)]
			a.used = true
			add(a, child, cper[pos], &m)
		}
	}
	var order []*acc
	for g := range accs {
		if a := &accs[g]; a.used {
			a.raw.parent, a.raw.gperiod = groupKey(g)
			order = append(order, a)
		}
	}
	out := make([]rollupRaw, 0, len(order))
	for _, a := range order {
		r := a.raw
		switch pl.rule.Kind {
		case indicator.RuleSum:
			r.value = nullIf(a.sx, a.nx == 0)
		case indicator.RuleMean:
			r.value = nullIf(a.sx/float64(a.nx), a.nx == 0)
		case indicator.RuleLast:
			r.value = nullIf(a.lastX, a.lastID == 0)
			a.ids = [3][]int64{nil, nil, nil}
			if a.lastID != 0 {
				a.ids[0] = []int64{a.lastID}
			}
		case indicator.RuleWeightedMean, indicator.RuleRatio:
			mult := 1.0
			if pl.rule.Kind == indicator.RuleRatio {
				mult = pl.mult
			}
			r.value = nullIf(a.num/a.den*mult, a.nhd == 0 || a.den == 0)
			r.share = nullIf(a.den/a.all, a.nhd == 0 || a.all == 0)
		}
		r.missing = []string{}
		slices.SortFunc(a.missing, func(x, y [2]string) int {
			if c := strings.Compare(x[0], y[0]); c != 0 {
				return c
			}
			return strings.Compare(x[1], y[1])
		})
		for _, m := range a.missing {
			r.missing = append(r.missing, m[0]+":"+m[1])
		}
		if !pl.skipInput {
			r.inputs = []int64{}
			for _, ids := range a.ids {
				slices.Sort(ids)
				r.inputs = append(r.inputs, ids...)
			}
		}
		// The parent's own values for the grid period: one row per match.
		var reps []int64
		if code := p.period.code(r.gperiod); pl.withRep && code >= 0 {
			for _, id := range rows(nil, r.parent, pl.ind) {
				if int(p.period.codes[id-1]) == code {
					reps = append(reps, id)
				}
			}
		}
		if len(reps) == 0 {
			out = append(out, r)
			continue
		}
		for _, id := range reps {
			rr := r
			rv := p.value[id-1]
			rr.rep = sql.NullInt64{Int64: id, Valid: true}
			if r.value.Valid {
				rr.gap = sql.NullFloat64{Float64: r.value.Float64 - rv, Valid: true}
				rr.gapRel = nullIf((r.value.Float64-rv)/abs(rv), rv == 0)
			}
			out = append(out, rr)
		}
	}
	return out
}

// orNull is a column's matching ids, or one NULL (0) when none match.
func orNull(ids []int64) []int64 {
	if len(ids) == 0 {
		return []int64{0}
	}
	return ids
}

func nullIf(v float64, null bool) sql.NullFloat64 {
	return sql.NullFloat64{Float64: v, Valid: !null}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
