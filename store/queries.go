package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"slices"
	"sort"
	"strconv"
	"strings"

	"chiso/indicator"
)

// Check that Store implements the engine interface.
var _ indicator.Reader = (*Store)(nil)

// Units looks units up by code; unknown codes are absent from the map.
func (s *Store) Units(ctx context.Context, codes []string) (map[string]indicator.Unit, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	out := make(map[string]indicator.Unit, len(codes))
	for _, c := range codes {
		if u, ok := sn.dim.unit(c); ok {
			out[c] = u
		}
	}
	return out, nil
}

// Children returns the direct children of each parent, optionally only
// those at level, ordered by code.
func (s *Store) Children(ctx context.Context, parents []string, level indicator.Level) (map[string][]indicator.Unit, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	out := make(map[string][]indicator.Unit, len(parents))
	for _, p := range parents {
		list := []indicator.Unit{}
		for _, i := range sn.dim.children[p] {
			if u := sn.dim.units[i]; level == "" || u.Level == level {
				list = append(list, u)
			}
		}
		out[p] = list
	}
	return out, nil
}

// Ancestors returns each unit's ancestors from the root down.
func (s *Store) Ancestors(ctx context.Context, codes []string) (map[string][]indicator.Unit, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	out := make(map[string][]indicator.Unit, len(codes))
	for _, c := range codes {
		out[c] = sn.dim.ancestors(c)
	}
	return out, nil
}

// Descendants returns each unit's descendants (optionally at one level).
func (s *Store) Descendants(ctx context.Context, codes []string, level indicator.Level) (map[string][]indicator.Unit, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	out := make(map[string][]indicator.Unit, len(codes))
	total := 0
	for _, c := range codes {
		d := sn.dim.descendants(c, level)
		if total += len(d); total > s.opts.MaxRows {
			return nil, indicator.Errorf(indicator.ErrTooLarge, "descendants: more than %d units: ask for one level or a smaller subtree", s.opts.MaxRows)
		}
		out[c] = d
	}
	return out, nil
}

// ListUnits lists units by level, parent and search, ordered by level and
// code, one page at a time.
func (s *Store) ListUnits(ctx context.Context, q indicator.UnitQuery) ([]indicator.Unit, indicator.PageInfo, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, indicator.PageInfo{}, err
	}
	defer done()
	after, err := decodeCursor(q.After, "u", sn.info.Version)
	if err != nil {
		return nil, indicator.PageInfo{}, err
	}
	var match []int
	for i, u := range sn.dim.units {
		if q.Level != "" && u.Level != q.Level {
			continue
		}
		if q.Parent != "" && u.Parent != q.Parent {
			continue
		}
		if q.Search != "" && !sn.dim.unitMatches(i, q.Search) {
			continue
		}
		match = append(match, i)
	}
	page, info := paginate(match, after, q.First, "u", sn.info.Version)
	out := make([]indicator.Unit, len(page))
	for i, idx := range page {
		out[i] = sn.dim.units[idx]
	}
	return out, info, nil
}

// paginate cuts one page of ordered positions after the cursor position.
func paginate(match []int, after int64, first int, kind, version string) ([]int, indicator.PageInfo) {
	first = max(first, 0)
	start := sort.Search(len(match), func(i int) bool { return int64(match[i]) > after })
	rest := match[start:]
	info := indicator.PageInfo{TotalCount: len(match)}
	if len(rest) > first {
		rest, info.HasNextPage = rest[:first], true
	}
	for _, i := range rest {
		info.Cursors = append(info.Cursors, encodeCursor(kind, version, int64(i)))
	}
	if len(rest) > 0 {
		info.EndCursor = info.Cursors[len(rest)-1]
	}
	return rest, info
}

// Indicators looks indicators up by code.
func (s *Store) Indicators(ctx context.Context, codes []string) (map[string]indicator.Indicator, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	out := make(map[string]indicator.Indicator, len(codes))
	for _, c := range codes {
		if i, ok := sn.dim.indIndex[c]; ok {
			out[c] = sn.dim.indicators[i]
		}
	}
	return out, nil
}

// Parts returns the indicators that are breakdowns of each total.
func (s *Store) Parts(ctx context.Context, totals []string) (map[string][]indicator.Indicator, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	out := make(map[string][]indicator.Indicator, len(totals))
	for _, t := range totals {
		list := []indicator.Indicator{}
		for _, i := range sn.dim.parts[t] {
			list = append(list, sn.dim.indicators[i])
		}
		out[t] = list
	}
	return out, nil
}

