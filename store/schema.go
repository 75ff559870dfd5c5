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
		total VARCHAR, definition VARCHAR)`,
	`CREATE TABLE periods (label VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, period_start DATE NOT NULL, period_end DATE NOT NULL)`,
	`CREATE TABLE stage_obs (
		unit VARCHAR, indicator VARCHAR, period VARCHAR, kind VARCHAR, value VARCHAR, denominator VARCHAR,
		qualifier VARCHAR, flags VARCHAR, methodology VARCHAR, source VARCHAR, line VARCHAR, raw VARCHAR, note VARCHAR,
		_file INTEGER, _line BIGINT)`,
}

// finishSQL types the staged observations, sorts them by indicator, unit
// and period (so scans of one indicator touch few row groups) and numbers
// them in that order; the number is the stable keyset-pagination key.
var finishSQL = []string{
	`CREATE TABLE observations AS
	SELECT row_number() OVER (ORDER BY s.indicator, s.unit, p.period_start, p.period_end, s.kind,
			coalesce(s.qualifier, ''), s.source, TRY_CAST(s.line AS INTEGER), s._file, s._line) AS id,
		s.unit, s.indicator, s.period, p.kind AS period_kind, p.period_start, p.period_end,
		s.kind, CAST(s.value AS DOUBLE) AS value, CAST(NULLIF(trim(s.denominator), '') AS DOUBLE) AS denominator,
		NULLIF(trim(s.qualifier), '') AS qualifier, coalesce(trim(s.flags), '') AS flags,
		NULLIF(trim(s.methodology), '') AS methodology, s.source,
		CAST(NULLIF(trim(s.line), '') AS INTEGER) AS line, NULLIF(s.raw, '') AS raw, NULLIF(s.note, '') AS note
	FROM stage_obs s JOIN periods p ON p.label = s.period
	ORDER BY id`,
	`DROP TABLE stage_obs`,
}
