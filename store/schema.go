package store

// schemaDDL creates a build's tables. Observations arrive in stage_obs as
// text (with the file and line they came from), are validated in SQL, and
// are typed, sorted and numbered into observations by finishSQL.
var schemaDDL = []string{
	`CREATE TABLE sources (
		id VARCHAR PRIMARY KEY, title VARCHAR NOT NULL, issuer VARCHAR, number VARCHAR, date VARCHAR, kind VARCHAR)`,
	`CREATE TABLE units (
		code VARCHAR PRIMARY KEY, name_vi VARCHAR NOT NULL, name_ascii VARCHAR NOT NULL, name_en VARCHAR,
		level VARCHAR NOT NULL, level_rank INTEGER NOT NULL, parent VARCHAR, valid_from DATE, valid_to DATE)`,
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
	// A date as a fractional calendar year (2020-07-02 ≈ 2020.5).
	`CREATE MACRO frac_year(d) AS year(d) + (dayofyear(d) - 1) / dayofyear(make_date(year(d), 12, 31))::DOUBLE`,
	// A period's position: the midpoint of its span in fractional years
	// (a calendar year Y sits at Y + 0.5; SY2023-2024 at 2024.17).
	`CREATE MACRO period_pos(s, e) AS (frac_year(s) + frac_year(e + INTERVAL 1 DAY)) / 2`,
	// Years between two periods (start, end dates): consecutive calendar
	// years are exactly 1 apart, 2016-2020 and 2021 are 3.
	`CREATE MACRO years_between(s1, e1, s2, e2) AS period_pos(s2, e2) - period_pos(s1, e1)`,
	// Relative change; null when the base is zero.
	`CREATE MACRO rel_change(v1, v2) AS CASE WHEN v1 <> 0 THEN (v2 - v1) / abs(v1) END`,
	// Compound annual growth; null unless both values are positive and time passed.
	`CREATE MACRO cagr(v1, v2, y) AS CASE WHEN v1 > 0 AND v2 > 0 AND y > 0 THEN pow(v2 / v1, 1 / y) - 1 END`,
	// A change crosses a methodology break when both sides name different
	// methodologies, or the later observation is flagged break.
	`CREATE MACRO crosses_break(m1, m2, f2) AS coalesce(m1 <> m2, false) OR contains(';' || coalesce(f2, '') || ';', ';break;')`,
	// Rank key: smaller is better.
	`CREATE MACRO rank_key(v, direction) AS CASE WHEN direction = 'lower_better' THEN v ELSE -v END`,
}

// basisSQL derives an observation's basis from its flags column: a yearly
// average and a cumulative total over the same range are different facts.
const basisSQL = `CASE WHEN contains(';' || coalesce(flags, '') || ';', ';per_year;') THEN 'per_year'
	WHEN contains(';' || coalesce(flags, '') || ';', ';cumulative;') THEN 'cumulative' ELSE '' END`

// finishSQL types, sorts and numbers the staged observations in ONE
// sort, which also yields the canonical flag and adjacent duplicates:
//   - the order groups each (unit, indicator, period, kind, basis) and puts
//     its preferred observation first (most recent source, then not flagged
//     doubtful, then not a range bound, then source and line), so the first
//     of a group is canonical;
//   - rows with the same identity (those columns plus qualifier, source,
//     line, figure and flags) are adjacent, so a duplicate is a row equal to
//     the one before it.
//
// id follows that order (indicator, unit, period …): it is the keyset for
// pagination and puts one indicator's rows together for scans.
var finishSQL = []string{
	`CREATE TABLE observations AS
	WITH s AS (
		SELECT st.*, p.kind AS period_kind, p.period_start, p.period_end, src.date AS src_date,
			` + basisSQL + ` AS basis,
			contains(';' || coalesce(st.flags, '') || ';', ';inconsistent;') OR contains(';' || coalesce(st.flags, '') || ';', ';typo_suspected;') AS doubtful,
			coalesce(st.qualifier, '') IN ('range_min', 'range_max') AS bound
		FROM stage_obs st JOIN periods p ON p.label = st.period LEFT JOIN sources src ON src.id = st.source),
	k AS (
		SELECT s.*, struct_pack(unit, indicator, period, kind, basis) AS gk,
			struct_pack(unit, indicator, period, kind, basis, q := coalesce(qualifier, ''), source, line, r := coalesce(raw, ''), f := coalesce(flags, '')) AS fk
		FROM s)
	SELECT row_number() OVER w AS id,
		unit, indicator, period, period_kind, period_start, period_end, kind, value, denominator,
		qualifier, coalesce(flags, '') AS flags, methodology, source, line, raw, note, basis,
		lag(gk) OVER w IS DISTINCT FROM gk AS canonical,
		CASE WHEN lag(fk) OVER w = fk THEN lag(_file) OVER w END AS _dup_file,
		CASE WHEN lag(fk) OVER w = fk THEN lag(_line) OVER w END AS _dup_line,
		_file, _line
	FROM k
	WINDOW w AS (ORDER BY indicator, unit, period_start, period_end, period, kind, basis, src_date DESC NULLS LAST, doubtful, bound,
		source, line NULLS FIRST, coalesce(qualifier, ''), coalesce(raw, ''), coalesce(flags, ''), _file, _line)`,
	`DROP TABLE stage_obs`,
}

// compactSQL drops the load-only columns and checkpoints, which compresses
// the in-memory tables (about half the memory, measured on 10M rows).
var compactSQL = []string{
	`ALTER TABLE observations DROP COLUMN _dup_file`,
	`ALTER TABLE observations DROP COLUMN _dup_line`,
	`ALTER TABLE observations DROP COLUMN _file`,
	`ALTER TABLE observations DROP COLUMN _line`,
	`CHECKPOINT`,
}
