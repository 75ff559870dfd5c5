package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"chiso/indicator"
)

// A vintage is the unit tree valid on one day. Figures are stated for the
// units of their own time; asked in a later vintage (rollup's tree), a
// figure is carried forward along the unit changes (unit_changes) dated
// on or before that day, from each predecessor into its successor:
//
//   - a whole unit (merge, rename, move) carries its figure whole, exactly;
//   - a split unit carries the declared share of it (Share), which says
//     that the figure is assumed to divide like the unit; a split without
//     a share cannot be carried (SPLIT_WITHOUT_SHARE);
//   - SUM carries the value, WEIGHTED_MEAN the weighted value and its
//     weight, RATIO the numerator and the denominator (the ratio is
//     recomputed from the carried counts); MEAN and LAST cannot be carried
//     across merged or split units (there are no weights), NONE not at all.
//
// A unit's value in the vintage is its own figure when it states one, else
// the figures of the units it was formed from, each in turn its own figure
// or carried from its own predecessors (chains of reforms). Figures are
// never carried backwards: a unit formed after the tree's day has no
// figure in it. Rollups (planTree), comparisons and series (inTree) carry
// by this one rule; comparisons and series take a carried figure only
// when complete (every unit it is formed from has one), else none with
// the reason.

// part is one unit another was formed from, with the share of it that went
// in.
type part struct {
	unit    string
	share   float64 // 1 for a whole unit
	split   bool    // from a split: share is the declared one
	unknown bool    // a split whose source gives no share
	change  indicator.UnitChange
}

// formation indexes changes by successor: for each unit, the units it
// was formed from by changes dated on or before day.
type formation map[string][]part

// formedFrom builds the formation of the tree valid on day from changes
// (in any order; duplicates ignored).
func formedFrom(changes []indicator.UnitChange, day time.Time) formation {
	f := formation{}
	seen := map[[2]string]bool{}
	for _, c := range changes {
		if c.Successor == "" || c.Date.After(day) || seen[[2]string{c.Predecessor, c.Successor}] {
			continue
		}
		seen[[2]string{c.Predecessor, c.Successor}] = true
		p := part{unit: c.Predecessor, share: 1, change: c}
		if c.Kind == indicator.ChangeSplit {
			p.split = true
			if c.Share != nil {
				p.share = *c.Share
			} else {
				p.unknown = true
			}
		}
		f[c.Successor] = append(f[c.Successor], p)
	}
	for k := range f {
		slices.SortFunc(f[k], func(a, b part) int {
			switch {
			case a.unit < b.unit:
				return -1
			case a.unit > b.unit:
				return 1
			}
			return 0
		})
	}
	return f
}

// carriedValue is what one unit contributes to a rule in a vintage: the
// columns the rule reads (see rollupCols), summed over the units it was
// formed from, with the observations they came from.
type carriedValue struct {
	ok      bool    // every input the rule needs has a value
	x, w, d float64 // SUM: x; WEIGHTED_MEAN: x·w summed in x, w; RATIO: w (numerator), d (denominator)
	ids     [3][]int64
	// all is the weight (WEIGHTED_MEAN) or denominator (RATIO) of every
	// part that has one, complete or not: the whole a weight share is of.
	all     float64
	shared  bool   // a split's declared share was used
	reason  string // why ok is false although some figure exists
	parts   int    // the units it was formed from (1: itself)
	with    int    // of which with data
	missing []string
}

// ownFunc returns a unit's own rows for the cell asked (x, w, d), nil
// where it has none.
type ownFunc func(unit string) [3]*Row

// carry computes unit's value in the vintage: its own figure when the
// rule's inputs are all there, else the figures of what it was formed
// from (complete only if every part is), each scaled by its share.
func (f formation) carry(rule indicator.RuleKind, unit string, own ownFunc, depth int) carriedValue {
	m := own(unit)
	if v, ok := ownValue(rule, m); ok {
		return v
	}
	parts := f[unit]
	if len(parts) == 0 || depth > 16 {
		v := carriedValue{parts: 1}
		if r := m[weightCol(rule)]; r != nil && weightCol(rule) > 0 {
			v.all = r.Value
		}
		return v
	}
	return f.compose(rule, parts, own, depth)
}