// ListIndicators lists indicators by theme, search and data presence.
func (s *Store) ListIndicators(ctx context.Context, q indicator.IndicatorQuery) ([]indicator.Indicator, indicator.PageInfo, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, indicator.PageInfo{}, err
	}
	defer done()
	after, err := decodeCursor(q.After, "i", sn.info.Version)
	if err != nil {
		return nil, indicator.PageInfo{}, err
	}
	var with map[string]bool
	if q.HasDataFor != "" {
		m, err := s.unitIndicators(ctx, sn, []string{q.HasDataFor})
		if err != nil {
			return nil, indicator.PageInfo{}, err
		}
		with = map[string]bool{}
		for _, c := range m[q.HasDataFor] {
			with[c] = true
		}
	}
	var match []int
	for i, ind := range sn.dim.indicators {
		if q.Theme != "" && ind.Theme != q.Theme {
			continue
		}
		if with != nil && !with[ind.Code] {
			continue
		}
		if q.Search != "" && !sn.dim.indicatorMatches(i, q.Search) {
			continue
		}
		match = append(match, i)
	}
	page, info := paginate(match, after, q.First, "i", sn.info.Version)
	out := make([]indicator.Indicator, len(page))
	for i, idx := range page {
		out[i] = sn.dim.indicators[idx]
	}
	return out, info, nil
}

// UnitIndicators returns, per unit, the codes of indicators with data.
func (s *Store) UnitIndicators(ctx context.Context, units []string) (map[string][]string, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return s.unitIndicators(ctx, sn, units)
}

func (s *Store) unitIndicators(ctx context.Context, sn *snapshot, units []string) (map[string][]string, error) {
	if p := sn.pts.Load(); p != nil {
		return p.indicatorsOf(sn.dim, units), nil
	}
	out := make(map[string][]string, len(units))
	for _, u := range units {
		out[u] = []string{}
	}
	err := s.query(ctx, sn, "store: unit indicators",
		`SELECT DISTINCT unit, indicator FROM observations WHERE unit IN (SELECT unnest(?::VARCHAR[])) ORDER BY unit, indicator`,
		[]any{units}, func(r *sql.Rows) error {
			var u, i string
			if err := r.Scan(&u, &i); err != nil {
				return err
			}
			out[u] = append(out[u], i)
			return nil
		})
	return out, err
}

// Coverage returns, per indicator, its observation count and the units
// and periods it has data for.
func (s *Store) Coverage(ctx context.Context, inds []string) (map[string]indicator.Coverage, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if p := sn.pts.Load(); p != nil {
		return p.coverageOf(sn.dim, inds), nil
	}
	out := make(map[string]indicator.Coverage, len(inds))
	asked := map[string]string{} // an alias asked for -> its code
	codes := make([]string, len(inds))
	for i, c := range inds {
		codes[i] = sn.dim.indicatorCode(c)
		if codes[i] != c {
			asked[c] = codes[i]
		}
		out[codes[i]] = indicator.Coverage{Units: []string{}, Periods: []indicator.Period{}}
	}
	defer func() {
		for a, c := range asked {
			out[a] = out[c]
		}
	}()
	st := coverageStmt(codes)
	err = s.query(ctx, sn, "store: coverage", st.String(), st.Args(), func(r *sql.Rows) error {
		var code string
		var n int
		var units, periods []any
		if err := r.Scan(&code, &n, &units, &periods); err != nil {
			return err
		}
		cv := indicator.Coverage{Observations: n, Units: make([]string, 0, len(units))}
		for _, u := range units {
			cv.Units = append(cv.Units, u.(string))
		}
		for _, p := range periods {
			cv.Periods = append(cv.Periods, sn.dim.periods[p.(string)])
		}
		indicator.SortPeriods(cv.Periods)
		out[code] = cv
		return nil
	})
	return out, err
}

// coverageStmt counts the observations of the indicators codes, with
// their units and periods.
func coverageStmt(codes []string) *sqlb {
	var b sqlb
	b.SQL(`SELECT indicator, count(*), list(DISTINCT unit ORDER BY unit), list(DISTINCT period)
		FROM observations WHERE indicator IN (` + b.In(codes) + `) GROUP BY indicator`)
	return &b
}

