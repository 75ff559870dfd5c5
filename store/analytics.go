package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"chiso/indicator"
)

var _ indicator.Analytics = (*Store)(nil)

// resolveSet turns a unit set into codes, from the in-memory dimensions.
func resolveSet(dim *dimensions, set indicator.UnitSet, arg string) ([]string, error) {
	forms := 0
	for _, used := range []bool{len(set.Codes) > 0, set.ChildrenOf != "", set.Under != ""} {
		if used {
			forms++
		}
	}
	if forms != 1 {
		return nil, indicator.Invalidf(arg, "give exactly one of codes, childrenOf, or under with level")
	}
	known := func(code, sub string) error {
		if _, ok := dim.unit(code); !ok {
			return &indicator.ArgError{Arg: arg + "." + sub, Reason: fmt.Sprintf("no unit with code %q", code), Kind: indicator.ErrNotFound}
		}
		return nil
	}
	switch {
	case len(set.Codes) > 0:
		seen := map[string]bool{}
		var out []string
		for _, c := range set.Codes {
			if err := known(c, "codes"); err != nil {
				return nil, err
			}
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
		return out, nil
	case set.ChildrenOf != "":
		if err := known(set.ChildrenOf, "childrenOf"); err != nil {
			return nil, err
		}
		var out []string
		for _, i := range dim.children[set.ChildrenOf] {
			out = append(out, dim.units[i].Code)
		}
		return out, nil
	default:
		if err := known(set.Under, "under"); err != nil {
			return nil, err
		}
		if set.Level == "" {
			return nil, indicator.Invalidf(arg+".level", "under needs the level of the units wanted")
		}
		var out []string
		for _, u := range dim.descendants(set.Under, set.Level) {
			out = append(out, u.Code)
		}
		return out, nil
	}
}

func (s *Store) knownIndicators(dim *dimensions, codes []string, arg string) ([]indicator.Indicator, error) {
	if len(codes) == 0 {
		return nil, indicator.Invalidf(arg, "name at least one indicator")
	}
	out := make([]indicator.Indicator, 0, len(codes))
	for _, c := range codes {
		i, ok := dim.indIndex[c]
		if !ok {
			return nil, &indicator.ArgError{Arg: arg, Reason: fmt.Sprintf("no indicator with code %q", c), Kind: indicator.ErrNotFound}
		}
		out = append(out, dim.indicators[i])
	}
	return out, nil
}

func kindOrActual(k indicator.ObservationKind) string {
	if k == "" {
		return string(indicator.KindActual)
	}
	return string(k)
}

// clean rounds a computed value to 10 decimal places: binary floating
// point leaves noise such as 22.43 − 25.64 = −3.2100000000000009, while
// source figures carry at most four decimals.
func clean(x float64) float64 { return math.Round(x*1e10) / 1e10 }

// fptr is a computed nullable value; NaN and infinities are null.
func fptr(v sql.NullFloat64) *float64 {
	if !v.Valid || math.IsNaN(v.Float64) || math.IsInf(v.Float64, 0) {
		return nil
	}
	x := clean(v.Float64)
	return &x
}

// compareSQL picks one kind of value of several indicators for a set of
// units, each unit's period by mode, with what each unit is ranked by
// (rv), in one statement. It returns only the units with a pick (flagged
// stale when the maximum age rules it out); the rows without data, each
// unit's parent and the indicators' directions come from the snapshot's
// index, and the ranks, ties and means over the picked rows are counted in
// Go (rankCompare), where a few thousand rows cost microseconds and
// DuckDB's window operators and joins cost milliseconds. $1 units, $2
// kind, $3 exact period label, $4 minimum units for COMMON, $5 max age in
// years, $6 the units' parents (empty unless the parent feature is
// wanted); the indicators follow as constants at {{INDS}}, and the levels
// of the units in scope as a condition at {{LEVELS}}, for pruning. The
// mode, ranges and what to rank by choose the text itself.
//
// The parts a request does not need are left out of the text, not just
// switched off: planning grows with the statement, and a switched-off
// part may still be executed. compareParts holds them; each
// {{NAME}} is replaced by its part or by what stands in for it.
const compareSQL = `
WITH params AS (SELECT $3::VARCHAR AS exact, $4::BIGINT AS min_units, $5::DOUBLE AS max_age, $6::VARCHAR[] AS parents),
u AS (SELECT unnest($1::VARCHAR[]) AS unit),
scope AS (SELECT unit FROM u{{PARENT_SCOPE}}),
base AS MATERIALIZED (
	SELECT id, unit, indicator, period, period_kind, period_start, period_end, pos, end_pos, value, denominator, qualifier,
		methodology, flags, source, line, raw, note, basis, canonical
	FROM observations WHERE indicator IN ({{INDS}}) AND {{LEVELS}} AND kind = $2::VARCHAR AND unit IN (SELECT unit FROM scope)),
cand AS (
	SELECT o.* FROM base o
	WHERE o.canonical{{IN_U}}{{NO_RANGES}}{{EXACT}}),{{COMMON}}
pick AS (
	SELECT * FROM cand WHERE id IN (
		SELECT arg_min(c.id, ` + latestKeySQL + `) FROM cand c{{IN_COMMON}} GROUP BY c.unit, c.indicator)),{{FRESH}}{{EARLIEST}}
joined AS (
	SELECT k.*, {{STALE}} AS stale, {{E}} AS e
	FROM {{PICKED}} k{{JOIN_EARLIEST}}),
unpacked AS (
	SELECT j.*, e.id AS eid, e.value AS ev, e.methodology AS em, e.period_kind AS epk, j.pos - e.pos AS ey
	FROM joined j),
keyed AS (
	SELECT j.*, {{RV}} AS rv FROM unpacked j){{PARENTS}}{{ALTS}}
SELECT r.stale, r.rv, r.value,
	{{PARENT_COLS}},
	{{ALT_COL}},
	r.eid, r.value - r.ev, rel_change(r.ev, r.value), r.ey, cagr(r.ev, r.value, r.ey),
	crosses_break(r.em, r.methodology, r.flags),
	(r.epk = 'RANGE') <> (r.period_kind = 'RANGE'),
	r.id, r.unit, r.indicator, r.period, $2::VARCHAR, r.value, r.denominator, r.qualifier, r.flags, r.methodology,
	r.source, r.line, r.raw, r.note, r.canonical
FROM keyed r{{JOIN_PARENTS}}{{JOIN_ALTS}}`

// comparePart is one optional part of compareSQL: the feature it belongs
// to, its text when that feature is wanted, and what stands in otherwise.
type comparePart struct{ feature, on, off string }

// The features of a comparison that can be left out.
const (
	featParent   = "parent"       // the parent's value, share and difference
	featRanges   = "ranges"       // range periods (2016-2020) among the candidates
	featExact    = "exact"        // one given period for every unit
	featCommon   = "common"       // the most recent period enough units share
	featMaxAge   = "max age"      // values older than a limit are STALE
	featEarliest = "earliest"     // the change since the earliest value
	featAlts     = "alternatives" // counts of other observations for the same key
)

var compareParts = map[string]comparePart{
	"PARENT_SCOPE": {feature: featParent, on: `
	UNION SELECT unnest($6::VARCHAR[])`},
	// With parents in scope, base also holds their rows.
	"IN_U":      {feature: featParent, on: ` AND o.unit IN (SELECT unit FROM u)`},
	"NO_RANGES": {feature: featRanges, off: ` AND o.period_kind <> 'RANGE'`},
	"EXACT":     {feature: featExact, on: ` AND o.period = $3::VARCHAR`},
	"COMMON": {feature: featCommon, on: `
per_period AS (
	SELECT indicator, period, max(period_end) AS pe, max(period_start) AS ps, count(DISTINCT unit) AS n
	FROM cand GROUP BY indicator, period),
common AS (
	SELECT indicator, period FROM per_period WHERE n >= $4::BIGINT
	QUALIFY row_number() OVER (PARTITION BY indicator ORDER BY pe DESC, ps DESC, period) = 1),`},
	"IN_COMMON": {feature: featCommon, on: `
	WHERE (c.indicator, c.period) IN (SELECT indicator, period FROM common)`},
	// With a maximum age, a pick older than the limit (measured from the
	// indicator's newest pick) is stale: Go reports it as STALE, without
	// its value.
	"FRESH": {feature: featMaxAge, on: `
fresh AS (SELECT p.*, max(p.end_pos) OVER (PARTITION BY p.indicator) AS newest FROM pick p),`},
	"PICKED": {feature: featMaxAge, on: `fresh`, off: `pick`},
	"STALE":  {feature: featMaxAge, on: `k.newest - k.end_pos > $5::DOUBLE`, off: `false`},
	"EARLIEST": {feature: featEarliest, on: `
earliest AS (
	SELECT unit, indicator, arg_min(struct_pack(id, value, pos, methodology, period_kind), id) AS e
	FROM base WHERE canonical AND period_kind <> 'RANGE' AND unit IN (SELECT unit FROM u)
	GROUP BY unit, indicator),`},
	"E": {feature: featEarliest, on: `CASE WHEN el.e.id <> k.id THEN el.e END`,
		off: `NULL::STRUCT(id BIGINT, value DOUBLE, pos DOUBLE, methodology VARCHAR, period_kind VARCHAR)`},
	"JOIN_EARLIEST": {feature: featEarliest, on: `
	LEFT JOIN earliest el ON el.unit = k.unit AND el.indicator = k.indicator`},
	"PARENTS": {feature: featParent, on: `,
parents AS (
	SELECT b.id, b.unit, b.indicator, b.period, b.value FROM base b
	WHERE b.canonical AND b.unit IN (SELECT unnest($6::VARCHAR[])))`},
	"PARENT_COLS": {feature: featParent, on: `po.id, CASE WHEN ind.rollup = 'SUM' AND po.value <> 0 THEN r.value / po.value * 100 END, r.value - po.value`,
		off: `NULL::BIGINT, NULL::DOUBLE, NULL::DOUBLE`},
	"JOIN_PARENTS": {feature: featParent, on: `
JOIN indicators ind ON ind.code = r.indicator
JOIN units un ON un.code = r.unit
LEFT JOIN parents po ON po.unit = un.parent AND po.indicator = r.indicator AND po.period = r.period`},
	"ALTS": {feature: featAlts, on: `,
alts AS (
	SELECT unit, indicator, period, count(*) - 1 AS n FROM base
	WHERE unit IN (SELECT unit FROM u) GROUP BY unit, indicator, period HAVING count(*) > 1)`},
	"ALT_COL": {feature: featAlts, on: `coalesce(a.n, 0)`, off: `0`},
	"JOIN_ALTS": {feature: featAlts, on: `
LEFT JOIN alts a ON a.unit = r.unit AND a.indicator = r.indicator AND a.period = r.period`},
}

// compareText assembles compareSQL with the features wanted.
func compareText(inds, levels string, want map[string]bool, rankBy string) string {
	pairs := []string{"{{INDS}}", inds, "{{LEVELS}}", levels}
	for name, p := range compareParts {
		text := p.off
		if want[p.feature] {
			text = p.on
		}
		pairs = append(pairs, "{{"+name+"}}", text)
	}
	rv := "value"
	switch rankBy {
	case string(indicator.RankByChange):
		rv = "value - ev"
	case string(indicator.RankByGrowth):
		rv = "cagr(ev, value, ey)"
	}
	pairs = append(pairs, "{{RV}}", rv)
	return strings.NewReplacer(pairs...).Replace(compareSQL)
}

// Compare ranks indicators over a set of units (see indicator.Analytics).
func (s *Store) Compare(ctx context.Context, q indicator.CompareQuery) (indicator.Comparison, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return indicator.Comparison{}, err
	}
	defer done()
	units, err := resolveSet(sn.dim, q.Units, "units")
	if err != nil {
		return indicator.Comparison{}, err
	}
	inds, err := s.knownIndicators(sn.dim, q.Indicators, "indicators")
	if err != nil {
		return indicator.Comparison{}, err
	}
	mode := q.Period.Mode
	if mode == "" {
		mode = indicator.PeriodLatest
	}
	exact, ranges := "", false
	switch mode {
	case indicator.PeriodExact:
		if q.Period.Period == nil {
			return indicator.Comparison{}, indicator.Invalidf("period.label", "EXACT needs a period label")
		}
		exact, ranges = q.Period.Period.Label, q.Period.Period.Kind == indicator.PeriodRange
	case indicator.PeriodLatest, indicator.PeriodCommon:
	default:
		return indicator.Comparison{}, indicator.Invalidf("period.mode", "expected EXACT, LATEST or COMMON, got %q", mode)
	}
	rankBy := string(q.RankBy)
	switch q.RankBy {
	case "":
		rankBy = string(indicator.RankByValue)
	case indicator.RankByValue, indicator.RankByChange, indicator.RankByGrowth:
	default:
		return indicator.Comparison{}, indicator.Invalidf("rankBy", "expected VALUE, CHANGE or GROWTH, got %q", q.RankBy)
	}
	minCov := q.Period.MinCoverage
	if minCov == 0 {
		minCov = 1
	}
	if minCov < 0 || minCov > 1 {
		return indicator.Comparison{}, indicator.Invalidf("period.minCoverage", "expected a share between 0 and 1, got %v", minCov)
	}
	minUnits := int(math.Ceil(minCov*float64(len(units)) - 1e-9))
	if minUnits < 1 {
		minUnits = 1
	}
	if q.Period.MaxAgeYears < 0 {
		return indicator.Comparison{}, indicator.Invalidf("period.maxAgeYears", "must be 0 (no limit) or more")
	}
	out := indicator.Comparison{UnitsInSet: len(units)}
	var pend []comparePending
	// The parents come from the snapshot's index, once, for the statement
	// and for the levels it reads.
	parents := []string{}
	if !q.Skip.Parent {
		parents = parentsOf(sn.dim, units)
	}
	spec := compareSpec{units: units, parents: parents, inds: inds, kind: kindOrActual(q.Kind), exact: exact, rankBy: rankBy,
		minUnits: minUnits, maxAge: q.Period.MaxAgeYears, want: map[string]bool{
			featParent: !q.Skip.Parent, featRanges: ranges,
			featExact: mode == indicator.PeriodExact, featCommon: mode == indicator.PeriodCommon,
			featMaxAge:   q.Period.MaxAgeYears > 0,
			featEarliest: !q.Skip.Earliest || rankBy != string(indicator.RankByValue),
			featAlts:     !q.Skip.Alternatives,
		}}
	// One row per unit and indicator; a unit without a pick stays NO_DATA.
	type slot struct{ unit, indicator string }
	at := make(map[slot]int, len(units)*len(inds))
	var keys []rankKey
	for _, u := range units {
		un, _ := sn.dim.unit(u)
		parent := sql.NullString{String: un.Parent, Valid: un.Parent != ""}
		for _, x := range inds {
			if _, dup := at[slot{u, x.Code}]; dup {
				continue
			}
			at[slot{u, x.Code}] = len(out.Rows)
			out.Rows = append(out.Rows, indicator.CompareRow{Unit: u, Indicator: x.Code, Missing: "NO_DATA"})
			pend = append(pend, comparePending{})
			keys = append(keys, rankKey{parent: parent, lowerBetter: x.Direction == indicator.LowerBetter})
		}
	}
	accept := func(k comparePick) error {
		i, found := at[slot{k.obs.Unit, k.obs.Indicator}]
		if !found {
			return fmt.Errorf("compare picked %s/%s outside the set", k.obs.Unit, k.obs.Indicator)
		}
		row := &out.Rows[i]
		if k.stale { // too old to compare: neither value nor rank
			row.Missing = "STALE"
			return nil
		}
		o := k.obs
		row.Obs, row.Missing, row.Alternatives = &o, "", k.alts
		row.ShareOfParent, row.DiffFromParent = fptr(k.share), fptr(k.dparent)
		pend[i] = k.p
		keys[i].rv, keys[i].value = k.rv, k.value
		return nil
	}
	if pts := sn.pts.Load(); pts != nil {
		for _, k := range pts.compare(sn.dim, spec) {
			if err := accept(k); err != nil {
				return out, err
			}
		}
	} else if err := s.compareStatement(ctx, sn, spec, accept); err != nil {
		return out, err
	}
	order := rankCompare(out.Rows, keys)
	out.Rows, pend = permute(out.Rows, order), permute(pend, order)
	// Second statement, when asked for: the parents' and earliest
	// observations the rows were compared with.
	var ids []sql.NullInt64
	for _, p := range pend {
		ids = append(ids, p.parent)
		if !q.Skip.EarliestObservation {
			ids = append(ids, p.earliest)
		}
	}
	obs, err := s.observationsOf(ctx, sn, ids...)
	if err != nil {
		return out, err
	}
	periods := map[string]indicator.Period{}
	perInd := map[string]map[string]bool{}
	for i, p := range pend {
		row := &out.Rows[i]
		if u, ok := sn.dim.unitIndex[row.Unit]; ok {
			row.UnitInfo = &sn.dim.units[u]
		}
		if x, ok := sn.dim.indIndex[row.Indicator]; ok {
			row.IndicatorInfo = &sn.dim.indicators[x]
		}
		if row.Obs != nil {
			o := *row.Obs
			periods[o.Period.Label] = o.Period
			if perInd[row.Indicator] == nil {
				perInd[row.Indicator] = map[string]bool{}
			}
			perInd[row.Indicator][o.Period.Label] = true
		}
		row.Parent = obsPtr(obs, p.parent)
		if p.earliest.Valid && row.Obs != nil {
			from, ok := obs[p.earliest.Int64]
			if !ok { // skipped: only its id
				from = indicator.Observation{ID: p.earliest.Int64}
			}
			row.Earliest = change(from, *row.Obs, p.abs, p.rel, p.years, p.growth, p.crosses, p.rangeMix)
		}
	}
	for _, labels := range perInd {
		if len(labels) > 1 {
			out.MixedPeriods = true
		}
	}
	for _, p := range periods {
		out.Periods = append(out.Periods, p)
	}
	sortPeriods(out.Periods)
	if mode == indicator.PeriodCommon && len(out.Periods) == 1 {
		out.Common = &out.Periods[0]
	}
	return out, nil
}