// compose sums the parts' carried values; the result is ok only when
// every part is.
func (f formation) compose(rule indicator.RuleKind, parts []part, own ownFunc, depth int) carriedValue {
	out := carriedValue{ok: true, parts: len(parts)}
	for _, p := range parts {
		v := f.carry(rule, p.unit, own, depth+1)
		if !p.unknown {
			out.all += v.all * p.share
		}
		if p.unknown {
			out.ok = false
			out.missing = append(out.missing, p.unit)
			if out.reason == "" {
				out.reason = fmt.Sprintf("SPLIT_WITHOUT_SHARE: %s was split on %s with no share given for %s (%s)", p.unit, p.change.Date.Format(time.DateOnly), p.change.Successor, p.change.Locator)
			}
			continue
		}
		if !v.ok {
			out.ok = false
			out.missing = append(out.missing, p.unit)
			if out.reason == "" {
				out.reason = v.reason
			}
			continue
		}
		out.with++
		s := p.share
		out.x += v.x * s
		out.w += v.w * s
		out.d += v.d * s
		out.shared = out.shared || v.shared || p.split
		for c := range out.ids {
			out.ids[c] = append(out.ids[c], v.ids[c]...)
		}
	}
	if !out.ok {
		out.x, out.w, out.d = 0, 0, 0
		out.ids = [3][]int64{}
	}
	return out
}

// ownValue is a unit's own figure as a carried value.
func ownValue(rule indicator.RuleKind, m [3]*Row) (carriedValue, bool) {
	x, w, d := m[0], m[1], m[2]
	v := carriedValue{ok: true, parts: 1, with: 1}
	switch rule {
	case indicator.RuleRatio:
		if w == nil || d == nil {
			return carriedValue{}, false
		}
		v.w, v.d, v.all = w.Value, d.Value, d.Value
	case indicator.RuleWeightedMean:
		if x == nil || w == nil {
			return carriedValue{}, false
		}
		v.x, v.w, v.all = x.Value*w.Value, w.Value, w.Value
	default:
		if x == nil {
			return carriedValue{}, false
		}
		v.x = x.Value
	}
	for c, r := range m {
		if r != nil {
			v.ids[c] = []int64{r.ID}
		}
	}
	return v, true
}

// weightCol is the column whose sum a weight share is of: the
// denominator (2) for RATIO, the weight (1) for WEIGHTED_MEAN, else none
// (0).
func weightCol(rule indicator.RuleKind) int {
	switch rule {
	case indicator.RuleRatio:
		return 2
	case indicator.RuleWeightedMean:
		return 1
	}
	return 0
}

// rows turns a carried value back into the cell rows the rollup adds
// (with ID 0: the ids travel apart).
func (v carriedValue) rows(rule indicator.RuleKind) [3]*Row {
	if !v.ok {
		return [3]*Row{}
	}
	switch rule {
	case indicator.RuleRatio:
		return [3]*Row{nil, {Value: v.w}, {Value: v.d}}
	case indicator.RuleWeightedMean:
		x := 0.0
		if v.w != 0 {
			x = v.x / v.w
		}
		return [3]*Row{{Value: x}, {Value: v.w}, nil}
	}
	return [3]*Row{{Value: v.x}, nil, nil}
}

// carriable refuses the rules whose figures cannot be carried across
// merged or split units.
func carriable(ind indicator.Indicator) error {
	switch ind.Rollup.Kind {
	case indicator.RuleMean:
		return indicator.Invalidf("tree", "%s cannot be carried into another tree: rollup rule MEAN has no weights to combine merged or split units (a WEIGHTED_MEAN or RATIO indicator can be)", ind.Code)
	case indicator.RuleLast:
		return indicator.Invalidf("tree", "%s cannot be carried into another tree: rollup rule LAST does not aggregate across units", ind.Code)
	}
	return nil
}

// formationOf reads the changes behind units, and behind their
// predecessors in turn, up to day: the formation of the tree valid on
// day, and every unit it reaches (units first).
func (e *Engine) formationOf(ctx context.Context, units []string, day time.Time) (formation, []string, error) {
	var all []indicator.UnitChange
	reached := slices.Clone(units)
	seen := map[string]bool{}
	for _, u := range units {
		seen[u] = true
	}
	todo := units
	for round := 0; len(todo) > 0 && round < 16; round++ {
		m, err := e.Store.UnitChanges(ctx, todo)
		if err != nil {
			return nil, nil, err
		}
		var next []string
		for _, u := range todo {
			for _, c := range m[u] {
				if c.Successor != u || c.Date.After(day) {
					continue
				}
				all = append(all, c)
				if !seen[c.Predecessor] {
					seen[c.Predecessor] = true
					next = append(next, c.Predecessor)
					reached = append(reached, c.Predecessor)
				}
			}
		}
		todo = next
	}
	return formedFrom(all, day), reached, nil
}

