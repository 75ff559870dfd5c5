package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"chiso/indicator"
)

// dimensions is the in-memory index of a snapshot's small tables (units,
// indicators, sources, periods). Lookups, tree walks and listing need no
// SQL; the same rows are in DuckDB for the analytical joins.
type dimensions struct {
	units      []indicator.Unit // ordered by level rank, then code
	unitIndex  map[string]int
	children   map[string][]int // parent code -> unit indexes, ordered
	kids       [][]int          // unit index -> its children's indexes, ordered
	below      []uint64         // unit index -> levelBit of each level among its descendants
	official   map[string][]int // official code -> unit indexes, ordered
	changes    []indicator.UnitChange
	changesOf  map[string][]int      // unit code -> indexes of the changes it takes part in, ordered
	indicators []indicator.Indicator // ordered by code
	indIndex   map[string]int        // code or alias -> index
	parts      map[string][]int      // total code -> part indicator indexes
	sources    []indicator.Source
	srcIndex   map[string]int
	periods    map[string]indicator.Period
	periodAt   map[string]*indicator.Period // the same periods, shared by the rows read
	periodNo   map[string]int32             // label -> the period's number (engine.Row.PeriodNo)
}

func newDimensions(units []indicator.Unit, inds []indicator.Indicator, srcs []indicator.Source, periods []indicator.Period, changes []indicator.UnitChange) *dimensions {
	d := &dimensions{
		units:      append([]indicator.Unit(nil), units...),
		indicators: append([]indicator.Indicator(nil), inds...),
		sources:    append([]indicator.Source(nil), srcs...),
		unitIndex:  make(map[string]int, len(units)),
		children:   make(map[string][]int),
		official:   make(map[string][]int),
		changes:    append([]indicator.UnitChange(nil), changes...),
		changesOf:  make(map[string][]int),
		indIndex:   make(map[string]int, len(inds)),
		parts:      make(map[string][]int),
		srcIndex:   make(map[string]int, len(srcs)),
		periods:    make(map[string]indicator.Period, len(periods)),
		periodAt:   make(map[string]*indicator.Period, len(periods)),
		periodNo:   make(map[string]int32, len(periods)),
	}
	sort.SliceStable(d.units, func(i, j int) bool {
		a, b := d.units[i], d.units[j]
		if ra, rb := a.Level.Rank(), b.Level.Rank(); ra != rb {
			return ra < rb
		}
		return a.Code < b.Code
	})
	for i, u := range d.units {
		d.unitIndex[u.Code] = i
		if u.Parent != "" {
			d.children[u.Parent] = append(d.children[u.Parent], i)
		}
		if u.OfficialCode != "" {
			d.official[u.OfficialCode] = append(d.official[u.OfficialCode], i)
		}
	}
	d.kids, d.below = make([][]int, len(d.units)), make([]uint64, len(d.units))
	for i, u := range d.units {
		d.kids[i] = d.children[u.Code]
	}
	// Each unit's level is marked on its ancestors, up to the first that
	// has it already (its own ancestors then have it too).
	for _, u := range d.units {
		b := levelBit(u.Level)
		for p, steps := u.Parent, 0; p != "" && steps < len(d.units); steps++ {
			a, ok := d.unitIndex[p]
			if !ok || d.below[a]&b != 0 {
				break
			}
			d.below[a] |= b
			p = d.units[a].Parent
		}
	}
	sort.SliceStable(d.changes, func(i, j int) bool {
		a, b := d.changes[i], d.changes[j]
		if !a.Date.Equal(b.Date) {
			return a.Date.Before(b.Date)
		}
		if a.Predecessor != b.Predecessor {
			return a.Predecessor < b.Predecessor
		}
		return a.Successor < b.Successor
	})
	for i, c := range d.changes {
		d.changesOf[c.Predecessor] = append(d.changesOf[c.Predecessor], i)
		if c.Successor != "" && c.Successor != c.Predecessor {
			d.changesOf[c.Successor] = append(d.changesOf[c.Successor], i)
		}
	}
	sort.SliceStable(d.indicators, func(i, j int) bool { return d.indicators[i].Code < d.indicators[j].Code })
	for i, ind := range d.indicators {
		d.indIndex[ind.Code] = i
		if ind.Total != "" {
			d.parts[ind.Total] = append(d.parts[ind.Total], i)
		}
	}
	// An alias (a former code, validated by the loader never to be a code
	// or another indicator's alias) finds its indicator too.
	for i, ind := range d.indicators {
		for _, a := range ind.Aliases {
			if _, taken := d.indIndex[a]; !taken {
				d.indIndex[a] = i
			}
		}
	}
	sort.SliceStable(d.sources, func(i, j int) bool { return d.sources[i].ID < d.sources[j].ID })
	for i, s := range d.sources {
		d.srcIndex[s.ID] = i
	}
	for _, p := range periods {
		d.periods[p.Label] = p
		d.periodAt[p.Label] = &p
	}
	// Periods are numbered in label order, not in the order the build met
	// them (which DuckDB's parallel scans do not fix), so two snapshots of
	// the same data number them alike.
	labels := make([]string, 0, len(d.periods))
	for l := range d.periods {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for i, l := range labels {
		d.periodNo[l] = int32(i)
	}
	return d
}

// indicatorCode returns the canonical code of an indicator code or alias;
// an unknown code is returned as given.
func (d *dimensions) indicatorCode(code string) string {
	if i, ok := d.indIndex[code]; ok {
		return d.indicators[i].Code
	}
	return code
}

// canonicalKeys returns keys with aliases replaced by indicator codes
// (duplicates kept), and the keys asked for by an alias with their
// canonical key, so that answers can be filed under what was asked.
func (d *dimensions) canonicalKeys(keys []indicator.SeriesKey) (map[indicator.SeriesKey]indicator.SeriesKey, []indicator.SeriesKey) {
	var asked map[indicator.SeriesKey]indicator.SeriesKey
	out := keys
	for i, k := range keys {
		c := d.indicatorCode(k.Indicator)
		if c == k.Indicator {
			continue
		}
		if asked == nil {
			asked = map[indicator.SeriesKey]indicator.SeriesKey{}
			out = append([]indicator.SeriesKey(nil), keys...)
		}
		out[i] = indicator.SeriesKey{Unit: k.Unit, Indicator: c}
		asked[k] = out[i]
	}
	return asked, out
}

func (d *dimensions) unit(code string) (indicator.Unit, bool) {
	i, ok := d.unitIndex[code]
	if !ok {
		return indicator.Unit{}, false
	}
	return d.units[i], true
}

// ancestors returns code's ancestors from the root down.
func (d *dimensions) ancestors(code string) []indicator.Unit {
	var out []indicator.Unit
	u, ok := d.unit(code)
	for ok && u.Parent != "" {
		u, ok = d.unit(u.Parent)
		if ok {
			out = append(out, u)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// descendants returns code's descendants, breadth first, optionally only
// those at level.
func (d *dimensions) descendants(code string, level indicator.Level) []indicator.Unit {
	return d.descendantsAsOf(code, level, nil)
}

// descendantsAsOf returns code's descendants in the tree valid at asOf
// (every unit if nil), breadth first, optionally only those at level: a
// unit not valid at asOf is neither listed nor walked through.
//
// With a level, the walk does not enter a unit with no descendant at
// that level.
func (d *dimensions) descendantsAsOf(code string, level indicator.Level, asOf *time.Time) []indicator.Unit {
	root, ok := d.unitIndex[code]
	if !ok {
		return nil
	}
	want := ^uint64(0)
	if level != "" {
		want = levelBit(level)
	}
	var out []indicator.Unit
	var queue []int
	if d.below[root]&want != 0 {
		queue = append(queue, d.kids[root]...)
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		u := &d.units[i]
		if asOf != nil && !u.ValidAt(*asOf) {
			continue
		}
		if level == "" || u.Level == level {
			out = append(out, *u)
		}
		if d.below[i]&want != 0 {
			queue = append(queue, d.kids[i]...)
		}
	}
	return out
}

// levelBit is a level's bit in dimensions.below (an unknown level has one
// of its own).
func levelBit(l indicator.Level) uint64 { return 1 << (l.Rank() + 1) }

// byOfficialCode returns the unit with official code oc valid at asOf, or
// with asOf nil the one valid latest (an open end first, else the latest
// ValidTo, then the latest ValidFrom).
func (d *dimensions) byOfficialCode(oc string, asOf *time.Time) (indicator.Unit, bool) {
	var best indicator.Unit
	found := false
	for _, i := range d.official[oc] {
		u := d.units[i]
		if asOf != nil {
			if u.ValidAt(*asOf) {
				return u, true
			}
			continue
		}
		if !found || laterValid(u, best) {
			best, found = u, true
		}
	}
	return best, found
}

// laterValid reports whether a's validity ends after b's (an open end is
// latest), or, ending together, starts later.
func laterValid(a, b indicator.Unit) bool {
	switch {
	case a.ValidTo == nil && b.ValidTo != nil:
		return true
	case a.ValidTo != nil && b.ValidTo == nil:
		return false
	case a.ValidTo != nil && !a.ValidTo.Equal(*b.ValidTo):
		return a.ValidTo.After(*b.ValidTo)
	}
	switch {
	case a.ValidFrom == nil || b.ValidFrom == nil:
		return a.ValidFrom != nil
	}
	return a.ValidFrom.After(*b.ValidFrom)
}

// search is a folded query: its words, each of which must occur in one
// of an entry's folded texts. Folding the query once, not once per entry,
// keeps a long search string linear in the catalog.
type search []string

func newSearch(query string) search { return strings.Fields(indicator.Fold(query)) }

// checkEvery is how many entries a search goes through between two
// looks at the context: every entry for a long search, whose words each
// scan an entry's texts.
func (q search) checkEvery() int {
	return max(1, checkEvery/max(1, len(q)/4))
}

func (q search) matches(texts ...string) bool {
	if len(q) == 0 {
		return true
	}
	hay := indicator.Fold(strings.Join(texts, " \x00 "))
	for _, w := range q {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

func (d *dimensions) unitMatches(i int, q search) bool {
	u := d.units[i]
	return q.matches(u.NameVI, u.NameEN, u.Code)
}

func (d *dimensions) indicatorMatches(i int, q search) bool {
	x := d.indicators[i]
	return q.matches(x.NameVI, x.NameEN, x.Code, x.Definition)
}

// checkEvery is how many entries or rows a Go loop over a snapshot goes
// through between two looks at the request's context.
const checkEvery = 256

// ctxErr maps a finished context to the error kinds (nil while it runs).
func ctxErr(ctx context.Context, op string) error {
	switch err := ctx.Err(); {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", op, indicator.ErrTimeout)
	default:
		return fmt.Errorf("%s: canceled: %w", op, context.Canceled)
	}
}

// The engine's view of the dimensions (engine.Catalog).

func (d *dimensions) Unit(code string) (indicator.Unit, bool) { return d.unit(code) }

func (d *dimensions) Children(code string) []indicator.Unit {
	out := make([]indicator.Unit, len(d.children[code]))
	for i, k := range d.children[code] {
		out[i] = d.units[k]
	}
	return out
}

func (d *dimensions) Descendants(code string, level indicator.Level) []indicator.Unit {
	return d.descendants(code, level)
}

func (d *dimensions) Indicator(code string) (indicator.Indicator, bool) {
	i, ok := d.indIndex[code]
	if !ok {
		return indicator.Indicator{}, false
	}
	return d.indicators[i], true
}

func (d *dimensions) Parts(total string) []indicator.Indicator {
	out := make([]indicator.Indicator, len(d.parts[total]))
	for i, k := range d.parts[total] {
		out[i] = d.indicators[k]
	}
	return out
}

func (d *dimensions) Period(label string) (*indicator.Period, bool) {
	p, ok := d.periodAt[label]
	return p, ok
}