// compareStatement runs a comparison as one statement (compareSQL with the
// spec's features) and hands each picked row to accept.
func (s *Store) compareStatement(ctx context.Context, sn *snapshot, sp compareSpec, accept func(comparePick) error) error {
	var exact any
	if sp.want[featExact] {
		exact = sp.exact
	}
	// params (compareSQL) names the parameters a text may leave out.
	args := []any{sp.units, sp.kind, exact, sp.minUnits, sp.maxAge, sp.parents}
	codes := make([]string, len(sp.inds))
	for i, x := range sp.inds {
		codes[i] = x.Code
	}
	indList := inList(codes, &args, true)
	levels := levelsSQL(levelRanks(levelRanks(nil, sn.dim, sp.units), sn.dim, sp.parents))
	return s.query(ctx, sn, "store: compare", compareText(indList, levels, sp.want, sp.rankBy), args,
		func(r *sql.Rows) error {
			var k comparePick
			var stale sql.NullBool
			// The picked observation's own columns come last.
			o, ok, err := scanObservation(r, sn.dim, &stale, &k.rv, &k.value, &k.p.parent, &k.share, &k.dparent, &k.alts,
				&k.p.earliest, &k.p.abs, &k.p.rel, &k.p.years, &k.p.growth, &k.p.crosses, &k.p.rangeMix)
			if err != nil || !ok {
				return err
			}
			k.stale, k.obs = stale.Bool, o
			return accept(k)
		})
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

// observationsOf fetches, in one statement, the observations behind
// nullable ids gathered while scanning an analytic's rows.
func (s *Store) observationsOf(ctx context.Context, sn *snapshot, ids ...sql.NullInt64) (map[int64]indicator.Observation, error) {
	var valid []int64
	for _, id := range ids {
		if id.Valid {
			valid = append(valid, id.Int64)
		}
	}
	return s.observationsByID(ctx, sn, valid)
}

// obsPtr returns the observation behind a nullable id, or nil.
func obsPtr(obs map[int64]indicator.Observation, id sql.NullInt64) *indicator.Observation {
	if !id.Valid {
		return nil
	}
	o := obs[id.Int64]
	return &o
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

// trendSQL: one series' canonical values with changes from the previous
// point and the index against a base. $1 unit, $2 indicator, $3 kind,
// $4 from start (or null), $5 to end (or null), $6 base label (or null,
// meaning the first point), $7 include ranges.
const trendSQL = `
WITH s AS (
	SELECT id, period, period_kind, period_start, period_end, pos, value, methodology, flags
	FROM observations
	WHERE canonical AND unit = $1 AND indicator = $2 AND kind = $3
		AND ($4::DATE IS NULL OR period_start >= $4) AND ($5::DATE IS NULL OR period_end <= $5)
		AND (period_kind <> 'RANGE' OR $7)),
b AS (
	SELECT id AS bid, value AS bv, methodology AS bm FROM s
	WHERE $6::VARCHAR IS NULL OR period = $6
	ORDER BY period_start, period_end, id LIMIT 1),
w AS (
	SELECT s.*,
		lag(id) OVER o AS pid, lag(value) OVER o AS pv, lag(methodology) OVER o AS pm,
		lag(pos) OVER o AS ppos, lag(period_kind) OVER o AS ppk,
		first_value(id) OVER o AS fid, first_value(value) OVER o AS fv, first_value(methodology) OVER o AS fm,
		first_value(pos) OVER o AS fpos, first_value(period_kind) OVER o AS fpk,
		row_number() OVER o = count(*) OVER () AS is_last
	FROM s WINDOW o AS (ORDER BY period_start, period_end, id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
SELECT id, pid, value - pv, rel_change(pv, value), pos - ppos,
	cagr(pv, value, pos - ppos), crosses_break(pm, methodology, flags),
	(ppk = 'RANGE') <> (period_kind = 'RANGE'),
	b.bid, CASE WHEN b.bv <> 0 THEN value / b.bv * 100 END, crosses_break(b.bm, methodology, flags),
	is_last, fid, value - fv, rel_change(fv, value), pos - fpos,
	cagr(fv, value, pos - fpos), crosses_break(fm, methodology, flags),
	(fpk = 'RANGE') <> (period_kind = 'RANGE')
FROM w LEFT JOIN b ON true
ORDER BY period_start, period_end, id`

// change assembles a Change from computed columns.
func change(from, to indicator.Observation, abs, rel, years, growth sql.NullFloat64, crosses, rangeMix sql.NullBool) *indicator.Change {
	ch := &indicator.Change{From: from, To: to, Absolute: clean(abs.Float64), Relative: fptr(rel), Years: clean(years.Float64), CAGR: fptr(growth), CrossesBreak: crosses.Bool}
	if rangeMix.Bool {
		ch.Warnings = append(ch.Warnings, "RANGE_VS_POINT")
	}
	return ch
}

// Trend returns a series with year-over-year changes, an index and the
// overall change (see indicator.Analytics).
func (s *Store) Trend(ctx context.Context, q indicator.TrendQuery) (indicator.Trend, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return indicator.Trend{}, err
	}
	defer done()
	if _, ok := sn.dim.unit(q.Unit); !ok {
		return indicator.Trend{}, &indicator.ArgError{Arg: "unit", Reason: fmt.Sprintf("no unit with code %q", q.Unit), Kind: indicator.ErrNotFound}
	}
	if _, err := s.knownIndicators(sn.dim, []string{q.Indicator}, "indicator"); err != nil {
		return indicator.Trend{}, err
	}
	var from, to, base any
	ranges := false
	if q.From != nil {
		from, ranges = q.From.Start, ranges || q.From.Kind == indicator.PeriodRange
	}
	if q.To != nil {
		to, ranges = q.To.End, ranges || q.To.Kind == indicator.PeriodRange
	}
	if q.Base != nil {
		base, ranges = q.Base.Label, ranges || q.Base.Kind == indicator.PeriodRange
	}
	var rows []trendRow
	if p := sn.pts.Load(); p != nil {
		rows = p.trend(sn.dim, q, ranges)
	} else {
		err = s.query(ctx, sn, "store: trend", trendSQL, []any{q.Unit, q.Indicator, kindOrActual(q.Kind), from, to, base, ranges},
			func(r *sql.Rows) error {
				var x trendRow
				if err := r.Scan(&x.id, &x.pid, &x.prev.abs, &x.prev.rel, &x.prev.years, &x.prev.growth, &x.prev.crosses, &x.prev.rangeMix,
					&x.bid, &x.idx, &x.bCross, &x.last, &x.fid, &x.first.abs, &x.first.rel, &x.first.years, &x.first.growth,
					&x.first.crosses, &x.first.rangeMix); err != nil {
					return err
				}
				rows = append(rows, x)
				return nil
			})
		if err != nil {
			return indicator.Trend{}, err
		}
	}
	if len(rows) > 0 && !rows[0].bid.Valid && q.Base != nil {
		return indicator.Trend{}, indicator.Invalidf("base", "the series has no %s value for %s to index against", kindOrActual(q.Kind), q.Base.Label)
	}
	ids := make([]int64, 0, len(rows))
	for _, x := range rows {
		ids = append(ids, x.id.Int64)
	}
	obs, err := s.observationsByID(ctx, sn, ids)
	if err != nil {
		return indicator.Trend{}, err
	}
	var t indicator.Trend
	for _, x := range rows {
		p := indicator.TrendPoint{Obs: obs[x.id.Int64], Index: fptr(x.idx), CrossesBreak: x.bCross.Bool}
		if x.pid.Valid {
			c := x.prev
			p.Previous = change(obs[x.pid.Int64], p.Obs, c.abs, c.rel, c.years, c.growth, c.crosses, c.rangeMix)
		}
		if x.bid.Valid && t.Base == nil {
			b := obs[x.bid.Int64]
			t.Base = &b
		}
		if x.last.Bool && x.fid.Valid && x.fid.Int64 != x.id.Int64 {
			c := x.first
			t.Overall = change(obs[x.fid.Int64], p.Obs, c.abs, c.rel, c.years, c.growth, c.crosses, c.rangeMix)
		}
		t.Points = append(t.Points, p)
	}
	if t.Points == nil {
		t.Points = []indicator.TrendPoint{}
	}
	return t, nil
}

// Rollup grids. Both produce (parent, child, cperiod, gperiod): the value
// of child in cperiod feeds the parent's aggregate for gperiod.
//
// Every variant binds the same twelve parameters; paramsSQL names them all
// so DuckDB accepts those a variant does not use.
const paramsSQL = `
params AS (SELECT $2::VARCHAR[] AS kids, $4::VARCHAR[] AS pers, $6::VARCHAR AS weight, $7::VARCHAR AS den, $8::DOUBLE AS mult,
	$9::VARCHAR AS over_label, $10::BIGINT AS y0, $11::BIGINT AS y1, $12::VARCHAR[] AS kid_parents),`

// Units: $1 parents, $12 and $2 the (parent, child) pairs of the grid
// (worked out from the snapshot's index: direct children, or descendants
// at the child level), $4 periods (empty: every period with child data
// for the indicators at {{PSRC}}).
const unitGridSQL = `
par AS (SELECT unnest($1::VARCHAR[]) AS parent),
kids AS (SELECT unnest($12::VARCHAR[]) AS parent, unnest($2::VARCHAR[]) AS child),
kidset AS (SELECT DISTINCT child FROM kids),
{{SRC}},
per AS (
	SELECT unnest($4::VARCHAR[]) AS period WHERE len($4::VARCHAR[]) > 0
	UNION
	SELECT DISTINCT period FROM src
	WHERE len($4::VARCHAR[]) = 0 AND indicator IN ({{PSRC}}){{PER_SCOPE}}),
grid AS (SELECT k.parent, k.child, p.period AS cperiod, p.period AS gperiod FROM kids k CROSS JOIN per p)`

// Time: $1 units, $10 first year, $11 last year, $9 the range label.
const timeGridSQL = `
par AS (SELECT unnest($1::VARCHAR[]) AS parent),
kidset AS (SELECT parent AS child FROM par),
{{SRC}},
grid AS (
	SELECT par.parent, par.parent AS child, CAST(y AS VARCHAR) AS cperiod, $9::VARCHAR AS gperiod
	FROM par CROSS JOIN range($10::BIGINT, $11::BIGINT + 1) t(y))`

// rollupTail aggregates a grid by the rule. $3 kind, $5 the indicator,
// $6 weight or numerator, $7 denominator, $8 the RATIO multiplier (measure
// unit and the three indicators' scales). %[1]s is the has-data condition,
// %[2]s the value, %[3]s the weight share, %[4]s the inputs list
// expression, %[5]s the missing list expression. {{JOINS}} joins the grid
// to src (see rollupInputs) as xv, wv and dv. {{REP}} and {{REP_JOIN}}
// read the parents' own values (see repSQL), or stand in for them.
const rollupTail = `,{{REP}}
j AS (
	SELECT g.*, {{JOINS}}),
agg AS (
	SELECT parent, gperiod, count(*) AS expected, count(*) FILTER (WHERE %[1]s) AS with_data,
		%[2]s AS value, %[3]s AS weight_share, %[4]s AS inputs,
		%[5]s AS missing
	FROM j GROUP BY parent, gperiod)
SELECT a.parent, a.gperiod, a.expected, a.with_data, a.value, a.weight_share, a.inputs, a.missing,
	r.id, a.value - r.value, rel_change(r.value, a.value)
FROM agg a{{REP_JOIN}}`

// repSQL reads the parents' own (reported) values, for Reported and the
// gaps; repJoinOff stands in when a request reads neither, and the
// parents' rows are then left out of src too (so the grid's periods need
// no condition on the children: src holds only theirs).
const (
	repSQL = `
rep AS (
	SELECT unit, period, value, id FROM src WHERE indicator = $5::VARCHAR AND unit IN (SELECT parent FROM par)),`
	repJoinSQL = `
LEFT JOIN rep r ON r.unit = a.parent AND r.period = a.gperiod`
	repJoinOff = `
LEFT JOIN (SELECT NULL::BIGINT AS id, NULL::DOUBLE AS value) r ON false`
)

// rollupInputs are the parts of a rollup that depend on which of the
// indicator ($5), weight or numerator ($6) and denominator ($7) a rule
// reads. src reads every row the rollup needs once: one UNION ALL branch
// per indicator, each an equality the scan prunes by (with levels, the
// condition on the children's and parents' levels), over the children
// and the parents (whose own values are the reported ones); the period
// list, the grid's joins and the reported values all read src. joins
// are the grid's (NULL columns for an input the rule does not read) and
// psrc the indicators whose periods make the grid.
func rollupInputs(r indicator.Rule, levels string, parents bool) (src, joins, psrc string) {
	type input struct{ param, alias string }
	var ins []input
	switch r.Kind {
	case indicator.RuleRatio:
		ins = []input{{"$6", "w"}, {"$7", "d"}}
	case indicator.RuleWeightedMean:
		ins = []input{{"$5", "x"}, {"$6", "w"}}
	default:
		ins = []input{{"$5", "x"}}
	}
	var params, sources []string
	for _, in := range ins {
		params = append(params, in.param)
		sources = append(sources, in.param+"::VARCHAR")
	}
	if !slices.Contains(params, "$5") { // the reported values
		params = append(params, "$5")
	}
	scope := "SELECT child FROM kidset"
	if parents {
		scope += " UNION SELECT parent FROM par"
	}
	var branches, cols, from []string
	for _, p := range params {
		branches = append(branches, fmt.Sprintf(`SELECT unit, indicator, period, value, id FROM observations
	WHERE canonical AND kind = $3::VARCHAR AND indicator = %s::VARCHAR AND %s
		AND unit IN (%s)`, p, levels, scope))
	}
	for _, a := range []string{"x", "w", "d"} {
		used := ""
		for _, in := range ins {
			if in.alias == a {
				used = in.param
			}
		}
		if used == "" {
			cols = append(cols, fmt.Sprintf("NULL::DOUBLE AS %[1]sv, NULL::BIGINT AS %[1]sid", a))
			continue
		}
		cols = append(cols, fmt.Sprintf("%[1]s.value AS %[1]sv, %[1]s.id AS %[1]sid", a))
		from = append(from, fmt.Sprintf("LEFT JOIN src %[1]s ON %[1]s.unit = g.child AND %[1]s.period = g.cperiod AND %[1]s.indicator = %[2]s::VARCHAR", a, used))
	}
	return "src AS MATERIALIZED (\n\t" + strings.Join(branches, "\n\tUNION ALL ") + ")",
		strings.Join(cols, ", ") + "\n\tFROM grid g\n\t" + strings.Join(from, "\n\t"), strings.Join(sources, ", ")
}

// ruleSQL returns the has-data, value, weight-share and inputs expressions
// of a rule over the joined columns xv/wv/dv and their ids.
func ruleSQL(r indicator.Rule, overTime bool) (hd, value, share, inputs, refusal string) {
	ids := func(cols ...string) string {
		parts := make([]string, len(cols))
		for i, c := range cols {
			parts[i] = fmt.Sprintf("coalesce(list(%[1]s ORDER BY %[1]s) FILTER (WHERE (%%[1]s) AND %[1]s IS NOT NULL), [])", c) // %[1]s: has-data
		}
		return "flatten([" + strings.Join(parts, ", ") + "])"
	}
	switch r.Kind {
	case indicator.RuleSum:
		return "xv IS NOT NULL", "sum(xv)", "NULL::DOUBLE", ids("xid"), ""
	case indicator.RuleMean:
		return "xv IS NOT NULL", "avg(xv)", "NULL::DOUBLE", ids("xid"), ""
	case indicator.RuleWeightedMean:
		return "xv IS NOT NULL AND wv IS NOT NULL",
			"sum(xv * wv) FILTER (WHERE xv IS NOT NULL AND wv IS NOT NULL) / nullif(sum(wv) FILTER (WHERE xv IS NOT NULL AND wv IS NOT NULL), 0)",
			"sum(wv) FILTER (WHERE xv IS NOT NULL AND wv IS NOT NULL) / nullif(sum(wv), 0)", ids("xid", "wid"), ""
	case indicator.RuleRatio:
		return "wv IS NOT NULL AND dv IS NOT NULL",
			"sum(wv) FILTER (WHERE wv IS NOT NULL AND dv IS NOT NULL) / nullif(sum(dv) FILTER (WHERE wv IS NOT NULL AND dv IS NOT NULL), 0) * $8::DOUBLE",
			"sum(dv) FILTER (WHERE wv IS NOT NULL AND dv IS NOT NULL) / nullif(sum(dv), 0)", ids("wid", "did"), ""
	case indicator.RuleLast:
		if overTime {
			return "xv IS NOT NULL", "arg_max(xv, cperiod) FILTER (WHERE xv IS NOT NULL)", "NULL::DOUBLE",
				"CASE WHEN count(xv) > 0 THEN [arg_max(xid, cperiod) FILTER (WHERE xv IS NOT NULL)] ELSE []::BIGINT[] END", ""
		}
		return "", "", "", "", "rollup rule LAST takes the last value over time; it does not aggregate across units"
	}
	return "", "", "", "", "rollup rule NONE: the indicator's values cannot be aggregated"
}

// Rollup aggregates an indicator by its rule (see indicator.Analytics).
func (s *Store) Rollup(ctx context.Context, q indicator.RollupQuery) ([]indicator.RollupRow, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	inds, err := s.knownIndicators(sn.dim, []string{q.Indicator}, "indicator")
	if err != nil {
		return nil, err
	}
	ind := inds[0]
	parents, err := resolveSet(sn.dim, q.Parents, "units")
	if err != nil {
		return nil, err
	}
	if _, _, _, _, refusal := ruleSQL(ind.Rollup, q.Over != nil); refusal != "" {
		return nil, indicator.Invalidf("indicator", "%s cannot be rolled up: %s", ind.Code, refusal)
	}
	plan := rollupPlan{rule: ind.Rollup, kind: kindOrActual(q.Kind), ind: ind.Code, cols: rollupCols(ind), mult: 1, parents: parents,
		// The parents' own reported values are read only for Reported or
		// the gaps.
		withRep: !q.Skip.Reported || !q.Skip.Gap, skipInput: q.Skip.Inputs, skipMiss: q.Skip.Missing}
	if ind.Rollup.Kind == indicator.RuleRatio {
		num, den := sn.dim.indicators[sn.dim.indIndex[plan.cols[1]]], sn.dim.indicators[sn.dim.indIndex[plan.cols[2]]]
		plan.mult = indicator.RatioMultiplier(ind.MeasureUnit) * num.Scale / den.Scale / ind.Scale
	}
	if q.Over != nil {
		if q.Over.Kind != indicator.PeriodRange {
			return nil, indicator.Invalidf("over", "expected a range of years such as 2016-2020, got %q", q.Over.Label)
		}
		plan.overTime, plan.over, plan.y0, plan.y1 = true, q.Over.Label, q.Over.Start.Year(), q.Over.End.Year()
	} else {
		plan.kidParents, plan.kids = []string{}, []string{}
		for _, p := range parents {
			var kids []indicator.Unit
			if q.ChildLevel != "" {
				kids = sn.dim.descendants(p, q.ChildLevel)
			} else {
				for _, i := range sn.dim.children[p] {
					kids = append(kids, sn.dim.units[i])
				}
			}
			for _, k := range kids {
				plan.kidParents, plan.kids = append(plan.kidParents, p), append(plan.kids, k.Code)
			}
		}
		plan.periods = make([]string, len(q.Periods))
		for i, p := range q.Periods {
			plan.periods[i] = p.Label
		}
	}
	var raws []rollupRaw
	if p := sn.pts.Load(); p != nil {
		raws = p.rollup(sn.dim, plan)
	} else if raws, err = s.rollupSQL(ctx, sn, plan); err != nil {
		return nil, err
	}
	given := map[string]indicator.Period{}
	for _, p := range q.Periods {
		given[p.Label] = p
	}
	if q.Over != nil {
		given[q.Over.Label] = *q.Over
	}
	out := make([]indicator.RollupRow, len(raws))
	reported := make([]sql.NullInt64, len(raws))
	for i, x := range raws {
		row := indicator.RollupRow{Unit: x.parent, Children: x.expected, WithData: x.withData, Rule: ind.Rollup,
			Value: fptr(x.value), WeightShare: fptr(x.share), Gap: fptr(x.gap), GapRelative: fptr(x.gapRel), Missing: []string{}}
		if p, ok := given[x.gperiod]; ok {
			row.Period = p
		} else {
			row.Period = sn.dim.periods[x.gperiod]
		}
		for _, id := range x.inputs {
			row.Inputs = append(row.Inputs, id)
		}
		for _, m := range x.missing {
			child, per, _ := strings.Cut(m, ":")
			if q.Over != nil {
				row.Missing = append(row.Missing, per)
			} else {
				row.Missing = append(row.Missing, child)
			}
		}
		out[i], reported[i] = row, x.rep
	}
	if q.Skip.Reported {
		reported = make([]sql.NullInt64, len(reported))
	}
	obs, err := s.observationsOf(ctx, sn, reported...)
	if err != nil {
		return nil, err
	}
	for i, r := range reported {
		out[i].Reported = obsPtr(obs, r)
		if u, ok := sn.dim.unitIndex[out[i].Unit]; ok {
			out[i].UnitInfo = &sn.dim.units[u]
		}
	}
	// By unit, then period in time (periods the dataset does not hold
	// last, by label).
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Unit != b.Unit {
			return a.Unit < b.Unit
		}
		_, ka := sn.dim.periods[a.Period.Label]
		_, kb := sn.dim.periods[b.Period.Label]
		switch {
		case ka != kb:
			return ka
		case !a.Period.Start.Equal(b.Period.Start):
			return a.Period.Start.Before(b.Period.Start)
		case !a.Period.End.Equal(b.Period.End):
			return a.Period.End.Before(b.Period.End)
		}
		return a.Period.Label < b.Period.Label
	})
	return out, nil
}

