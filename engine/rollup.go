package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"chiso/indicator"
)

// Rollup aggregates an indicator by its rule, across units or over time.
//
// Rules: across units, each parent's grid is its children (or its
// descendants at ChildLevel) × the periods asked for (every period with
// child data when none are); over time, the grid is the parent's own
// years of the range. A cell reads the child's canonical value of the
// kind and of one basis (RollupQuery.Basis, by default the first of
// indicator.Bases that any child has), so a figure given on two bases is
// never counted twice. The rule: SUM adds, MEAN averages, WEIGHTED_MEAN
// weighs by the weight indicator (same period), RATIO divides the summed
// numerator by the summed denominator, converted to the indicator's
// measure unit (never an average of ratios), LAST takes the last year
// (over time only), NONE is refused. A cell has data when every input the
// rule reads has a value there; coverage counts such cells, and the
// weight share is the share of the weight (denominator) they cover. The
// gap compares the value with the parent's own value for the period of
// the same basis; a parent value of another basis is shown, with no gap
// and the reason.
func (e *Engine) Rollup(ctx context.Context, q indicator.RollupQuery) ([]indicator.RollupRow, error) {
	ctx, cat, done, err := e.pin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	inds, err := knownIndicators(cat, []string{q.Indicator}, "indicator")
	if err != nil {
		return nil, err
	}
	ind := inds[0]
	at := q.Tree
	if at == nil && len(q.Periods) == 1 {
		at = &q.Periods[0].Start
	}
	parents, err := resolveSet(cat, q.Parents, "units", at, e.today())
	if err != nil {
		return nil, err
	}
	g, err := planRollup(cat, ind, q, parents)
	if err != nil {
		return nil, err
	}
	if q.Tree != nil {
		if err := e.planTree(ctx, cat, g, q, parents); err != nil {
			return nil, err
		}
	}
	units := slices.Clone(g.kids)
	if g.form != nil {
		units = slices.Clone(g.reached)
	}
	if g.overTime || !q.Skip.Reported || !q.Skip.Gap {
		units = append(units, parents...)
	}
	units = uniqueCodes(units)
	var indCodes []string
	for _, c := range append(g.cols[:], ind.Code) {
		if c != "" && !slices.Contains(indCodes, c) {
			indCodes = append(indCodes, c)
		}
	}
	series, err := e.rows(ctx, RowQuery{Units: units, Indicators: indCodes, Kind: kindOrActual(q.Kind), Canonical: true})
	if err != nil {
		return nil, err
	}
	raws, err := g.aggregate(series, q)
	if err != nil {
		return nil, err
	}
	var repIDs []int64
	for _, x := range raws {
		if !q.Skip.Reported {
			repIDs = append(repIDs, x.rep)
		}
	}
	obs, err := e.observations(ctx, repIDs...)
	if err != nil {
		return nil, err
	}
	out := make([]indicator.RollupRow, len(raws))
	for i, x := range raws {
		out[i] = x.row
		if !q.Skip.Reported {
			out[i].Reported = obsPtr(obs, x.rep)
		}
		if u, ok := cat.Unit(x.row.Unit); ok {
			out[i].UnitInfo = &u
		}
	}
	// By unit, then period in time (periods the dataset does not hold
	// last, by label).
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Unit != b.Unit {
			return a.Unit < b.Unit
		}
		_, ka := cat.Period(a.Period.Label)
		_, kb := cat.Period(b.Period.Label)
		if ka != kb {
			return ka
		}
		return periodBefore(&a.Period, &b.Period)
	})
	return out, nil
}

// rollupGrid is a rollup resolved against the catalog.
type rollupGrid struct {
	ind  indicator.Indicator
	rule indicator.Rule
	cols [3]string // the indicators read as x, w and d ("" for none): see rollupCols
	mult float64   // RATIO's conversion into the indicator's unit
	// Across units: the (parent, child) pairs and the periods asked for
	// (empty: every period with child data).
	pairParents, kids []string
	periods           []indicator.Period
	// Over time: the parents' own years y0..y1 into the range over.
	overTime bool
	over     indicator.Period
	y0, y1   int
	parents  []string
	basis    *indicator.Basis
	// The children's validity (across units, no tree): a child counts in
	// a period only when valid on the period's first day.
	kidUnits []indicator.Unit
	// A tree (RollupQuery.Tree): the formation of its units, the part
	// each pair reads (a predecessor with its share, or a child of the
	// tree whole), every unit the figures may come from, and whether
	// rows are rolled up from what their units were formed from.
	tree      *time.Time
	form      formation
	pairParts []part
	reached   []string
	fromParts bool
	// skips
	skipInputs, skipMissing, skipReported bool
}

