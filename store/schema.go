package store

// schemaDDL creates a build's tables. Observations arrive in stage_obs as
// text (with the file and line they came from), are validated in SQL, and
// are typed, sorted and numbered into observations by sortSQL (or
// taken in their order, see order.go).
var schemaDDL = []string{
	`CREATE TABLE sources (
		id VARCHAR PRIMARY KEY, title VARCHAR NOT NULL, issuer VARCHAR, number VARCHAR, date VARCHAR, kind VARCHAR,
		content_date VARCHAR, stated DATE)`,
	`CREATE TABLE units (
		code VARCHAR PRIMARY KEY, name_vi VARCHAR NOT NULL, name_ascii VARCHAR NOT NULL, name_en VARCHAR,
		level VARCHAR NOT NULL, level_rank INTEGER NOT NULL, parent VARCHAR, valid_from DATE, valid_to DATE,
		official_code VARCHAR, type VARCHAR, source_id VARCHAR, locator VARCHAR)`,
	`CREATE TABLE unit_changes (
		predecessor VARCHAR NOT NULL, successor VARCHAR, date DATE NOT NULL, kind VARCHAR NOT NULL, share DOUBLE,
		source_id VARCHAR, locator VARCHAR)`,
	`CREATE TABLE unit_closure (ancestor VARCHAR NOT NULL, descendant VARCHAR NOT NULL, depth INTEGER NOT NULL)`,
	`CREATE TABLE indicators (
		code VARCHAR PRIMARY KEY, name_vi VARCHAR NOT NULL, name_ascii VARCHAR NOT NULL, name_en VARCHAR,
		measure_unit VARCHAR NOT NULL, scale DOUBLE NOT NULL, theme VARCHAR, direction VARCHAR NOT NULL, grp VARCHAR NOT NULL,
		rollup VARCHAR NOT NULL, rollup_weight VARCHAR, rollup_numerator VARCHAR, rollup_denominator VARCHAR,
		total VARCHAR, breakdown VARCHAR, definition VARCHAR)`,
	`CREATE TABLE periods (label VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, period_start DATE NOT NULL, period_end DATE NOT NULL)`,
	// Typed staging: numbers are parsed once on the way in; a value that
	// did not parse keeps its text in *_text for the error message.
	`CREATE TABLE stage_obs (
		unit VARCHAR, indicator VARCHAR, period VARCHAR, kind VARCHAR,
		value DOUBLE, value_text VARCHAR, denominator DOUBLE, denominator_text VARCHAR,
		qualifier VARCHAR, flags VARCHAR, methodology VARCHAR, source VARCHAR,
		line INTEGER, line_text VARCHAR, raw VARCHAR, note VARCHAR,
		_file INTEGER, _line BIGINT)`,
}

// macroDDL defines the arithmetic every analytic shares, once per build,
// so comparisons, trends and progress compute changes the same way.
var macroDDL = []string{
	// Relative change; null when the base is zero.
	`CREATE MACRO rel_change(v1, v2) AS CASE WHEN v1 <> 0 THEN (v2 - v1) / abs(v1) END`,
	// Compound annual growth; null unless both values are positive and time passed.
	`CREATE MACRO cagr(v1, v2, y) AS CASE WHEN v1 > 0 AND v2 > 0 AND y > 0 THEN pow(v2 / v1, 1 / y) - 1 END`,
	// A change crosses a methodology break when both sides name different
	// methodologies, or the later observation is flagged break.
	`CREATE MACRO crosses_break(m1, m2, f2) AS coalesce(m1 <> m2, false) OR contains(';' || coalesce(f2, '') || ';', ';break;')`,
}

// fracYearSQL is the date expression d (fixed text from this file) as a
// fractional calendar year (2020-07-02 ≈ 2020.5).
func fracYearSQL(d string) string {
	return "(year(" + d + ") + (dayofyear(" + d + ") - 1) / dayofyear(make_date(year(" + d + "), 12, 31))::DOUBLE)"
}

// posSQL is a period's position, stored per observation as pos: the
// midpoint of its span in fractional years, so a calendar year Y sits at
// Y + 0.5 and SY2023-2024 at 2024.17. Years between two periods is the
// difference of their positions: consecutive calendar years are exactly 1
// apart, 2016-2020 and 2021 are 3. end_pos, the end as a fractional year,
// measures a value's age. Both are computed once, at load, rather than by
// macros in every query: a nested macro costs milliseconds of planning.
var posSQL = "(" + fracYearSQL("p.period_start") + " + " + fracYearSQL("(p.period_end + INTERVAL 1 DAY)") + ") / 2"

// basisSQL derives an observation's basis from its flags column: a yearly
// average and a cumulative total over the same range are different facts.
const basisSQL = `CASE WHEN contains(';' || coalesce(flags, '') || ';', ';per_year;') THEN 'per_year'
	WHEN contains(';' || coalesce(flags, '') || ';', ';cumulative;') THEN 'cumulative' ELSE '' END`

// preferSQL orders the observations of one (unit, indicator, period, kind,
// basis) group, so the first is canonical (the README's rule for
// conflicts): first those the dataset does not flag as doubtful; then
// the latest statement, by when the source's figures are as of (stated:
// its content_date, else its date, not when the text was published or
// republished), which puts a later revision of a period before an
// earlier estimate and an outturn stated after the period ended before a
// figure stated while it ran; then not a range bound; then source and
// line, and last the position in the input, so the order is total. It
// reads the columns of sortSQL's s.
const preferSQL = `doubtful, stated DESC NULLS LAST, bound, source, line NULLS FIRST,
	coalesce(qualifier, ''), coalesce(raw, ''), coalesce(flags, ''), _file, _line`