// unitsBelow lists parent's children (level empty) or descendants at level
// in the tree valid on day: those valid then (a unit's validity lies
// within its parent's).
func unitsBelow(cat Catalog, parent string, level indicator.Level, day time.Time) []indicator.Unit {
	if level == "" {
		return indicator.ValidOn(cat.Children(parent), day)
	}
	return indicator.ValidOn(cat.Descendants(parent, level), day)
}

// treeDayBelow is the day parent's units at level are listed on when no
// day is asked for (indicator.TreeDay).
func treeDayBelow(cat Catalog, parent string, level indicator.Level, today time.Time) time.Time {
	u, _ := cat.Unit(parent)
	var all []indicator.Unit
	if level == "" {
		all = cat.Children(parent)
	} else {
		all = cat.Descendants(parent, level)
	}
	return indicator.TreeDay(u, all, today)
}

// planTree replans a rollup across units in the tree valid on q.Tree:
// each unit of the set is rolled up from the units it was formed from
// (no ChildLevel; a unit formed from none is its own one input), or from
// its descendants at ChildLevel in that tree, each carried from what it
// was formed from.
func (e *Engine) planTree(ctx context.Context, cat Catalog, g *rollupGrid, q indicator.RollupQuery, parents []string) error {
	if q.Over != nil {
		return indicator.Invalidf("tree", "a tree applies to a rollup across units; over rolls a unit's own years up and takes none")
	}
	if err := carriable(g.ind); err != nil {
		return err
	}
	day := *q.Tree
	for _, p := range parents {
		if u, ok := cat.Unit(p); ok && !u.ValidAt(day) {
			return indicator.Invalidf("units", "%s is not a unit of the tree of %s (it is valid %s)", p, day.Format(time.DateOnly), validity(u))
		}
	}
	g.tree = q.Tree
	g.pairParents, g.kids, g.kidUnits, g.pairParts = nil, nil, nil, nil
	if q.ChildLevel == "" {
		form, reached, err := e.formationOf(ctx, parents, day)
		if err != nil {
			return err
		}
		g.form, g.reached, g.fromParts = form, reached, true
		for _, p := range parents {
			parts := form[p]
			if len(parts) == 0 {
				parts = []part{{unit: p, share: 1}}
			}
			for _, pt := range parts {
				g.pairParents, g.kids, g.pairParts = append(g.pairParents, p), append(g.kids, pt.unit), append(g.pairParts, pt)
			}
		}
		return nil
	}
	var kids []string
	seen := map[string]bool{}
	for _, p := range parents {
		for _, k := range unitsBelow(cat, p, q.ChildLevel, day) {
			g.pairParents, g.kids, g.pairParts = append(g.pairParents, p), append(g.kids, k.Code), append(g.pairParts, part{unit: k.Code, share: 1})
			if !seen[k.Code] {
				seen[k.Code] = true
				kids = append(kids, k.Code)
			}
		}
	}
	form, reached, err := e.formationOf(ctx, kids, day)
	if err != nil {
		return err
	}
	g.form, g.reached = form, reached
	return nil
}

// validity renders a unit's validity: "from 2025-07-01", "to 2025-06-30".
func validity(u indicator.Unit) string {
	switch {
	case u.ValidFrom != nil && u.ValidTo != nil:
		return u.ValidFrom.Format(time.DateOnly) + " to " + u.ValidTo.Format(time.DateOnly)
	case u.ValidFrom != nil:
		return "from " + u.ValidFrom.Format(time.DateOnly)
	case u.ValidTo != nil:
		return "to " + u.ValidTo.Format(time.DateOnly)
	}
	return "always"
}