// rollupCols are the indicators a rule reads, as x (the value), w (the
// weight or numerator) and d (the denominator).
func rollupCols(ind indicator.Indicator) [3]string {
	switch ind.Rollup.Kind {
	case indicator.RuleRatio:
		return [3]string{"", ind.Rollup.Numerator, ind.Rollup.Denominator}
	case indicator.RuleWeightedMean:
		return [3]string{ind.Code, ind.Rollup.Weight, ""}
	}
	return [3]string{ind.Code, "", ""}
}

func planRollup(cat Catalog, ind indicator.Indicator, q indicator.RollupQuery, parents []string) (*rollupGrid, error) {
	g := &rollupGrid{ind: ind, rule: ind.Rollup, cols: rollupCols(ind), mult: 1, parents: parents, basis: q.Basis,
		skipInputs: q.Skip.Inputs, skipMissing: q.Skip.Missing, skipReported: q.Skip.Reported}
	switch ind.Rollup.Kind {
	case indicator.RuleNone:
		return nil, indicator.Invalidf("indicator", "%s cannot be rolled up: rollup rule NONE: the indicator's values cannot be aggregated", ind.Code)
	case indicator.RuleLast:
		if q.Over == nil {
			return nil, indicator.Invalidf("indicator", "%s cannot be rolled up: rollup rule LAST takes the last value over time; it does not aggregate across units", ind.Code)
		}
	case indicator.RuleRatio:
		num, okN := cat.Indicator(ind.Rollup.Numerator)
		den, okD := cat.Indicator(ind.Rollup.Denominator)
		if !okN || !okD {
			return nil, fmt.Errorf("engine: %s's ratio names an unknown indicator", ind.Code)
		}
		m, err := indicator.RatioFactor(num, den, ind)
		if err != nil {
			return nil, indicator.Invalidf("indicator", "%s cannot be rolled up: %v", ind.Code, err)
		}
		g.mult = m
	}
	if q.Over != nil {
		if q.Over.Kind != indicator.PeriodRange {
			return nil, indicator.Invalidf("over", "expected a range of years such as 2016-2020, got %q", q.Over.Label)
		}
		g.overTime, g.over, g.y0, g.y1 = true, *q.Over, q.Over.Start.Year(), q.Over.End.Year()
		g.kids, g.pairParents = parents, parents
		if g.basis == nil {
			b := indicator.BasisPoint
			g.basis = &b
		}
		return g, nil
	}
	for _, p := range parents {
		var kids []indicator.Unit
		if q.ChildLevel != "" {
			kids = cat.Descendants(p, q.ChildLevel)
		} else {
			kids = cat.Children(p)
		}
		for _, k := range kids {
			g.pairParents, g.kids, g.kidUnits = append(g.pairParents, p), append(g.kids, k.Code), append(g.kidUnits, k)
		}
	}
	g.periods = q.Periods
	return g, nil
}

// rollupRaw is one computed row, with the id of the parent's own value.
type rollupRaw struct {
	row indicator.RollupRow
	rep int64
}

// resultBasis is what a rollup's value measures, given the children's
// basis.
func (g *rollupGrid) resultBasis(child indicator.Basis) indicator.Basis {
	if !g.overTime {
		return child
	}
	switch g.rule.Kind {
	case indicator.RuleSum:
		return indicator.BasisCumulative
	case indicator.RuleMean, indicator.RuleWeightedMean:
		return indicator.BasisPerYear
	}
	return indicator.BasisPoint
}

// cellAcc aggregates one group (a parent and a period).
type cellAcc struct {
	used              bool
	shared            bool
	reason            string
	expected, with    int
	sx, num, den, all float64
	nx                int
	lastPer           string
	last              *Row
	ids               [3][]int64
	missing           [][2]string
}