// sortSQL types, sorts and numbers the staged observations. It is one
// plain parallel sort, numbered by a streaming row_number() that follows
// the sorted order (TestPhysicalOrder checks it on shuffled input): id
// follows (indicator, level, unit, period …), so one indicator's rows sit
// together, and within them one level's, and id is the keyset for
// pagination. Each row carries its unit's level_rank: a query over a set
// of units of known levels filters on it (levelsCond), which the scan
// applies before it reads the other columns, so comparing 700 districts
// reads their rows, not the 10,600 communes' interleaved with them. Every
// row starts canonical; canonicalSQL corrects the few groups with more
// than one row, without relying on the ids' order.
var sortSQL = `CREATE TABLE observations AS
	SELECT row_number() OVER () AS id, * FROM (
	WITH s AS (` + stageJoinSQL + `)
	SELECT ` + servedColumnsSQL + `
	FROM s
	ORDER BY ` + servedOrderSQL + `, ` + preferSQL + `)`

// stageJoinSQL is the validated stage with what the served table adds
// from the dimensions (level rank, period bounds and positions, the
// source's date) and derives from each row (basis, doubtful, bound).
var stageJoinSQL = `SELECT st.*, u.level_rank::UTINYINT AS level_rank, p.kind AS period_kind, p.period_start, p.period_end, ` + posSQL + ` AS pos,
			` + fracYearSQL("p.period_end") + ` AS end_pos, src.stated,
			` + basisSQL + ` AS basis,
			` + doubtfulSQL + ` AS doubtful, ` + boundSQL + ` AS bound
		FROM stage_obs st JOIN periods p ON p.label = st.period JOIN units u ON u.code = st.unit
		LEFT JOIN sources src ON src.id = st.source`

// servedColumnsSQL are the served table's columns after id, from
// stageJoinSQL's rows.
const servedColumnsSQL = `unit, level_rank, indicator, period, period_kind, period_start, period_end, pos, end_pos, kind, value, denominator,
		qualifier, coalesce(flags, '') AS flags, methodology, source, line, raw, note, basis,
		true AS canonical, _file, _line`

// servedOrderSQL is the served order up to a canonical group (unit,
// indicator, period, kind, basis); preferSQL orders a group's rows.
const servedOrderSQL = `indicator, level_rank, unit, period_start, period_end, period, kind, basis`

// boundSQL: an observation that is one bound of a range figure.
const boundSQL = `coalesce(qualifier, '') IN ('range_min', 'range_max')`

// doubtfulSQL: an observation the dataset itself flags as doubtful.
const doubtfulSQL = `(contains(';' || coalesce(flags, '') || ';', ';inconsistent;') OR contains(';' || coalesce(flags, '') || ';', ';typo_suspected;'))`

// canonicalSQL finds the groups with more than one observation (rare: a
// figure reported twice, or by two sources), ranks their rows by preferSQL,
// marks all but the first non-canonical, and keeps, per identical row (the
// same identity: group plus qualifier, source, line, figure and flags),
// its first occurrence, for dupsSQL. Only the rows of such groups
// are sorted, so this costs one grouping pass over the table.
var canonicalSQL = []string{
	`CREATE TEMP TABLE multi AS
	SELECT unit, indicator, period, kind, basis FROM observations GROUP BY ALL HAVING count(*) > 1`,
	`CREATE TEMP TABLE ranked AS
	WITH s AS (
		SELECT o.id, o.unit, o.indicator, o.period, o.kind, o.basis, o.qualifier, o.flags, o.source, o.line, o.raw,
			o._file, o._line, src.stated, ` + doubtfulSQL + ` AS doubtful, ` + boundSQL + ` AS bound
		FROM observations o SEMI JOIN multi m USING (unit, indicator, period, kind, basis)
		LEFT JOIN sources src ON src.id = o.source)
	SELECT id, _file, _line,
		row_number() OVER (PARTITION BY unit, indicator, period, kind, basis ORDER BY ` + preferSQL + `) AS rank,
		row_number() OVER same AS copy,
		first_value(_file) OVER same AS first_file,
		first_value(_line) OVER same AS first_line
	FROM s
	WINDOW same AS (PARTITION BY unit, indicator, period, kind, basis, coalesce(qualifier, ''), source, line,
		coalesce(raw, ''), flags ORDER BY _file, _line)`,
	`UPDATE observations SET canonical = false WHERE id IN (SELECT id FROM ranked WHERE rank > 1)`,
}

// dupsSQL lists rows identical to an earlier one (at most the argument),
// each with that first occurrence.
const dupsSQL = `SELECT _file, _line, first_file, first_line FROM ranked
	WHERE copy > 1 ORDER BY _file, _line LIMIT ?`

// compactSQL drops the load-only columns and checkpoints, which compresses
// the in-memory tables (about half the memory, measured on 10M rows).
// Serving then restores insertion order: observations are stored in id
// order, and with the setting on, a filtered scan of one table under a
// LIMIT yields the lowest ids first without sorting what it read (a page
// of the observations table reads 101 rows, not all that match).
var compactSQL = []string{
	`DROP TABLE IF EXISTS multi`,
	`DROP TABLE IF EXISTS ranked`,
	`ALTER TABLE observations DROP COLUMN _file`,
	`ALTER TABLE observations DROP COLUMN _line`,
	`CHECKPOINT`,
	`SET preserve_insertion_order = true`,
}