// aggregateTree adds the cells of a rollup in a tree: each pair's part,
// carried (see formation.compose), in every period of the grid.
func (g *rollupGrid) aggregateTree(accs []cellAcc, series map[indicator.SeriesKey][]Row, basis indicator.Basis, cper []string, posOf map[string]int, parentAt map[string]int, group func(int, int) int) {
	nPos := len(cper)
	cells := map[string][][3]*Row{}
	rowsOf := func(u string) [][3]*Row {
		if c, ok := cells[u]; ok {
			return c
		}
		c := make([][3]*Row, nPos)
		for col, x := range g.cols {
			if x == "" {
				continue
			}
			rows := series[indicator.SeriesKey{Unit: u, Indicator: x}]
			for k := range rows {
				r := &rows[k]
				if pos, ok := posOf[r.Period.Label]; ok && r.Basis == basis && c[pos][col] == nil {
					c[pos][col] = r
				}
			}
		}
		cells[u] = c
		return c
	}
	for i, child := range g.kids {
		p := g.pairParts[i]
		for pos := range nPos {
			a := &accs[group(parentAt[g.pairParents[i]], pos)]
			a.used = true
			v := g.form.compose(g.rule.Kind, []part{p}, func(u string) [3]*Row { return rowsOf(u)[pos] }, 0)
			if v.reason != "" && a.reason == "" && g.fromParts {
				a.reason = v.reason
			}
			if v.ok {
				a.shared = a.shared || v.shared
			} else {
				a.all += v.all // add counts the weight of complete cells only
			}
			ids := v.ids
			g.add(a, child, cper[pos], v.rows(g.rule.Kind), &ids)
		}
	}
}

// Figures in another tree for comparisons and series (CompareQuery.Tree,
// SeriesInTree): for each unit of the tree, period, kind and basis, the
// unit's own canonical figure when it states one, else the one carried by
// formation.carry from the units it was formed from. A RATIO is
// recomputed from its carried numerator and denominator, a WEIGHTED_MEAN
// from its carried weighted values; MEAN, LAST and NONE are refused.

// cellKey is one period, kind and basis of a series.
type cellKey struct {
	label string
	kind  indicator.ObservationKind
	basis indicator.Basis
}

// treeRows are units' figures in one tree: rows per unit and indicator
// (own rows keep their ids, carried ones have ID 0 and their figure in
// carried), and the reasons of units without a figure although what they
// were formed from has some.
type treeRows struct {
	rows    map[indicator.SeriesKey][]Row
	carried map[*Row]*indicator.CarriedFigure
	reasons map[indicator.SeriesKey]map[cellKey]string
	// cells lists every cell of each key, with its row or reason.
	cells map[indicator.SeriesKey][]treeCell
}

type treeCell struct {
	key    cellKey
	row    *Row // nil: no figure
	tmpl   *Row // a row of the cell (its period)
	reason string
	at     int // row's index in the key's rows, -1 for none
}

// carriableInTree refuses the indicators whose figures cannot be carried
// into another tree (carriable, and NONE).
func carriableInTree(ind indicator.Indicator) error {
	if ind.Rollup.Kind == indicator.RuleNone {
		return indicator.Invalidf("tree", "%s cannot be carried into another tree: rollup rule NONE: its values cannot be combined across units", ind.Code)
	}
	return carriable(ind)
}