func (g *rollupGrid) aggregate(series map[indicator.SeriesKey][]Row, q indicator.RollupQuery) ([]rollupRaw, error) {
	// The periods of the grid, by label.
	var cper []string
	perOf := map[string]indicator.Period{}
	if g.overTime {
		for y := g.y0; y <= g.y1; y++ {
			cper = append(cper, strconv.Itoa(y))
		}
	} else if len(g.periods) > 0 {
		for _, p := range g.periods {
			cper = append(cper, p.Label)
			perOf[p.Label] = p
		}
	}
	// One pass over the children's rows: the periods each basis has
	// (within the grid's periods, when given).
	given := make(map[string]bool, len(cper))
	for _, l := range cper {
		given[l] = true
	}
	perBasis := map[indicator.Basis]map[string]*indicator.Period{}
	readers := g.kids
	if g.form != nil {
		readers = g.reached
	}
	var inGrid periodMemo[bool]
	type basisSeen struct {
		basis indicator.Basis
		seen  periodMemo[*indicator.Period]
	}
	var bases []*basisSeen
	for _, c := range readers {
		for _, x := range g.cols {
			if x == "" {
				continue
			}
			rows := series[indicator.SeriesKey{Unit: c, Indicator: x}]
			for i := range rows {
				r := &rows[i]
				if len(given) > 0 {
					in, ok := inGrid.lookup(r)
					if !ok {
						in = inGrid.put(r, given[r.Period.Label])
					}
					if !in {
						continue
					}
				}
				var bs *basisSeen
				for _, b := range bases {
					if b.basis == r.Basis {
						bs = b
						break
					}
				}
				if bs == nil {
					bs = &basisSeen{basis: r.Basis}
					bases = append(bases, bs)
					perBasis[r.Basis] = map[string]*indicator.Period{}
				}
				if _, ok := bs.seen.lookup(r); !ok {
					perBasis[r.Basis][r.Period.Label] = bs.seen.put(r, r.Period)
				}
			}
		}
	}
	// The children's basis: as asked, or the first any child has.
	has := make(map[indicator.Basis]bool, len(perBasis))
	for b := range perBasis {
		has[b] = true
	}
	basis := firstBasis(g.basis, has)
	if !g.overTime && len(cper) == 0 {
		for l, p := range perBasis[basis] {
			cper = append(cper, l)
			perOf[l] = *p
		}
		slices.Sort(cper)
	}
	posOf := make(map[string]int, len(cper))
	for i, l := range cper {
		posOf[l] = i
	}
	var posOfRow periodMemo[int] // posOf by row, -1 outside the grid
	rowPos := func(r *Row) int {
		if i, ok := posOfRow.lookup(r); ok {
			return i
		}
		i, ok := posOf[r.Period.Label]
		if !ok {
			i = -1
		}
		return posOfRow.put(r, i)
	}
	// Groups: parent-major across units, one per parent over time.
	var groupParents []string
	parentAt := map[string]int{}
	for _, p := range g.pairParents {
		if _, ok := parentAt[p]; !ok {
			parentAt[p] = len(groupParents)
			groupParents = append(groupParents, p)
		}
	}
	nPos := len(cper)
	group := func(parent, pos int) int { return parent*nPos + pos }
	ngroups := len(groupParents) * nPos
	if g.overTime {
		group = func(parent, _ int) int { return parent }
		ngroups = len(groupParents)
	}
	accs := make([]cellAcc, ngroups)
	if g.form != nil {
		g.aggregateTree(accs, series, basis, cper, posOf, parentAt, group)
	}
	cell := make([][3]*Row, nPos)
	for i, child := range g.kids {
		if g.form != nil {
			break
		}
		clear(cell)
		for c, x := range g.cols {
			if x == "" {
				continue
			}
			rows := series[indicator.SeriesKey{Unit: child, Indicator: x}]
			for k := range rows {
				r := &rows[k]
				pos := rowPos(r)
				if pos >= 0 && r.Basis == basis && cell[pos][c] == nil {
					cell[pos][c] = r
				}
			}
		}
		for pos := range nPos {
			a := &accs[group(parentAt[g.pairParents[i]], pos)]
			a.used = true
			if !g.overTime && !g.kidUnits[i].ValidAt(perOf[cper[pos]].Start) {
				continue
			}
			g.add(a, child, cper[pos], cell[pos], nil)
		}
	}
	var out []rollupRaw
	for k := range accs {
		a := &accs[k]
		if !a.used {
			continue
		}
		var parent, gper string
		if g.overTime {
			parent, gper = groupParents[k], g.over.Label
		} else {
			parent, gper = groupParents[k/nPos], cper[k%nPos]
		}
		row := indicator.RollupRow{Unit: parent, Rule: g.rule, Children: a.expected, WithData: a.with, Missing: []string{}, Basis: g.resultBasis(basis), Tree: g.tree, Shares: a.shared}
		switch {
		case g.overTime:
			row.Period = g.over
		default:
			row.Period = perOf[gper]
		}
		g.finish(a, &row, q)
		if g.fromParts && a.reason != "" {
			row.Value, row.WeightShare, row.ValueReason = nil, nil, a.reason
		}
		x := rollupRaw{row: row}
		if !q.Skip.Reported || !q.Skip.Gap {
			g.reported(&x, series[indicator.SeriesKey{Unit: parent, Indicator: g.ind.Code}], gper)
		}
		if q.Skip.Gap {
			x.row.Gap, x.row.GapRelative, x.row.GapReason = nil, nil, ""
		}
		out = append(out, x)
	}
	return out, nil
}

