package store

import (
	"context"
	"database/sql"
	"slices"

	"chiso/engine"
	"chiso/indicator"
)

var _ engine.Source = (*Store)(nil)

// Catalog is the pinned snapshot's dimensions (engine.Source).
func (s *Store) Catalog(ctx context.Context) (engine.Catalog, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return sn.dim, nil
}

// Rows reads the rows of q for the engine, from the point index when the
// snapshot has one, else in one statement (engine.Source).
func (s *Store) Rows(ctx context.Context, q engine.RowQuery, each func([]engine.Row) error) error {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return err
	}
	defer done()
	if p := sn.pts.Load(); p != nil {
		return p.rows(sn.dim, q, each)
	}
	st := rowsStmt(q, levelRanks(nil, sn.dim, q.Units))
	// Rows come in id order, so each series' rows together.
	var series []engine.Row
	err = s.query(ctx, sn, "store: rows", st.String(), st.Args(), func(rows *sql.Rows) error {
		var r engine.Row
		var period, kind string
		var basis, meth sql.NullString
		if err := rows.Scan(&r.ID, &r.Unit, &r.Indicator, &period, &r.Pos, &r.EndPos, &kind, &r.Value, &basis, &meth, &r.Flags, &r.Canonical); err != nil {
			return err
		}
		r.Period, r.PeriodNo = sn.dim.periodAt[period], sn.dim.periodNo[period]
		r.Kind, r.Basis, r.Methodology = indicator.ObservationKind(kind), indicator.Basis(basis.String), meth.String
		if n := len(series); n > 0 && (series[n-1].Unit != r.Unit || series[n-1].Indicator != r.Indicator) {
			if err := each(series); err != nil {
				return err
			}
			series = series[:0]
		}
		series = append(series, r)
		return nil
	})
	if err != nil || len(series) == 0 {
		return err
	}
	return each(series)
}

// rowsStmt reads the rows of q in id order; ranks are the level ranks of
// q's units, which prune the scan.
func rowsStmt(q engine.RowQuery, ranks []int) *sqlb {
	var b sqlb
	var conds []string
	if q.Indicators != nil {
		conds = append(conds, "indicator IN ("+b.In(q.Indicators)+")")
	}
	if q.Units != nil {
		conds = append(conds, levelsCond(&b, ranks), "unit IN (SELECT unnest("+b.Arg(q.Units)+"::VARCHAR[]))")
	}
	if q.Kind != "" {
		conds = append(conds, "kind = "+b.Arg(string(q.Kind)))
	}
	if q.Canonical {
		conds = append(conds, "canonical")
	}
	b.SQL(`SELECT id, unit, indicator, period, pos, end_pos, kind, value, basis, methodology, flags, canonical FROM observations`).
		Where(conds...).SQL(" ORDER BY id")
	return &b
}

// rows answers engine reads from the index: each series' rows in id
// order, series by series.
func (p *points) rows(dim *dimensions, q engine.RowQuery, each func([]engine.Row) error) error {
	kindCode := -1
	if q.Kind != "" {
		if kindCode = p.kind.code(string(q.Kind)); kindCode < 0 {
			return nil
		}
	}
	var inds map[int32]bool
	if q.Indicators != nil {
		inds = make(map[int32]bool, len(q.Indicators))
		for _, c := range q.Indicators {
			if x, ok := dim.indIndex[c]; ok {
				inds[int32(x)] = true
			}
		}
	}
	var series []engine.Row
	emit := func(s span) error {
		series = series[:0]
		unit, ind := dim.units[s.unit].Code, dim.indicators[s.ind].Code
		for id := s.lo; id <= s.hi; id++ {
			i := id - 1
			if kindCode >= 0 && int(p.kind.codes[i]) != kindCode || q.Canonical && !bit(p.canonical, i) {
				continue
			}
			c := p.period.codes[i]
			series = append(series, engine.Row{ID: id, Unit: unit, Indicator: ind,
				Period: p.periodPtr[c], PeriodNo: p.periodNo[c], Pos: p.pos[c], EndPos: p.endPos[c],
				Kind: indicator.ObservationKind(p.kind.at(i)), Value: p.value[i], Basis: indicator.Basis(p.basis.at(i)),
				Methodology: p.meth.at(i), Flags: p.flags.at(i), Canonical: bit(p.canonical, i)})
		}
		if len(series) == 0 {
			return nil
		}
		return each(series)
	}
	if q.Units == nil {
		for _, s := range p.spans {
			if inds == nil || inds[s.ind] {
				if err := emit(s); err != nil {
					return err
				}
			}
		}
		return nil
	}
	seen := make(map[int]bool, len(q.Units))
	for _, c := range q.Units {
		u, ok := dim.unitIndex[c]
		if !ok || seen[u] {
			continue
		}
		seen[u] = true
		if q.Indicators != nil && len(q.Indicators) <= 8 {
			// A few indicators: look each series up (a binary search in
			// the unit's series) rather than walk all of them.
			var done [8]int32
			n := 0
			for _, x := range q.Indicators {
				s, ok := p.lookup(dim, indicator.SeriesKey{Unit: c, Indicator: x})
				if !ok || slices.Contains(done[:n], s.ind) {
					continue // none, or asked twice (a code and its alias)
				}
				done[n], n = s.ind, n+1
				if err := emit(s); err != nil {
					return err
				}
			}
			continue
		}
		for _, k := range p.byUnit[u] {
			if s := p.spans[k]; inds == nil || inds[s.ind] {
				if err := emit(s); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