// inTree computes the figures of inds at units (all of the tree valid on
// day) of kind (every kind when empty).
func (e *Engine) inTree(ctx context.Context, cat Catalog, units []string, inds []indicator.Indicator, kind indicator.ObservationKind, day time.Time) (treeRows, error) {
	out := treeRows{rows: map[indicator.SeriesKey][]Row{}, carried: map[*Row]*indicator.CarriedFigure{},
		reasons: map[indicator.SeriesKey]map[cellKey]string{}, cells: map[indicator.SeriesKey][]treeCell{}}
	var codes []string
	mults := make([]float64, len(inds))
	for i, x := range inds {
		if err := carriableInTree(x); err != nil {
			return out, err
		}
		mults[i] = 1
		if x.Rollup.Kind == indicator.RuleRatio {
			num, okN := cat.Indicator(x.Rollup.Numerator)
			den, okD := cat.Indicator(x.Rollup.Denominator)
			if !okN || !okD {
				return out, fmt.Errorf("engine: %s's ratio names an unknown indicator", x.Code)
			}
			m, err := indicator.RatioFactor(num, den, x)
			if err != nil {
				return out, indicator.Invalidf("tree", "%s cannot be carried into another tree: %v", x.Code, err)
			}
			mults[i] = m
		}
		cs := rollupCols(x)
		for _, c := range append(cs[:], x.Code) {
			if c != "" && !slices.Contains(codes, c) {
				codes = append(codes, c)
			}
		}
	}
	for _, u := range units {
		if un, ok := cat.Unit(u); ok && !un.ValidAt(day) {
			return out, indicator.Invalidf("units", "%s is not a unit of the tree of %s (it is valid %s)", u, day.Format(time.DateOnly), validity(un))
		}
	}
	form, reached, err := e.formationOf(ctx, units, day)
	if err != nil {
		return out, err
	}
	series, err := e.rows(ctx, RowQuery{Units: reached, Indicators: codes, Kind: kind, Canonical: true})
	if err != nil {
		return out, err
	}
	// index[unit][indicator][cell] is the unit's canonical row of the cell.
	index := map[string]map[string]map[cellKey]*Row{}
	unitOf := map[int64]string{}
	for k, rows := range series {
		for i := range rows {
			r := &rows[i]
			if !r.Canonical {
				continue
			}
			if index[k.Unit] == nil {
				index[k.Unit] = map[string]map[cellKey]*Row{}
			}
			if index[k.Unit][k.Indicator] == nil {
				index[k.Unit][k.Indicator] = map[cellKey]*Row{}
			}
			c := cellKey{r.Period.Label, r.Kind, r.Basis}
			if index[k.Unit][k.Indicator][c] == nil {
				index[k.Unit][k.Indicator][c] = r
				unitOf[r.ID] = k.Unit
			}
		}
	}
	for i, x := range inds {
		cols := rollupCols(x)
		for _, u := range units {
			key := indicator.SeriesKey{Unit: u, Indicator: x.Code}
			// The cells of u and of every unit it was formed from.
			var cells []cellKey
			tmpl := map[cellKey]*Row{}
			for _, src := range form.sources(u) {
				for _, c := range append(cols[:], x.Code) {
					for ck, r := range index[src][c] {
						if tmpl[ck] == nil {
							tmpl[ck] = r
							cells = append(cells, ck)
						}
					}
				}
			}
			slices.SortFunc(cells, func(a, b cellKey) int {
				switch pa, pb := tmpl[a].Period, tmpl[b].Period; {
				case periodBefore(pa, pb):
					return -1
				case periodBefore(pb, pa):
					return 1
				}
				return strings.Compare(string(a.kind)+"|"+string(a.basis), string(b.kind)+"|"+string(b.basis))
			})
			rows := make([]Row, 0, len(cells))
			var tcs []treeCell
			var figs []*indicator.CarriedFigure
			for _, ck := range cells {
				tc := treeCell{key: ck, tmpl: tmpl[ck], at: -1}
				if r := index[u][x.Code][ck]; r != nil {
					tc.at = len(rows)
					rows = append(rows, *r)
					figs = append(figs, nil)
					tcs = append(tcs, tc)
					continue
				}
				own := func(unit string) [3]*Row {
					var m [3]*Row
					for c, code := range cols {
						if code != "" {
							m[c] = index[unit][code][ck]
						}
					}
					return m
				}
				v := form.carry(x.Rollup.Kind, u, own, 0)
				val, ok := v.figure(x.Rollup.Kind, mults[i])
				if !ok {
					if v.reason == "" && v.with > 0 {
						v.reason = fmt.Sprintf("INCOMPLETE: %d of the %d units %s was formed from state a figure (none for %s)", v.with, v.parts, u, strings.Join(v.missing, ", "))
					}
					tc.reason = v.reason
					if v.reason != "" {
						if out.reasons[key] == nil {
							out.reasons[key] = map[cellKey]string{}
						}
						out.reasons[key][ck] = v.reason
					}
					tcs = append(tcs, tc)
					continue
				}
				t := tmpl[ck]
				r := Row{Unit: u, Indicator: x.Code, Period: t.Period, Pos: t.Pos, EndPos: t.EndPos, Kind: ck.kind, Value: val, Basis: ck.basis, Canonical: true}
				var from []string
				for _, ids := range v.ids {
					for _, id := range ids {
						if s := unitOf[id]; s != "" && !slices.Contains(from, s) {
							from = append(from, s)
						}
					}
				}
				slices.Sort(from)
				tc.at = len(rows)
				rows = append(rows, r)
				figs = append(figs, &indicator.CarriedFigure{Value: val, Period: *t.Period, From: from, Shares: v.shared})
				tcs = append(tcs, tc)
			}
			out.rows[key] = rows
			for j := range rows {
				if figs[j] != nil {
					out.carried[&rows[j]] = figs[j]
				}
			}
			for j := range tcs {
				if tcs[j].at >= 0 {
					tcs[j].row = &rows[tcs[j].at]
				}
			}
			out.cells[key] = tcs
		}
	}
	return out, nil
}