const obsColumns = `id, unit, indicator, period, kind, value, denominator, qualifier, flags, methodology, source, line, raw, note, canonical, basis`

// scanObservation reads the obsColumns of a row, after any prefix
// destinations; ok is false when the row carries no observation (the
// count-only row of an empty page).
func scanObservation(r *sql.Rows, dim *dimensions, prefix ...any) (o indicator.Observation, ok bool, err error) {
	var id sql.NullInt64
	var unit, ind, period, kind, flags, src, qual, meth, raw, note sql.NullString
	var value, den sql.NullFloat64
	var line sql.NullInt32
	var canonical sql.NullBool
	var basis sql.NullString
	dest := append(prefix, &id, &unit, &ind, &period, &kind, &value, &den, &qual, &flags, &meth, &src, &line, &raw, &note, &canonical, &basis)
	if err := r.Scan(dest...); err != nil || !id.Valid {
		return o, false, err
	}
	o = indicator.Observation{
		ID: id.Int64, Unit: unit.String, Indicator: ind.String, Period: dim.periods[period.String],
		Kind: indicator.ObservationKind(kind.String), Value: value.Float64, Qualifier: qual.String,
		Methodology: meth.String, Source: src.String, Line: int(line.Int32), Raw: raw.String, Note: note.String,
		Flags: []string{}, Canonical: canonical.Bool, Basis: indicator.Basis(basis.String),
	}
	if den.Valid {
		d := den.Float64
		o.Denominator = &d
	}
	for _, f := range strings.Split(flags.String, ";") {
		if f != "" {
			o.Flags = append(o.Flags, f)
		}
	}
	return o, true, nil
}

// Series returns the observations of each (unit, indicator) pair, ordered
// by period, kind and id; kinds filters when non-empty.
func (s *Store) Series(ctx context.Context, keys []indicator.SeriesKey, kinds []indicator.ObservationKind) (map[indicator.SeriesKey][]indicator.Observation, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if p := sn.pts.Load(); p != nil {
		return p.seriesOf(sn.dim, keys, kinds, s.opts.MaxRows)
	}
	out := make(map[indicator.SeriesKey][]indicator.Observation, len(keys))
	asked, keys := sn.dim.canonicalKeys(keys)
	for _, k := range keys {
		out[k] = []indicator.Observation{}
	}
	st := seriesStmt(keys, kinds)
	err = s.query(ctx, sn, "store: series", st.String(), st.Args(), func(r *sql.Rows) error {
		o, _, err := scanObservation(r, sn.dim)
		if err != nil {
			return err
		}
		k := indicator.SeriesKey{Unit: o.Unit, Indicator: o.Indicator}
		out[k] = append(out[k], o)
		return nil
	})
	for a, k := range asked {
		out[a] = out[k]
	}
	return out, err
}

// seriesStmt reads the observations of series keys (canonical codes),
// of kinds when any. The statement's text follows the request's shape, so
// each shape plans only what it needs: one series (a root field) by
// equality, several (a batch) by their pairs; a kind filter only when
// asked for.
func seriesStmt(keys []indicator.SeriesKey, kinds []indicator.ObservationKind) *sqlb {
	var b sqlb
	var conds []string
	if len(keys) == 1 {
		conds = append(conds, "unit = "+b.Arg(keys[0].Unit)+"::VARCHAR", "indicator = "+b.Arg(keys[0].Indicator)+"::VARCHAR")
	} else {
		us, is := make([]string, len(keys)), make([]string, len(keys))
		for i, k := range keys {
			us[i], is[i] = k.Unit, k.Indicator
		}
		conds = append(conds, "(unit, indicator) IN (SELECT unnest("+b.Arg(us)+"::VARCHAR[]), unnest("+b.Arg(is)+"::VARCHAR[]))",
			"indicator IN ("+b.In(distinctIndicators(keys))+")")
	}
	if len(kinds) > 0 {
		ks := make([]string, len(kinds))
		for i, k := range kinds {
			ks[i] = string(k)
		}
		conds = append(conds, "kind IN ("+b.In(ks)+")")
	}
	b.SQL(`SELECT ` + obsColumns + ` FROM observations`).Where(conds...).SQL(`
		ORDER BY unit, indicator, period_start, period_end, kind, id`)
	return &b
}

