package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"chiso/indicator"
)

// The cost model. A request's cost estimates the work it asks for, in
// units of about one row read or one value written, before any of it is
// done:
//
//   - every field costs 1, plus its children's cost times its fan-out;
//   - a list field's fan-out is its page size (`first`, else the default
//     page) for connections, the catalog's size for a catalog list
//     (sources), and a fixed estimate for nested lists (fanOut);
//   - an analytic (compare, rollup, progress, reconcile, matrix, trend,
//     change) costs analyticBase (its fixed work: pin, catalog, an
//     observation fetch) plus the rows it can read: the size of its unit
//     set (resolved from the catalog: codes, childrenOf, under, level) ×
//     its indicators (the catalog's count when not given) × seriesRows,
//     at most the dataset's observations; its fan-out is the rows it can
//     answer (units × indicators for compare, × periods for matrix and
//     rollup), so the fields selected in each row multiply;
//   - a search costs the catalog it scans times its length (searchUnit
//     bytes a unit).
//
// Fragments are costed once each and reused wherever they are spread, so
// the walk is linear in the document, however deeply fragments nest; a
// fragment spread twice in one selection counts once, as its fields
// merge.
const (
	analyticBase = 100 // fixed work of one analytic
	seriesRows   = 20  // rows assumed in one series (periods × kinds)
	defaultFan   = 20  // fan-out of a nested list without an estimate below
	searchUnit   = 64  // search bytes per catalog scan
	costCap      = 1 << 50
)

// fanOut estimates the length of nested lists by Type.field.
var fanOut = map[string]int{
	"Unit.children":               20,
	"Unit.descendants":            200,
	"Unit.ancestors":              5,
	"Unit.indicators":             50,
	"Series.observations":         seriesRows,
	"Indicator.aliases":           5,
	"Indicator.parts":             10,
	"Coverage.units":              200,
	"Coverage.periods":            seriesRows,
	"Observation.flags":           5,
	"Observation.alternatives":    5,
	"Trend.points":                seriesRows,
	"RollupRow.inputs":            defaultFan,
	"RollupCoverage.missing":      defaultFan,
	"Reconciliation.inputs":       10,
	"Change.warnings":             5,
	"Comparison.periods":          seriesRows,
	"Dataset.origins":             5,
	"UnitConnection.edges":        1, // the page size is the connection's fan-out
	"UnitConnection.nodes":        1,
	"IndicatorConnection.edges":   1,
	"IndicatorConnection.nodes":   1,
	"ObservationConnection.edges": 1,
	"ObservationConnection.nodes": 1,
	"Comparison.rows":             1, // the analytic's fan-out counts its rows
	"Matrix.rows":                 1,
	"Matrix.columns":              1,
	"Matrix.cells":                1,
}

// Cost is what the walk found in an operation.
type Cost struct {
	Cost       int // estimated work, see the cost model above
	Depth      int // deepest field nesting, introspection excluded
	RootFields int // fields at the root, fragments expanded
	Aliases    int // aliased fields, fragments expanded
	Visited    int // selections the walk looked at (linear in the document)
}

// sizes are the catalog sizes the cost model reads, resolved once per
// request and per unit set.
type sizes struct {
	ctx     context.Context
	eng     indicator.Engine
	info    *indicator.DatasetInfo
	unitSet map[string]int
}

func (s *sizes) dataset() indicator.DatasetInfo {
	if s.info == nil {
		info, err := s.eng.Dataset(s.ctx)
		if err != nil {
			info = indicator.DatasetInfo{} // sizes unknown: the smallest bounds, the request fails on its own
		}
		s.info = &info
	}
	return *s.info
}

// units is the size of a UnitSetInput argument: codes count themselves,
// childrenOf and under are counted in the catalog, a level alone counts
// the units at it.
func (s *sizes) units(v any) int {
	m, _ := v.(map[string]any)
	if m == nil {
		return 0
	}
	key := fmt.Sprint(m["codes"], "|", m["childrenOf"], "|", m["under"], "|", m["level"])
	if n, ok := s.unitSet[key]; ok {
		return n
	}
	level := indicator.Level("")
	if l, ok := m["level"].(string); ok {
		level = indicator.Level(strings.ToLower(l))
	}
	n := len(listArg(m["codes"]))
	code := func(k string) string { c, _ := m[k].(string); return c }
	switch {
	case code("childrenOf") != "":
		c := code("childrenOf")
		if ch, err := s.eng.Children(s.ctx, []string{c}, level, nil); err == nil {
			n += len(ch[c])
		}
	case code("under") != "":
		c := code("under")
		if d, err := s.eng.Descendants(s.ctx, []string{c}, level, nil); err == nil {
			n += len(d[c])
		}
	case level != "" && n == 0:
		if _, info, err := s.eng.ListUnits(s.ctx, indicator.UnitQuery{Level: level}); err == nil {
			n = info.TotalCount
		}
	}
	if s.unitSet == nil {
		s.unitSet = map[string]int{}
	}
	s.unitSet[key] = n
	return n
}

func listArg(v any) []any { l, _ := v.([]any); return l }

// add and mul saturate at costCap, so no estimate overflows.
func add(a, b int) int { return min(a+b, costCap) }

func mul(a, b int) int {
	if a == 0 || b == 0 {
		return 0
	}
	if a > costCap/b {
		return costCap
	}
	return a * b
}