// sources are unit and every unit it was formed from, in turn (chains of
// reforms).
func (f formation) sources(unit string) []string {
	out := []string{unit}
	seen := map[string]bool{unit: true}
	for i := 0; i < len(out) && i < 4096; i++ {
		for _, p := range f[out[i]] {
			if !seen[p.unit] {
				seen[p.unit] = true
				out = append(out, p.unit)
			}
		}
	}
	return out
}

// figure is a carried value as the indicator's figure: SUM the carried
// value, WEIGHTED_MEAN the weighted values over the weights, RATIO the
// numerator over the denominator times mult; false when incomplete or
// undefined (a zero weight or denominator).
func (v carriedValue) figure(rule indicator.RuleKind, mult float64) (float64, bool) {
	if !v.ok {
		return 0, false
	}
	switch rule {
	case indicator.RuleRatio:
		if v.d == 0 {
			return 0, false
		}
		return clean(v.w / v.d * mult), true
	case indicator.RuleWeightedMean:
		if v.w == 0 {
			return 0, false
		}
		return clean(v.x / v.w), true
	}
	return clean(v.x), true
}

// SeriesInTree is a unit's series of one indicator in the tree valid on
// q.Tree: per period, kind and basis, its own canonical figure, else the
// one carried from the units it was formed from (see inTree), else none
// with the reason when they have figures that cannot be carried.
func (e *Engine) SeriesInTree(ctx context.Context, q indicator.TreeSeriesQuery) ([]indicator.TreeValue, error) {
	ctx, cat, done, err := e.pin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if _, ok := cat.Unit(q.Unit); !ok {
		return nil, &indicator.ArgError{Arg: "unit", Reason: fmt.Sprintf("no unit with code %q", q.Unit), Kind: indicator.ErrNotFound}
	}
	inds, err := knownIndicators(cat, []string{q.Indicator}, "indicator")
	if err != nil {
		return nil, err
	}
	kinds := map[indicator.ObservationKind]bool{}
	for _, k := range q.Kinds {
		kinds[k] = true
	}
	tr, err := e.inTree(ctx, cat, []string{q.Unit}, inds, "", q.Tree)
	if err != nil {
		if ae, ok := err.(*indicator.ArgError); ok && ae.Arg == "units" {
			ae.Arg = "unit"
		}
		return nil, err
	}
	key := indicator.SeriesKey{Unit: q.Unit, Indicator: inds[0].Code}
	var ids []int64
	for _, c := range tr.cells[key] {
		if c.row != nil && tr.carried[c.row] == nil {
			ids = append(ids, c.row.ID)
		}
	}
	obs, err := e.observations(ctx, ids...)
	if err != nil {
		return nil, err
	}
	out := []indicator.TreeValue{}
	for _, c := range tr.cells[key] {
		if len(kinds) > 0 && !kinds[c.key.kind] {
			continue
		}
		v := indicator.TreeValue{Period: *c.tmpl.Period, Kind: c.key.kind, Basis: c.key.basis, ValueReason: c.reason}
		if c.row != nil {
			val := c.row.Value
			v.Value = &val
			if f := tr.carried[c.row]; f != nil {
				v.Carried = f
			} else {
				v.Obs = obsPtr(obs, c.row.ID)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// reason is why key has no figure in the tree although what its unit was
// formed from has some: of the exact period when one is asked, else of
// its latest cell with a reason.
func (t treeRows) reason(key indicator.SeriesKey, exact *indicator.Period) string {
	r := ""
	for _, c := range t.cells[key] {
		if c.reason != "" && (exact == nil || c.key.label == exact.Label) {
			r = c.reason
		}
	}
	return r
}