// levelsCond is a condition on observations' level_rank that keeps the
// rows of units at the given level ranks, as constants so that the scan
// applies it before reading other columns (see sortSQL). With no rank,
// nothing matches.
func levelsCond(b *sqlb, ranks []int) string {
	if len(ranks) == 0 {
		return "false"
	}
	return "level_rank IN (" + b.Ints(ranks) + ")"
}

// levelRanks appends the level ranks of the known units among codes
// (unknown codes have no rows); levelsCond drops the repeats.
func levelRanks(ranks []int, dim *dimensions, codes []string) []int {
	for _, c := range codes {
		if u, ok := dim.unit(c); ok {
			ranks = append(ranks, u.Level.Rank())
		}
	}
	return ranks
}

// maxUnitList is the longest unit list the observations table filters
// with a list lookup per row; longer lists are joined.
const maxUnitList = 64

// Observations returns one page of the filtered observations table,
// ordered by id (indicator, level, unit, period), with the total count.
func (s *Store) Observations(ctx context.Context, q indicator.ObservationQuery) ([]indicator.Observation, indicator.PageInfo, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, indicator.PageInfo{}, err
	}
	defer done()
	after, err := decodeCursor(q.After, "o", sn.info.Version)
	if err != nil {
		return nil, indicator.PageInfo{}, err
	}
	q.First = max(q.First, 0)
	if len(q.Indicators) > 0 {
		codes := make([]string, len(q.Indicators))
		for i, c := range q.Indicators {
			codes[i] = sn.dim.indicatorCode(c)
		}
		q.Indicators = codes
	}
	if p := sn.pts.Load(); p != nil {
		obs, total := p.page(sn.dim, q, after, q.First+1)
		return pageOf(obs, total, q.First, sn.info.Version)
	}
	st := observationsStmt(q, after)
	var obs []indicator.Observation
	info := indicator.PageInfo{}
	err = s.query(ctx, sn, "store: observations", st.String(), st.Args(), func(r *sql.Rows) error {
		var total int
		o, ok, err := scanObservation(r, sn.dim, &total)
		if err != nil {
			return err
		}
		info.TotalCount = total
		if !ok {
			return nil
		}
		obs = append(obs, o)
		return nil
	})
	if err != nil {
		return nil, indicator.PageInfo{}, err
	}
	return pageOf(obs, info.TotalCount, q.First, sn.info.Version)
}

// observationsStmt reads the page of q (First at least 0, indicators by
// code) after id after, one more row than asked, with the total count.
func observationsStmt(q indicator.ObservationQuery, after int64) *sqlb {
	// The page is read in the table's own (id) order, without sorting what
	// matches, when every condition is a plain predicate on one table:
	// DuckDB then keeps insertion order through the filter and the LIMIT
	// (see compactSQL). A long unit list is a semi-join, which does not
	// keep order, so that page is sorted instead.
	var b sqlb
	var conds []string
	inOrder := true
	filter := func(col string, vals []string) {
		c := b.Ident(col)
		switch {
		case len(vals) == 1:
			conds = append(conds, c+" = "+b.Arg(vals[0])+"::VARCHAR")
		case len(vals) > 1: // the range prunes row groups; the list decides
			lo, hi := slices.Min(vals), slices.Max(vals)
			conds = append(conds, c+" BETWEEN "+b.Arg(lo)+"::VARCHAR AND "+b.Arg(hi)+"::VARCHAR AND list_contains("+b.Arg(vals)+"::VARCHAR[], "+c+")")
		}
	}
	if len(q.Units) > maxUnitList {
		conds = append(conds, "unit IN (SELECT unnest("+b.Arg(q.Units)+"::VARCHAR[]))")
		inOrder = false
	} else {
		filter("unit", q.Units)
	}
	filter("indicator", q.Indicators)
	filter("source", q.Sources)
	kinds := make([]string, len(q.Kinds))
	for i, k := range q.Kinds {
		kinds[i] = string(k)
	}
	filter("kind", kinds)
	if q.From != nil {
		conds = append(conds, "period_start >= "+b.Arg(q.From.Start))
	}
	if q.To != nil {
		conds = append(conds, "period_end <= "+b.Arg(q.To.End))
	}
	cond := b.And(conds...)
	order := ""
	if !inOrder {
		order = " ORDER BY id"
	}
	// One statement: the filtered set's count joined to the page, so an
	// empty page still reports the total. The count reads only the
	// filtered columns; the page reads its rows' columns. The condition's
	// placeholders serve both.
	b.SQL(`WITH c AS (SELECT count(*) AS total FROM observations WHERE ` + cond + `),
		p AS (SELECT * FROM observations WHERE ` + cond + ` AND id > ` + b.Arg(after) + order + ` LIMIT ` + b.Arg(q.First+1) + `)
		SELECT c.total, p.id, p.unit, p.indicator, p.period, p.kind, p.value, p.denominator, p.qualifier, p.flags,
			p.methodology, p.source, p.line, p.raw, p.note, p.canonical, p.basis
		FROM c LEFT JOIN p ON true ORDER BY p.id`)
	return &b
}

