package engine

import (
	"context"
	"fmt"
	"slices"
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
// figure in it.

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