// rollupSQL runs a rollup as one statement: the plan's grid bound as the
// twelve parameters paramsSQL names.
func (s *Store) rollupSQL(ctx context.Context, sn *snapshot, pl rollupPlan) ([]rollupRaw, error) {
	args := []any{pl.parents, pl.kids, pl.kind, pl.periods, pl.ind, pl.cols[1], pl.cols[2], pl.mult, nil, nil, nil, pl.kidParents}
	grid := unitGridSQL
	if pl.overTime {
		grid = timeGridSQL
		args[1], args[3], args[8], args[9], args[10], args[11] = nil, []string{}, pl.over, pl.y0, pl.y1, nil
	}
	hd, value, share, inputs, _ := ruleSQL(pl.rule, pl.overTime)
	inputs = strings.ReplaceAll(inputs, "%[1]s", hd)
	if pl.skipInput {
		inputs = "[]::BIGINT[]"
	}
	missingSQL := "coalesce(list(child || ':' || cperiod ORDER BY child, cperiod) FILTER (WHERE NOT (" + hd + ")), [])"
	if pl.skipMiss {
		missingSQL = "[]::VARCHAR[]"
	}
	rep, repJoin, perScope := repSQL, repJoinSQL, " AND unit IN (SELECT child FROM kidset)"
	if !pl.withRep {
		rep, repJoin, perScope = "", repJoinOff, ""
	}
	// The levels of the rows read: the grid children's, and the parents'
	// when their own rows are read (reported values, or over time their
	// yearly values, which are then the inputs).
	var ranks []int
	if pl.withRep || pl.overTime {
		ranks = levelRanks(ranks, sn.dim, pl.parents)
	}
	ranks = levelRanks(ranks, sn.dim, pl.kids)
	src, joins, psrc := rollupInputs(pl.rule, levelsSQL(ranks), pl.withRep)
	sqlText := strings.NewReplacer("{{SRC}}", src, "{{JOINS}}", joins, "{{PSRC}}", psrc, "{{REP}}", rep, "{{REP_JOIN}}", repJoin, "{{PER_SCOPE}}", perScope).
		Replace("WITH " + paramsSQL + grid + fmt.Sprintf(rollupTail, hd, value, share, inputs, missingSQL))
	var out []rollupRaw
	err := s.query(ctx, sn, "store: rollup", sqlText, args, func(r *sql.Rows) error {
		var x rollupRaw
		var ins, missing []any
		if err := r.Scan(&x.parent, &x.gperiod, &x.expected, &x.withData, &x.value, &x.share, &ins, &missing, &x.rep, &x.gap, &x.gapRel); err != nil {
			return err
		}
		for _, id := range ins {
			x.inputs = append(x.inputs, id.(int64))
		}
		for _, m := range missing {
			x.missing = append(x.missing, m.(string))
		}
		out = append(out, x)
		return nil
	})
	return out, err
}