// costWalk computes an operation's Cost bottom-up, each fragment once.
type costWalk struct {
	sizes
	vars     map[string]any
	pageSize func(first any) int
	frags    map[string]*Cost
	visited  int
}

// measure walks op.
func (w *costWalk) measure(op *ast.OperationDefinition) Cost {
	c := w.set(op.SelectionSet)
	c.Visited = w.visited
	return c
}

func (w *costWalk) set(set ast.SelectionSet) Cost {
	var c Cost
	var spread map[string]bool
	for _, sel := range set {
		w.visited++
		var sub Cost
		switch s := sel.(type) {
		case *ast.Field:
			sub = w.field(s)
		case *ast.InlineFragment:
			sub = w.set(s.SelectionSet)
		case *ast.FragmentSpread:
			// A fragment spread twice in one selection adds its fields
			// once (GraphQL merges them).
			if spread[s.Name] {
				continue
			}
			if spread == nil {
				spread = map[string]bool{}
			}
			spread[s.Name] = true
			sub = w.fragment(s)
		}
		c.Cost = add(c.Cost, sub.Cost)
		c.Depth = max(c.Depth, sub.Depth)
		c.RootFields = add(c.RootFields, sub.RootFields)
		c.Aliases = add(c.Aliases, sub.Aliases)
	}
	return c
}

func (w *costWalk) fragment(s *ast.FragmentSpread) Cost {
	if c, ok := w.frags[s.Name]; ok {
		return *c
	}
	if s.Definition == nil {
		return Cost{}
	}
	w.frags[s.Name] = &Cost{} // a cycle (refused by validation) costs nothing more
	c := w.set(s.Definition.SelectionSet)
	w.frags[s.Name] = &c
	return c
}

// field is one field's Cost: RootFields is 1 (the caller's level counts
// it), Depth its nesting.
func (w *costWalk) field(f *ast.Field) Cost {
	sub := w.set(f.SelectionSet)
	own, fan := w.fieldCost(f)
	c := Cost{Cost: add(own, mul(fan, sub.Cost)), RootFields: 1, Aliases: sub.Aliases}
	if f.Alias != "" && f.Alias != f.Name {
		c.Aliases = add(c.Aliases, 1)
	}
	if !strings.HasPrefix(f.Name, "__") {
		c.Depth = sub.Depth + 1
	}
	return c
}

// fieldCost is a field's own cost and the fan-out its children's cost is
// multiplied by.
func (w *costWalk) fieldCost(f *ast.Field) (own, fan int) {
	own, fan = 1, 1
	if f.Definition == nil || f.ObjectDefinition == nil {
		return own, fan
	}
	isList := f.Definition.Type != nil && f.Definition.Type.Elem != nil
	if isList {
		fan = defaultFan
		if n, ok := fanOut[f.ObjectDefinition.Name+"."+f.Name]; ok {
			fan = n
		}
	}
	if f.ObjectDefinition.Name != "Query" {
		if f.ObjectDefinition.Name == "Unit" && f.Name == "series" {
			own = seriesRows
		}
		return own, fan
	}
	args := f.ArgumentMap(w.vars)
	ds := w.dataset()
	rows := func(units, inds int) int { return min(mul(mul(units, inds), seriesRows), max(ds.Observations, 1)) }
	inds := func() int {
		if n := len(listArg(args["indicators"])); n > 0 {
			return n
		}
		return ds.Indicators
	}
	search := func(catalog int) int {
		s, _ := args["search"].(string)
		if s == "" {
			return 0
		}
		return mul(catalog, 1+len(s)/searchUnit)
	}
	switch f.Name {
	case "units":
		return 1 + search(ds.Units), w.pageSize(args["first"])
	case "indicators":
		return 1 + search(ds.Indicators), w.pageSize(args["first"])
	case "observations":
		return 10, w.pageSize(args["first"])
	case "sources":
		return 1, max(ds.Sources, 1)
	case "series":
		return seriesRows, 1
	case "trend", "change":
		return analyticBase + seriesRows, 1
	case "compare":
		u, i := w.units(args["units"]), inds()
		return add(analyticBase, rows(u, i)), max(mul(u, i), 1)
	case "matrix":
		u, i := w.units(args["units"]), inds()
		p := len(listArg(args["periods"]))
		if p == 0 {
			p = seriesRows
		}
		return add(analyticBase, rows(u, i)), max(mul(mul(u, i), p), 1)
	case "rollup":
		u := w.units(args["units"])
		p := len(listArg(args["periods"]))
		if p == 0 {
			p = seriesRows
		}
		// A row per unit and period, read from the unit's children and up
		// to two indicators the rule depends on.
		read := min(mul(mul(add(u, mul(u, fanOut["Unit.children"])), 3), seriesRows), max(ds.Observations, 1))
		return add(analyticBase, read), max(mul(u, p), 1)
	case "progress":
		u, i := len(listArg(args["units"])), inds()
		r := rows(u, i)
		return add(analyticBase, r), max(min(mul(u, i), r), 1)
	case "reconcile":
		u := len(listArg(args["units"]))
		if u == 0 {
			u = ds.Units
		}
		r := rows(u, ds.Indicators)
		return add(analyticBase, r), max(min(mul(u, seriesRows), r), 1)
	}
	return own, fan
}