// pageOf makes a page of the first rows read (one more than asked, to
// know whether another page follows).
func pageOf(obs []indicator.Observation, total, first int, version string) ([]indicator.Observation, indicator.PageInfo, error) {
	info := indicator.PageInfo{TotalCount: total}
	if len(obs) > first {
		obs, info.HasNextPage = obs[:first], true
	}
	for _, o := range obs {
		info.Cursors = append(info.Cursors, encodeCursor("o", version, o.ID))
	}
	if len(obs) > 0 {
		info.EndCursor = info.Cursors[len(obs)-1]
	}
	return obs, info, nil
}

// Sources looks sources up by id.
func (s *Store) Sources(ctx context.Context, ids []string) (map[string]indicator.Source, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	out := make(map[string]indicator.Source, len(ids))
	for _, id := range ids {
		if i, ok := sn.dim.srcIndex[id]; ok {
			out[id] = sn.dim.sources[i]
		}
	}
	return out, nil
}

// ListSources returns every source, ordered by id.
func (s *Store) ListSources(ctx context.Context) ([]indicator.Source, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return append([]indicator.Source(nil), sn.dim.sources...), nil
}

// distinctIndicators lists the indicators of series keys once each.
func distinctIndicators(keys []indicator.SeriesKey) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		if !seen[k.Indicator] {
			seen[k.Indicator] = true
			out = append(out, k.Indicator)
		}
	}
	return out
}

// Cursors are opaque to clients: base64 of kind, dataset version and key.
// A cursor from another dataset version or another list is refused, so a
// reload never silently shifts a client's pagination.
func encodeCursor(kind, version string, key int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + shortVersion(version) + ":" + strconv.FormatInt(key, 10)))
}

func decodeCursor(c, kind, version string) (int64, error) {
	if c == "" {
		return -1, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	parts := strings.Split(string(raw), ":")
	if err != nil || len(parts) != 3 || parts[0] != kind {
		return 0, indicator.Invalidf("after", "not a cursor of this list")
	}
	if parts[1] != shortVersion(version) {
		return 0, indicator.Invalidf("after", "cursor is from dataset version %s, now serving %s; start again without after", parts[1], shortVersion(version))
	}
	key, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || key < 0 {
		// Positions start at 0: a negative one is forged, not a way back
		// to the first page.
		return 0, indicator.Invalidf("after", "not a cursor of this list")
	}
	return key, nil
}

func shortVersion(v string) string {
	if len(v) > 12 {
		return v[:12]
	}
	return v
}

// observationsByID fetches observations by id in one statement.
func (s *Store) observationsByID(ctx context.Context, sn *snapshot, ids []int64) (map[int64]indicator.Observation, error) {
	out := make(map[int64]indicator.Observation, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	if p := sn.pts.Load(); p != nil {
		return p.byID(sn.dim, ids), nil
	}
	// ids are sorted in the table: the BETWEEN lets DuckDB skip row groups
	// by their min/max.
	lo, hi := ids[0], ids[0]
	for _, id := range ids {
		lo, hi = min(lo, id), max(hi, id)
	}
	err := s.query(ctx, sn, "store: observations by id",
		`SELECT `+obsColumns+` FROM observations
		WHERE id BETWEEN ?::BIGINT AND ?::BIGINT AND id IN (SELECT unnest(?::BIGINT[]))`, []any{lo, hi, ids},
		func(r *sql.Rows) error {
			o, _, err := scanObservation(r, sn.dim)
			out[o.ID] = o
			return err
		})
	return out, err
}

// ObservationsByID fetches observations by id (for provenance of computed
// values).
func (s *Store) ObservationsByID(ctx context.Context, ids []int64) (map[int64]indicator.Observation, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return s.observationsByID(ctx, sn, ids)
}