// progressSQL: for each target, the latest actual at or before it, a
// baseline (the earliest earlier actual under the latest's methodology),
// straight-line progress and the change per year still needed. A target
// over a range (a plan-period total) is met only by an actual total for
// the same range. $1 units, $2 indicators (empty: all), $3 target year (0: all).
const progressSQL = `
WITH t AS (
	SELECT o.*, i.direction FROM observations o JOIN indicators i ON i.code = o.indicator
	WHERE o.kind = 'target' AND o.canonical AND o.unit IN (SELECT unnest($1::VARCHAR[]))
		AND (len($2::VARCHAR[]) = 0 OR list_contains($2::VARCHAR[], o.indicator))
		AND ($3 = 0 OR year(o.period_end) = $3)),
a AS (
	SELECT o.* FROM observations o
	WHERE o.kind = 'actual' AND o.canonical AND (o.unit, o.indicator) IN (SELECT unit, indicator FROM t)),
lat AS (
	SELECT t.id AS tid, a.id AS lid, a.value AS lv, a.methodology AS lm, a.period_end AS lpe, a.pos AS lpos
	FROM t JOIN a ON a.unit = t.unit AND a.indicator = t.indicator
		AND CASE WHEN t.period_kind = 'RANGE' THEN a.period = t.period
			ELSE a.period_kind <> 'RANGE' AND a.period_end <= t.period_end END
	QUALIFY row_number() OVER (PARTITION BY t.id ORDER BY a.period_end DESC, a.period_start DESC) = 1),
bas AS (
	SELECT l.tid, a.id AS bid, a.value AS bv, a.pos AS bpos
	FROM lat l JOIN t ON t.id = l.tid JOIN a ON a.unit = t.unit AND a.indicator = t.indicator
		AND t.period_kind <> 'RANGE' AND a.period_kind <> 'RANGE' AND a.period_end < l.lpe
		AND a.methodology IS NOT DISTINCT FROM l.lm
	QUALIFY row_number() OVER (PARTITION BY l.tid ORDER BY a.period_start, a.period_end) = 1),
calc AS (
	SELECT t.unit, t.indicator, t.id AS tid, t.direction, t.period_kind, t.value AS tv, t.methodology AS tm, t.flags AS tf,
		l.lid, l.lv, l.lm, b.bid,
		(l.lv - b.bv) / nullif(t.value - b.bv, 0) AS progress,
		(l.lpos - b.bpos) / nullif(t.pos - b.bpos, 0) AS expected,
		CASE WHEN t.period_kind <> 'RANGE' THEN (t.value - l.lv) / nullif(t.pos - l.lpos, 0) END AS required,
		t.period_end AS tpe
	FROM t LEFT JOIN lat l ON l.tid = t.id LEFT JOIN bas b ON b.tid = t.id)
SELECT unit, indicator, tid, lid, bid, progress, expected, required,
	CASE WHEN lid IS NULL THEN 'NO_ACTUAL'
		WHEN direction = 'higher_better' AND lv >= tv THEN 'ACHIEVED'
		WHEN direction = 'lower_better' AND lv <= tv THEN 'ACHIEVED'
		WHEN direction = 'neutral' THEN 'NO_DIRECTION'
		WHEN period_kind = 'RANGE' THEN 'OFF_TRACK'
		WHEN bid IS NULL OR progress IS NULL THEN 'NO_BASELINE'
		WHEN progress >= expected THEN 'ON_TRACK'
		ELSE 'OFF_TRACK' END,
	crosses_break(lm, tm, tf)
FROM calc ORDER BY unit, indicator, tpe, tid`