// add counts one cell (a child in a period) into its group; ids, when
// given, are the observations behind m (carried cells), else m's own.
func (g *rollupGrid) add(a *cellAcc, child, per string, m [3]*Row, ids *[3][]int64) {
	a.expected++
	x, w, d := m[0], m[1], m[2]
	var hd bool
	switch g.rule.Kind {
	case indicator.RuleRatio:
		hd = w != nil && d != nil
		if d != nil {
			a.all += d.Value
		}
	case indicator.RuleWeightedMean:
		hd = x != nil && w != nil
		if w != nil {
			a.all += w.Value
		}
	default:
		hd = x != nil
	}
	if !hd {
		if !g.skipMissing {
			a.missing = append(a.missing, [2]string{child, per})
		}
		return
	}
	a.with++
	if !g.skipInputs && ids != nil {
		for c := range ids {
			a.ids[c] = append(a.ids[c], ids[c]...)
		}
	} else if !g.skipInputs {
		for c, r := range m {
			if r != nil {
				a.ids[c] = append(a.ids[c], r.ID)
			}
		}
	}
	switch g.rule.Kind {
	case indicator.RuleRatio:
		a.num += w.Value
		a.den += d.Value
	case indicator.RuleWeightedMean:
		a.num += x.Value * w.Value
		a.den += w.Value
	default:
		a.sx += x.Value
		a.nx++
		if a.last == nil || per > a.lastPer {
			a.lastPer, a.last = per, x
		}
	}
}

// finish computes a group's value, weight share, inputs and missing.
func (g *rollupGrid) finish(a *cellAcc, row *indicator.RollupRow, q indicator.RollupQuery) {
	switch g.rule.Kind {
	case indicator.RuleSum:
		row.Value = num(a.sx, a.nx == 0)
	case indicator.RuleMean:
		row.Value = num(a.sx/float64(a.nx), a.nx == 0)
	case indicator.RuleLast:
		a.ids = [3][]int64{}
		if a.last != nil {
			row.Value = num(a.last.Value, false)
			a.ids[0] = []int64{a.last.ID}
		}
	case indicator.RuleWeightedMean, indicator.RuleRatio:
		mult := 1.0
		if g.rule.Kind == indicator.RuleRatio {
			mult = g.mult
		}
		row.Value = num(a.num/a.den*mult, a.with == 0 || a.den == 0)
		row.WeightShare = num(a.den/a.all, a.with == 0 || a.all == 0)
	}
	slices.SortFunc(a.missing, func(x, y [2]string) int {
		if x[0] != y[0] {
			if x[0] < y[0] {
				return -1
			}
			return 1
		}
		switch {
		case x[1] < y[1]:
			return -1
		case x[1] > y[1]:
			return 1
		}
		return 0
	})
	for _, m := range a.missing {
		if g.overTime {
			row.Missing = append(row.Missing, m[1])
		} else {
			row.Missing = append(row.Missing, m[0])
		}
	}
	if !q.Skip.Inputs {
		row.Inputs = []int64{}
		for _, ids := range a.ids {
			slices.Sort(ids)
			row.Inputs = append(row.Inputs, ids...)
		}
	}
}

// reported finds the parent's own value for the group's period: of the
// rollup's basis, for the gap; failing that, of another basis, shown
// with the reason there is no gap.
func (g *rollupGrid) reported(x *rollupRaw, rows []Row, per string) {
	var same, other *Row
	for i := range rows {
		r := &rows[i]
		if r.Period.Label != per {
			continue
		}
		switch {
		case r.Basis == x.row.Basis && same == nil:
			same = r
		case r.Basis != x.row.Basis && other == nil:
			other = r
		}
	}
	switch {
	case same != nil:
		x.rep = same.ID
		if v := x.row.Value; v != nil {
			x.row.Gap = num(*v-same.Value, false)
			x.row.GapRelative = relChange(same.Value, *v)
		}
	case other != nil:
		x.rep = other.ID
		x.row.GapReason = fmt.Sprintf("BASIS_DIFFERS: the parent's value is %s, the rollup's %s", basisName(other.Basis), basisName(x.row.Basis))
	}
}

// basisName is a basis as the API names it.
func basisName(b indicator.Basis) string {
	switch b {
	case indicator.BasisPerYear:
		return "PER_YEAR"
	case indicator.BasisCumulative:
		return "CUMULATIVE"
	}
	return "POINT"
}

// uniqueCodes drops repeated codes, keeping the first of each.
func uniqueCodes(codes []string) []string {
	seen := make(map[string]bool, len(codes))
	return slices.DeleteFunc(codes, func(c string) bool {
		dup := seen[c]
		seen[c] = true
		return dup
	})
}
