package engine

import (
	"context"
	"slices"
	"sort"
	"time"

	"chiso/indicator"
)

// Matrix returns a units × periods table of one indicator, or a units ×
// indicators table for one period choice (by indicator, each cell is the
// comparison's pick).
//
// Rules: a cell is the unit's canonical value of the kind for the period;
// of several (one per basis), the first of indicator.Bases. Without periods, the
// columns are every single period with data, in time order.
func (e *Engine) Matrix(ctx context.Context, q indicator.MatrixQuery) (indicator.Matrix, error) {
	if q.ByIndicator {
		return e.matrixByIndicator(ctx, q)
	}
	if len(q.Indicators) != 1 {
		return indicator.Matrix{}, indicator.Invalidf("indicators", "a matrix by period takes exactly one indicator (use by: INDICATOR for several)")
	}
	ctx, cat, done, err := e.pin(ctx)
	if err != nil {
		return indicator.Matrix{}, err
	}
	defer done()
	var at *time.Time
	if len(q.Periods) == 1 {
		at = &q.Periods[0].Start
	}
	units, err := resolveSet(cat, q.Units, "units", at, e.today())
	if err != nil {
		return indicator.Matrix{}, err
	}
	x, err := knownIndicators(cat, q.Indicators, "indicators")
	if err != nil {
		return indicator.Matrix{}, err
	}
	q.Indicators = codesOf(x)
	labels := make([]string, len(q.Periods))
	for i, p := range q.Periods {
		labels[i] = p.Label
	}
	series, err := e.rows(ctx, RowQuery{Units: units, Indicators: q.Indicators, Kind: kindOrActual(q.Kind), Canonical: true})
	if err != nil {
		return indicator.Matrix{}, err
	}
	var found []*Row
	for _, u := range units {
		rows := series[indicator.SeriesKey{Unit: u, Indicator: q.Indicators[0]}]
		for i := range rows {
			r := &rows[i]
			if len(labels) == 0 && !isRange(r) || len(labels) > 0 && slices.Contains(labels, r.Period.Label) {
				found = append(found, r)
			}
		}
	}
	sort.SliceStable(found, func(a, b int) bool { return periodBefore(found[a].Period, found[b].Period) })
	m := indicator.Matrix{Units: units, Columns: labels, Cells: make([][]*indicator.Observation, len(units))}
	col := map[string]int{}
	for i, l := range labels {
		col[l] = i
	}
	if len(labels) == 0 {
		for _, r := range found {
			if _, ok := col[r.Period.Label]; !ok {
				col[r.Period.Label] = len(m.Columns)
				m.Columns = append(m.Columns, r.Period.Label)
			}
		}
	}
	rowOf := make(map[string]int, len(units))
	for i, u := range units {
		rowOf[u] = i
		m.Cells[i] = make([]*indicator.Observation, len(m.Columns))
	}
	// A cell with several rows (one per basis) shows the first basis of
	// indicator.Bases.
	pick := make(map[[2]int]*Row)
	for _, r := range found {
		k := [2]int{rowOf[r.Unit], col[r.Period.Label]}
		if p, ok := pick[k]; !ok || basisRank(r.Basis) < basisRank(p.Basis) {
			pick[k] = r
		}
	}
	var ids []int64
	for k, r := range pick {
		m.Cells[k[0]][k[1]] = &indicator.Observation{ID: r.ID}
		ids = append(ids, r.ID)
	}
	obs, err := e.observations(ctx, ids...)
	if err != nil {
		return indicator.Matrix{}, err
	}
	for _, row := range m.Cells {
		for j, c := range row {
			if c != nil {
				row[j] = obsPtr(obs, c.ID)
			}
		}
	}
	return m, nil
}

func (e *Engine) matrixByIndicator(ctx context.Context, q indicator.MatrixQuery) (indicator.Matrix, error) {
	cmp, err := e.Compare(ctx, indicator.CompareQuery{Indicators: q.Indicators, Units: q.Units, Period: q.Period, Kind: q.Kind})
	if err != nil {
		return indicator.Matrix{}, err
	}
	m := indicator.Matrix{Columns: q.Indicators}
	rowOf := map[string]int{}
	col := map[string][]int{} // a code asked twice fills both its columns
	for i, c := range q.Indicators {
		col[c] = append(col[c], i)
	}
	for _, r := range cmp.Rows {
		if _, ok := rowOf[r.Unit]; !ok {
			rowOf[r.Unit] = 0
			m.Units = append(m.Units, r.Unit)
		}
	}
	sort.Strings(m.Units) // rows in code order, as by period
	m.Cells = make([][]*indicator.Observation, len(m.Units))
	for i, u := range m.Units {
		rowOf[u] = i
		m.Cells[i] = make([]*indicator.Observation, len(q.Indicators))
	}
	for _, r := range cmp.Rows {
		for _, j := range col[r.Indicator] {
			m.Cells[rowOf[r.Unit]][j] = r.Obs
		}
	}
	return m, nil
}