// Progress reports targets against actuals (see indicator.Analytics).
func (s *Store) Progress(ctx context.Context, q indicator.ProgressQuery) ([]indicator.ProgressRow, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	units, err := resolveSet(sn.dim, indicator.UnitSet{Codes: q.Units}, "units")
	if err != nil {
		return nil, err
	}
	if len(q.Indicators) > 0 {
		if _, err := s.knownIndicators(sn.dim, q.Indicators, "indicators"); err != nil {
			return nil, err
		}
	}
	inds := q.Indicators
	if inds == nil {
		inds = []string{}
	}
	type ids struct{ t, l, b sql.NullInt64 }
	var rows []indicator.ProgressRow
	var refs []ids
	err = s.query(ctx, sn, "store: progress", progressSQL, []any{units, inds, q.TargetYear}, func(r *sql.Rows) error {
		var row indicator.ProgressRow
		var x ids
		var prog, exp, req sql.NullFloat64
		var status string
		var crosses sql.NullBool
		if err := r.Scan(&row.Unit, &row.Indicator, &x.t, &x.l, &x.b, &prog, &exp, &req, &status, &crosses); err != nil {
			return err
		}
		row.Progress, row.ExpectedProgress, row.RequiredPerYear = fptr(prog), fptr(exp), fptr(req)
		row.Status, row.CrossesBreak = indicator.ProgressStatus(status), crosses.Bool
		rows = append(rows, row)
		refs = append(refs, x)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var all []sql.NullInt64
	for _, x := range refs {
		all = append(all, x.t, x.l, x.b)
	}
	obs, err := s.observationsOf(ctx, sn, all...)
	if err != nil {
		return nil, err
	}
	for i, x := range refs {
		rows[i].Target = obs[x.t.Int64]
		rows[i].Latest, rows[i].Baseline = obsPtr(obs, x.l), obsPtr(obs, x.b)
		switch {
		case rows[i].Status == indicator.StatusNoActual && rows[i].Target.Period.Kind == indicator.PeriodRange:
			rows[i].Note = "the target is a total over the plan period; there is no actual total for that period"
		case rows[i].Status == indicator.StatusNoBaseline:
			rows[i].Note = "only one actual value under the latest methodology: progress needs an earlier one"
		}
	}
	if rows == nil {
		rows = []indicator.ProgressRow{}
	}
	return rows, nil
}

// reconcileSQL sums the parts of each breakdown of a total and compares
// them with the total. $1 total, $2 units (empty: all), $3 period label
// (null: all), $4 kind.
const reconcileSQL = `
WITH parts AS (SELECT code, breakdown FROM indicators WHERE total = $1 AND breakdown IS NOT NULL),
expected AS (SELECT breakdown, count(*) AS n FROM parts GROUP BY breakdown),
pv AS (
	SELECT o.unit, o.period, p.breakdown, o.value, o.id FROM observations o JOIN parts p ON p.code = o.indicator
	WHERE o.canonical AND o.kind = $4 AND (len($2::VARCHAR[]) = 0 OR list_contains($2::VARCHAR[], o.unit))
		AND ($3::VARCHAR IS NULL OR o.period = $3)),
agg AS (SELECT unit, period, breakdown, sum(value) AS total, count(*) AS n, list(id ORDER BY id) AS ids FROM pv GROUP BY ALL)
SELECT a.unit, a.period, a.breakdown, a.total, a.n, e.n, t.id, a.total - t.value, a.ids
FROM agg a JOIN expected e USING (breakdown)
LEFT JOIN observations t ON t.unit = a.unit AND t.period = a.period AND t.indicator = $1 AND t.kind = $4 AND t.canonical
LEFT JOIN periods pp ON pp.label = a.period
ORDER BY a.unit, pp.period_start, a.breakdown`

// Reconcile compares breakdowns with their totals (see indicator.Analytics).
func (s *Store) Reconcile(ctx context.Context, q indicator.ReconcileQuery) ([]indicator.ReconcileRow, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if _, err := s.knownIndicators(sn.dim, []string{q.Total}, "total"); err != nil {
		return nil, err
	}
	units := q.Units
	if units == nil {
		units = []string{}
	} else if units, err = resolveSet(sn.dim, indicator.UnitSet{Codes: q.Units}, "units"); err != nil {
		return nil, err
	}
	var period any
	if q.Period != nil {
		period = q.Period.Label
	}
	var rows []indicator.ReconcileRow
	var totals []sql.NullInt64
	err = s.query(ctx, sn, "store: reconcile", reconcileSQL, []any{q.Total, units, period, kindOrActual(q.Kind)}, func(r *sql.Rows) error {
		row := indicator.ReconcileRow{Total: q.Total}
		var label string
		var sum, gap sql.NullFloat64
		var tid sql.NullInt64
		var ids []any
		if err := r.Scan(&row.Unit, &label, &row.Breakdown, &sum, &row.Parts, &row.PartsExpected, &tid, &gap, &ids); err != nil {
			return err
		}
		row.Period, row.Sum, row.Gap = sn.dim.periods[label], fptr(sum), fptr(gap)
		for _, id := range ids {
			row.Inputs = append(row.Inputs, id.(int64))
		}
		rows = append(rows, row)
		totals = append(totals, tid)
		return nil
	})
	if err != nil {
		return nil, err
	}
	obs, err := s.observationsOf(ctx, sn, totals...)
	if err != nil {
		return nil, err
	}
	for i, t := range totals {
		rows[i].TotalObs = obsPtr(obs, t)
	}
	if rows == nil {
		rows = []indicator.ReconcileRow{}
	}
	return rows, nil
}

// ChangeBetween is the change between two periods of one series; both
// must have a value.
func (s *Store) ChangeBetween(ctx context.Context, q indicator.TrendQuery) (indicator.Change, error) {
	if q.From == nil || q.To == nil {
		return indicator.Change{}, indicator.Invalidf("from", "a change needs both from and to")
	}
	t, err := s.Trend(ctx, q)
	if err != nil {
		return indicator.Change{}, err
	}
	n := len(t.Points)
	switch {
	case n == 0 || t.Points[0].Obs.Period.Label != q.From.Label:
		return indicator.Change{}, &indicator.ArgError{Arg: "from", Reason: fmt.Sprintf("%s has no %s value of %s for %s", q.Unit, kindOrActual(q.Kind), q.Indicator, q.From.Label), Kind: indicator.ErrNotFound}
	case t.Points[n-1].Obs.Period.Label != q.To.Label:
		return indicator.Change{}, &indicator.ArgError{Arg: "to", Reason: fmt.Sprintf("%s has no %s value of %s for %s", q.Unit, kindOrActual(q.Kind), q.Indicator, q.To.Label), Kind: indicator.ErrNotFound}
	case n == 1:
		return indicator.Change{}, indicator.Invalidf("to", "from and to are the same period")
	}
	return *t.Overall, nil
}

// matrixSQL: canonical values of units × indicators × periods. $1 units,
// $2 kind, $3 period labels (empty: every non-range period); the
// indicators follow as constants at {{INDS}}.
const matrixSQL = `
SELECT ` + obsColumns + ` FROM observations
WHERE canonical AND kind = $2 AND unit IN (SELECT unnest($1::VARCHAR[])) AND indicator IN ({{INDS}})
	AND CASE WHEN len($3::VARCHAR[]) = 0 THEN period_kind <> 'RANGE' ELSE list_contains($3::VARCHAR[], period) END
ORDER BY period_start, period_end, period, basis, id`

// Matrix returns a units × periods or units × indicators table.
func (s *Store) Matrix(ctx context.Context, q indicator.MatrixQuery) (indicator.Matrix, error) {
	if q.ByIndicator {
		cmp, err := s.Compare(ctx, indicator.CompareQuery{Indicators: q.Indicators, Units: q.Units, Period: q.Period, Kind: q.Kind})
		if err != nil {
			return indicator.Matrix{}, err
		}
		m := indicator.Matrix{Columns: q.Indicators}
		rowOf := map[string]int{}
		col := map[string]int{}
		for i, c := range q.Indicators {
			col[c] = i
		}
		for _, r := range cmp.Rows {
			if _, ok := rowOf[r.Unit]; !ok {
				rowOf[r.Unit] = 0
				m.Units = append(m.Units, r.Unit)
			}
		}
		sort.Strings(m.Units) // rows in code order, as by PERIOD
		m.Cells = make([][]*indicator.Observation, len(m.Units))
		for i, u := range m.Units {
			rowOf[u] = i
			m.Cells[i] = make([]*indicator.Observation, len(q.Indicators))
		}
		for _, r := range cmp.Rows {
			m.Cells[rowOf[r.Unit]][col[r.Indicator]] = r.Obs
		}
		return m, nil
	}
	if len(q.Indicators) != 1 {
		return indicator.Matrix{}, indicator.Invalidf("indicators", "a matrix by period takes exactly one indicator (use by: INDICATOR for several)")
	}
	sn, done, err := s.snap(ctx)
	if err != nil {
		return indicator.Matrix{}, err
	}
	defer done()
	units, err := resolveSet(sn.dim, q.Units, "units")
	if err != nil {
		return indicator.Matrix{}, err
	}
	if _, err := s.knownIndicators(sn.dim, q.Indicators, "indicators"); err != nil {
		return indicator.Matrix{}, err
	}
	labels := make([]string, len(q.Periods))
	for i, p := range q.Periods {
		labels[i] = p.Label
	}
	m := indicator.Matrix{Units: units, Columns: labels, Cells: make([][]*indicator.Observation, len(units))}
	rowOf := make(map[string]int, len(units))
	for i, u := range units {
		rowOf[u] = i
	}
	col := map[string]int{}
	for i, l := range labels {
		col[l] = i
	}
	var found []indicator.Observation
	if p := sn.pts.Load(); p != nil {
		found = p.matrixCells(sn.dim, units, q.Indicators[0], kindOrActual(q.Kind), labels)
	} else {
		args := []any{units, kindOrActual(q.Kind), labels}
		mq := strings.ReplaceAll(matrixSQL, "{{INDS}}", inList(q.Indicators, &args, true))
		err = s.query(ctx, sn, "store: matrix", mq, args, func(r *sql.Rows) error {
			o, _, err := scanObservation(r, sn.dim)
			if err == nil {
				found = append(found, o)
			}
			return err
		})
		if err != nil {
			return indicator.Matrix{}, err
		}
	}
	if len(labels) == 0 { // columns: every period found, in time order
		for _, o := range found {
			if _, ok := col[o.Period.Label]; !ok {
				col[o.Period.Label] = len(m.Columns)
				m.Columns = append(m.Columns, o.Period.Label)
			}
		}
	}
	for i := range m.Cells {
		m.Cells[i] = make([]*indicator.Observation, len(m.Columns))
	}
	// A cell with several rows (one per basis) shows the first: the one
	// without a basis.
	for k := range found {
		o := &found[k]
		if cell := &m.Cells[rowOf[o.Unit]][col[o.Period.Label]]; *cell == nil {
			*cell = o
		}
	}
	return m, nil
}
