package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

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

// UnitsByOfficialCode looks units up by official code, valid at asOf (nil:
// the one valid latest); codes with no such unit are absent.
func (s *Store) UnitsByOfficialCode(ctx context.Context, codes []string, asOf *time.Time) (map[string]indicator.Unit, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	out := make(map[string]indicator.Unit, len(codes))
	for _, c := range codes {
		if u, ok := sn.dim.byOfficialCode(c, asOf); ok {
			out[c] = u
		}
	}
	return out, nil
}

// UnitChanges returns each known unit's changes (as predecessor or
// successor), ordered by date, predecessor and successor.
func (s *Store) UnitChanges(ctx context.Context, codes []string) (map[string][]indicator.UnitChange, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	out := make(map[string][]indicator.UnitChange, len(codes))
	for _, c := range codes {
		if _, ok := sn.dim.unitIndex[c]; !ok {
			continue
		}
		list := make([]indicator.UnitChange, 0, len(sn.dim.changesOf[c]))
		for _, i := range sn.dim.changesOf[c] {
			list = append(list, sn.dim.changes[i])
		}
		out[c] = list
	}
	return out, nil
}

// Children returns the direct children of each parent valid at asOf (all
// if nil), optionally only those at level, ordered by code.
func (s *Store) Children(ctx context.Context, parents []string, level indicator.Level, asOf *time.Time) (map[string][]indicator.Unit, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	out := make(map[string][]indicator.Unit, len(parents))
	for _, p := range parents {
		list := []indicator.Unit{}
		for _, i := range sn.dim.children[p] {
			if u := sn.dim.units[i]; (level == "" || u.Level == level) && (asOf == nil || u.ValidAt(*asOf)) {
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

// Descendants returns each unit's descendants in the tree valid at asOf
// (all if nil), optionally at one level.
func (s *Store) Descendants(ctx context.Context, codes []string, level indicator.Level, asOf *time.Time) (map[string][]indicator.Unit, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	out := make(map[string][]indicator.Unit, len(codes))
	total := 0
	for _, c := range codes {
		d := sn.dim.descendantsAsOf(c, level, asOf)
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
	w, err := pageWindow(q.Page, "u", sn.info.Version)
	if err != nil {
		return nil, indicator.PageInfo{}, err
	}
	words := newSearch(q.Search)
	match, err := matching(ctx, sn.dim.units, words.checkEvery(), "units", func(i int, u indicator.Unit) bool {
		return (q.Level == "" || u.Level == q.Level) &&
			(q.Parent == "" || u.Parent == q.Parent) &&
			(q.AsOf == nil || u.ValidAt(*q.AsOf)) &&
			(q.OfficialCode == "" || u.OfficialCode == q.OfficialCode) &&
			(q.Search == "" || sn.dim.unitMatches(i, words))
	})
	if err != nil {
		return nil, indicator.PageInfo{}, err
	}
	page, info := paginate(match, w, "u", sn.info.Version)
	out := make([]indicator.Unit, len(page))
	for i, idx := range page {
		out[i] = sn.dim.units[idx]
	}
	return out, info, nil
}

// matching lists the positions of the items keep takes, in order,
// checking every step items whether the request (listing what) has
// ended.
func matching[T any](ctx context.Context, items []T, step int, what string, keep func(i int, x T) bool) ([]int, error) {
	var match []int
	for i, x := range items {
		if i%step == 0 {
			if err := ctxErr(ctx, what); err != nil {
				return nil, err
			}
		}
		if keep(i, x) {
			match = append(match, i)
		}
	}
	return match, nil
}

// window is a page's bounds in a list ordered by key: the keys strictly
// between lo and hi, the first n of them or, backward, the last n.
type window struct {
	lo, hi   int64 // -1 and math.MaxInt64 when unbounded
	n        int
	backward bool
}

// pageWindow decodes a page's cursors (after and before) into its window.
func pageWindow(p indicator.Page, kind, version string) (window, error) {
	w := window{n: max(p.First, 0), backward: p.Backward}
	if p.Backward {
		w.n = max(p.Last, 0)
	}
	var err error
	if w.lo, err = decodeCursor(p.After, "after", kind, version); err != nil {
		return w, err
	}
	if w.hi, err = decodeCursor(p.Before, "before", kind, version); err != nil {
		return w, err
	}
	if p.Before == "" {
		w.hi = math.MaxInt64
	}
	return w, nil
}

// cut takes the window's page of the keys inside it (in order, at most
// one more than n when it read only that many), given how many keys of
// the list lie at or below lo (before) and at or above hi (after).
func (w window) cut(inside, before, after int) (from, to int, info indicator.PageInfo) {
	from, to = 0, inside
	if w.backward {
		from = max(0, inside-w.n)
	} else {
		to = min(inside, w.n)
	}
	info.HasPreviousPage = from > 0 || before > 0
	info.HasNextPage = to < inside || after > 0
	return from, to, info
}

// setCursors fills the page's cursors from its keys.
func setCursors(info *indicator.PageInfo, keys []int64, kind, version string) {
	info.Cursors = make([]string, len(keys))
	for i, k := range keys {
		info.Cursors[i] = encodeCursor(kind, version, k)
	}
	if len(keys) > 0 {
		info.StartCursor, info.EndCursor = info.Cursors[0], info.Cursors[len(keys)-1]
	}
}

// paginate cuts one page of ordered positions.
func paginate(match []int, w window, kind, version string) ([]int, indicator.PageInfo) {
	lo := sort.Search(len(match), func(i int) bool { return int64(match[i]) > w.lo })
	hi := max(lo, sort.Search(len(match), func(i int) bool { return int64(match[i]) >= w.hi }))
	from, to, info := w.cut(hi-lo, lo, len(match)-hi)
	info.TotalCount = len(match)
	page := match[lo+from : lo+to]
	keys := make([]int64, len(page))
	for i, k := range page {
		keys[i] = int64(k)
	}
	setCursors(&info, keys, kind, version)
	return page, info
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
	w, err := pageWindow(q.Page, "i", sn.info.Version)
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
	words := newSearch(q.Search)
	match, err := matching(ctx, sn.dim.indicators, words.checkEvery(), "indicators", func(i int, ind indicator.Indicator) bool {
		return (q.Theme == "" || ind.Theme == q.Theme) &&
			(with == nil || with[ind.Code]) &&
			(q.Search == "" || sn.dim.indicatorMatches(i, words))
	})
	if err != nil {
		return nil, indicator.PageInfo{}, err
	}
	page, info := paginate(match, w, "i", sn.info.Version)
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
		return p.seriesOf(ctx, sn.dim, keys, kinds, s.opts.MaxRows)
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
	w, err := pageWindow(q.Page, "o", sn.info.Version)
	if err != nil {
		return nil, indicator.PageInfo{}, err
	}
	if len(q.Indicators) > 0 {
		codes := make([]string, len(q.Indicators))
		for i, c := range q.Indicators {
			codes[i] = sn.dim.indicatorCode(c)
		}
		q.Indicators = codes
	}
	if p := sn.pts.Load(); p != nil {
		obs, c, err := p.page(ctx, sn.dim, q, w)
		if err != nil {
			return nil, indicator.PageInfo{}, err
		}
		return pageOf(obs, c, w, sn.info.Version)
	}
	st := observationsStmt(q, w)
	var obs []indicator.Observation
	var c pageCounts
	err = s.query(ctx, sn, "store: observations", st.String(), st.Args(), func(r *sql.Rows) error {
		o, ok, err := scanObservation(r, sn.dim, &c.total, &c.before, &c.after)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		obs = append(obs, o)
		return nil
	})
	if err != nil {
		return nil, indicator.PageInfo{}, err
	}
	return pageOf(obs, c, w, sn.info.Version)
}

// pageCounts are the rows matching a filter: all of them, and those at or
// below and at or above the window's bounds.
type pageCounts struct{ total, before, after int }

// observationsStmt reads the page of q (indicators by code) in window w,
// one more row than asked (backward: the last ones, still in id order),
// with the count of all matching rows and of those outside its bounds.
func observationsStmt(q indicator.ObservationQuery, w window) *sqlb {
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
	if w.backward {
		order = " ORDER BY id DESC"
	}
	// The counts outside the bounds, only when there are bounds: they say
	// whether pages lie before and after this one.
	before, after, bounds := "0", "0", "id > "+b.Arg(w.lo)
	if w.lo >= 0 {
		before = "count(*) FILTER (WHERE id <= " + b.Arg(w.lo) + ")"
	}
	if w.hi != math.MaxInt64 {
		after = "count(*) FILTER (WHERE id >= " + b.Arg(w.hi) + ")"
		bounds += " AND id < " + b.Arg(w.hi)
	}
	// One statement: the filtered set's count joined to the page, so an
	// empty page still reports the total. The count reads only the
	// filtered columns; the page reads its rows' columns. The condition's
	// placeholders serve both.
	b.SQL(`WITH c AS (SELECT count(*) AS total, ` + before + ` AS before_n, ` + after + ` AS after_n FROM observations WHERE ` + cond + `),
		p AS (SELECT * FROM observations WHERE ` + cond + ` AND ` + bounds + order + ` LIMIT ` + b.Arg(w.n+1) + `)
		SELECT c.total, c.before_n, c.after_n, p.id, p.unit, p.indicator, p.period, p.kind, p.value, p.denominator, p.qualifier, p.flags,
			p.methodology, p.source, p.line, p.raw, p.note, p.canonical, p.basis
		FROM c LEFT JOIN p ON true ORDER BY p.id`)
	return &b
}

// pageOf makes a page of the rows read inside the window, in id order (at
// most one more than asked, to know whether another page follows).
func pageOf(obs []indicator.Observation, c pageCounts, w window, version string) ([]indicator.Observation, indicator.PageInfo, error) {
	from, to, info := w.cut(len(obs), c.before, c.after)
	info.TotalCount = c.total
	obs = obs[from:to]
	keys := make([]int64, len(obs))
	for i := range obs {
		keys[i] = obs[i].ID
	}
	setCursors(&info, keys, "o", version)
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

// decodeCursor decodes the cursor given as argument arg (after, before);
// no cursor is -1.
func decodeCursor(c, arg, kind, version string) (int64, error) {
	if c == "" {
		return -1, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	parts := strings.Split(string(raw), ":")
	if err != nil || len(parts) != 3 || parts[0] != kind {
		return 0, indicator.Invalidf(arg, "not a cursor of this list")
	}
	if parts[1] != shortVersion(version) {
		if !isShortVersion(parts[1]) {
			return 0, indicator.Invalidf(arg, "not a cursor of this list")
		}
		return 0, indicator.Invalidf(arg, "cursor is from dataset version %s, now serving %s; start again without %s", parts[1], shortVersion(version), arg)
	}
	// Only a cursor chiso gave is taken: "+5", "007" or other spellings
	// of a key (or of its base64) are forgeries.
	key, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || key < 0 || encodeCursor(kind, version, key) != c {
		return 0, indicator.Invalidf(arg, "not a cursor of this list")
	}
	return key, nil
}

// isShortVersion says whether v can be a dataset version as a cursor
// holds it: 1 to 12 lower-case hex digits.
func isShortVersion(v string) bool {
	if v == "" || len(v) > 12 {
		return false
	}
	for _, r := range v {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
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
