package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sort"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"chiso/indicator"
)

// ObservationColumns are the observation table's columns as the loader
// contract names them; unit, indicator, period, kind, value and source are
// required, the rest optional.
var ObservationColumns = []string{"unit", "indicator", "period", "kind", "value", "denominator", "qualifier", "flags", "methodology", "source", "line", "raw", "note"}

// RequiredObservationColumns must be present in an observations file.
var RequiredObservationColumns = []string{"unit", "indicator", "period", "kind", "value", "source"}

// Finding is one problem found while validating staged observations. File
// is the index the loader gave the file; Line is the record's line (CSV) or
// 1-based row number (Parquet, Arrow).
type Finding struct {
	File    int
	Line    int64
	Column  string
	Value   string
	Problem string
}

// Build is a dataset being loaded into a fresh DuckDB instance beside the
// one being served. Nothing it does is visible until Swap; Close discards it.
type Build struct {
	s       *Store
	db      *sql.DB
	periods []indicator.Period
	units   []indicator.Unit
	inds    []indicator.Indicator
	srcs    []indicator.Source
	swapped bool
}

// NewBuild opens a fresh in-memory DuckDB instance for a load.
func (s *Store) NewBuild(ctx context.Context) (*Build, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("store: open duckdb: %w", err)
	}
	// One connection: an in-memory DuckDB parallelises inside a statement,
	// and a single connection keeps temporary state simple.
	settings := []string{}
	if s.opts.Threads > 0 {
		settings = append(settings, fmt.Sprintf("SET threads = %d", s.opts.Threads))
	}
	if s.opts.MemoryLimit != "" {
		settings = append(settings, fmt.Sprintf("SET memory_limit = '%s'", strings.ReplaceAll(s.opts.MemoryLimit, "'", "")))
	}
	for _, q := range append(settings, schemaDDL...) {
		if _, err := db.ExecContext(ctx, q); err != nil {
			db.Close()
			return nil, fmt.Errorf("store: prepare build: %w", err)
		}
	}
	return &Build{s: s, db: db}, nil
}

// Close discards the build unless it was swapped in.
func (b *Build) Close() {
	if !b.swapped {
		b.db.Close()
	}
}

// appendRows streams rows into table through DuckDB's appender.
func (b *Build) appendRows(ctx context.Context, table string, next func() ([]driver.Value, error)) error {
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		ap, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", table)
		if err != nil {
			return err
		}
		for {
			row, err := next()
			if err != nil {
				ap.Close()
				return err
			}
			if row == nil {
				break
			}
			if err := ap.AppendRow(row...); err != nil {
				ap.Close()
				return err
			}
		}
		return ap.Close()
	})
}

// StageObservations appends observation records read by the loader. cols
// names each value's column (a subset of ObservationColumns); next returns
// the record's line and values, or nil values at the end.
func (b *Build) StageObservations(ctx context.Context, file int, cols []string, next func() (int64, []string, error)) error {
	pos := make([]int, len(ObservationColumns))
	for i, c := range ObservationColumns {
		pos[i] = -1
		for j, h := range cols {
			if h == c {
				pos[i] = j
			}
		}
	}
	row := make([]driver.Value, len(ObservationColumns)+2)
	err := b.appendRows(ctx, "stage_obs", func() ([]driver.Value, error) {
		line, vals, err := next()
		if err != nil || vals == nil {
			return nil, err
		}
		for i, p := range pos {
			if p >= 0 && p < len(vals) {
				row[i] = vals[p]
			} else {
				row[i] = nil
			}
		}
		row[len(ObservationColumns)] = int32(file)
		row[len(ObservationColumns)+1] = line
		return row, nil
	})
	if err != nil {
		return fmt.Errorf("store: stage observations: %w", err)
	}
	return nil
}

// StageObservationsParquet stages a Parquet observations file with
// DuckDB's own reader. cols are the file's columns (see ParquetColumns).
func (b *Build) StageObservationsParquet(ctx context.Context, file int, path string, cols []string) error {
	have := map[string]bool{}
	for _, c := range cols {
		have[c] = true
	}
	sel := make([]string, 0, len(ObservationColumns)+2)
	for _, c := range ObservationColumns {
		if have[c] {
			sel = append(sel, fmt.Sprintf("CAST(%s AS VARCHAR)", quoteIdent(c)))
		} else {
			sel = append(sel, "NULL")
		}
	}
	sel = append(sel, "?::INTEGER", "file_row_number + 1")
	q := fmt.Sprintf("INSERT INTO stage_obs SELECT %s FROM read_parquet(?, file_row_number = true)", strings.Join(sel, ", "))
	if _, err := b.db.ExecContext(ctx, q, file, path); err != nil {
		return fmt.Errorf("store: stage parquet %s: %w", path, err)
	}
	return nil
}

// ParquetTable reads a whole (small) Parquet file as text: its column
// names and, per row, the values (empty for NULL).
func (b *Build) ParquetTable(ctx context.Context, path string) ([]string, [][]string, error) {
	cols, err := b.ParquetColumns(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = fmt.Sprintf("coalesce(CAST(%s AS VARCHAR), '')", quoteIdent(c))
	}
	q := fmt.Sprintf("SELECT %s FROM read_parquet(?) ", strings.Join(sel, ", "))
	rows, err := b.db.QueryContext(ctx, q, path)
	if err != nil {
		return nil, nil, fmt.Errorf("store: read parquet %s: %w", path, err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, err
		}
		out = append(out, vals)
	}
	return cols, out, rows.Err()
}

// ParquetColumns lists the column names of a Parquet file.
func (b *Build) ParquetColumns(ctx context.Context, path string) ([]string, error) {
	rows, err := b.db.QueryContext(ctx, "SELECT name FROM parquet_schema(?) WHERE num_children IS NULL OR num_children = 0", path)
	if err != nil {
		return nil, fmt.Errorf("store: read parquet schema %s: %w", path, err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

// PutDimensions writes the validated units, indicators and sources, and the
// unit closure, into the build. Call it before Validate.
func (b *Build) PutDimensions(ctx context.Context, units []indicator.Unit, inds []indicator.Indicator, srcs []indicator.Source) error {
	b.units, b.inds, b.srcs = units, inds, srcs
	byCode := make(map[string]indicator.Unit, len(units))
	for _, u := range units {
		byCode[u.Code] = u
	}
	i := 0
	err := b.appendRows(ctx, "units", func() ([]driver.Value, error) {
		if i == len(units) {
			return nil, nil
		}
		u := units[i]
		i++
		return []driver.Value{u.Code, u.NameVI, u.NameASCII, nullStr(u.NameEN), string(u.Level), int32(u.Level.Rank()), nullStr(u.Parent), nullTime(u.ValidFrom), nullTime(u.ValidTo)}, nil
	})
	if err != nil {
		return fmt.Errorf("store: write units: %w", err)
	}
	// Closure: every (ancestor, descendant, depth), including depth 0.
	type edge struct {
		a, d  string
		depth int32
	}
	var edges []edge
	for _, u := range units {
		edges = append(edges, edge{u.Code, u.Code, 0})
		cur, depth := u, int32(0)
		for cur.Parent != "" {
			p, ok := byCode[cur.Parent]
			if !ok {
				break
			}
			depth++
			edges = append(edges, edge{p.Code, u.Code, depth})
			cur = p
		}
	}
	i = 0
	err = b.appendRows(ctx, "unit_closure", func() ([]driver.Value, error) {
		if i == len(edges) {
			return nil, nil
		}
		e := edges[i]
		i++
		return []driver.Value{e.a, e.d, e.depth}, nil
	})
	if err != nil {
		return fmt.Errorf("store: write unit closure: %w", err)
	}
	i = 0
	err = b.appendRows(ctx, "indicators", func() ([]driver.Value, error) {
		if i == len(inds) {
			return nil, nil
		}
		d := inds[i]
		i++
		return []driver.Value{d.Code, d.NameVI, d.NameASCII, nullStr(d.NameEN), d.MeasureUnit, d.Scale, nullStr(d.Theme), string(d.Direction), d.Group,
			string(d.Rollup.Kind), nullStr(d.Rollup.Weight), nullStr(d.Rollup.Numerator), nullStr(d.Rollup.Denominator), nullStr(d.Total), nullStr(d.Breakdown), nullStr(d.Definition)}, nil
	})
	if err != nil {
		return fmt.Errorf("store: write indicators: %w", err)
	}
	i = 0
	err = b.appendRows(ctx, "sources", func() ([]driver.Value, error) {
		if i == len(srcs) {
			return nil, nil
		}
		s := srcs[i]
		i++
		return []driver.Value{s.ID, s.Title, nullStr(s.Issuer), nullStr(s.Number), nullStr(s.Date), nullStr(s.Kind)}, nil
	})
	if err != nil {
		return fmt.Errorf("store: write sources: %w", err)
	}
	return nil
}

func nullStr(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t *time.Time) driver.Value {
	if t == nil {
		return nil
	}
	return *t
}

// quoteIdent quotes an identifier from the fixed column allow-list.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// Validate checks the staged observations against the dimensions, set at
// a time, and returns at most limit findings ordered by file and line.
func (b *Build) Validate(ctx context.Context, limit int) ([]Finding, error) {
	var out []Finding
	run := func(column, problem, where string, args ...any) error {
		if len(out) >= limit {
			return nil
		}
		q := fmt.Sprintf(`SELECT _file, _line, coalesce(CAST(%s AS VARCHAR), '') FROM stage_obs WHERE %s ORDER BY _file, _line LIMIT %d`,
			quoteIdent(column), where, limit-len(out))
		rows, err := b.db.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("store: validate %s: %w", column, err)
		}
		defer rows.Close()
		for rows.Next() {
			f := Finding{Column: column, Problem: problem}
			if err := rows.Scan(&f.File, &f.Line, &f.Value); err != nil {
				return err
			}
			out = append(out, f)
		}
		return rows.Err()
	}
	blank := func(c string) string {
		return fmt.Sprintf("(%s IS NULL OR trim(%s) = '')", quoteIdent(c), quoteIdent(c))
	}
	kinds := make([]string, len(indicator.ObservationKinds))
	for i, k := range indicator.ObservationKinds {
		kinds[i] = string(k)
	}
	checks := []struct {
		column, problem, where string
		args                   []any
	}{
		{"unit", "a value is required", blank("unit"), nil},
		{"indicator", "a value is required", blank("indicator"), nil},
		{"period", "a value is required", blank("period"), nil},
		{"kind", "a value is required", blank("kind"), nil},
		{"value", "a value is required", blank("value"), nil},
		{"source", "a value is required", blank("source"), nil},
		{"unit", "expected the code of a unit in units", "NOT " + blank("unit") + " AND unit NOT IN (SELECT code FROM units)", nil},
		{"indicator", "expected the code of an indicator in indicators", "NOT " + blank("indicator") + " AND indicator NOT IN (SELECT code FROM indicators)", nil},
		{"source", "expected the id of a source in sources", "NOT " + blank("source") + " AND source NOT IN (SELECT id FROM sources)", nil},
		{"kind", "expected one of " + strings.Join(kinds, ", "), "NOT " + blank("kind") + " AND NOT list_contains(?::VARCHAR[], kind)", []any{kinds}},
		{"value", "expected a finite number with '.' as decimal point", "NOT " + blank("value") + " AND NOT coalesce(isfinite(TRY_CAST(value AS DOUBLE)), false)", nil},
		{"denominator", "expected a finite number or nothing", "NOT " + blank("denominator") + " AND NOT coalesce(isfinite(TRY_CAST(denominator AS DOUBLE)), false)", nil},
		{"line", "expected a line number of 1 or more, or nothing", "NOT " + blank("line") + " AND NOT (regexp_full_match(trim(line), '[0-9]+') AND coalesce(TRY_CAST(trim(line) AS INTEGER) >= 1, false))", nil},
		{"qualifier", "expected one of " + strings.Join(indicator.Qualifiers, ", ") + " or nothing", "NOT " + blank("qualifier") + " AND NOT list_contains(?::VARCHAR[], qualifier)", []any{indicator.Qualifiers}},
		{"flags", "expected flags separated by ';' from " + strings.Join(indicator.Flags, ", "), "NOT " + blank("flags") + " AND NOT list_has_all(?::VARCHAR[], string_split(flags, ';'))", []any{append([]string{""}, indicator.Flags...)}},
	}
	for _, c := range checks {
		if err := run(c.column, c.problem, c.where, c.args...); err != nil {
			return nil, err
		}
	}
	// Periods: parse each distinct label once, in Go.
	labels, err := b.distinct(ctx, "SELECT DISTINCT period FROM stage_obs WHERE NOT "+blank("period"))
	if err != nil {
		return nil, err
	}
	var bad []string
	b.periods = b.periods[:0]
	badWhy := map[string]string{}
	for _, l := range labels {
		p, err := indicator.ParsePeriod(l)
		if err != nil {
			bad = append(bad, l)
			badWhy[l] = strings.TrimPrefix(err.Error(), fmt.Sprintf("period %q: ", l))
			continue
		}
		b.periods = append(b.periods, p)
	}
	if len(bad) > 0 {
		n := len(out)
		if err := run("period", "", "list_contains(?::VARCHAR[], period)", bad); err != nil {
			return nil, err
		}
		for i := n; i < len(out); i++ {
			out[i].Problem = strings.TrimSuffix(badWhy[out[i].Value], ": "+indicator.ErrInvalid.Error())
		}
	}
	// Duplicate keys: report every repeat with the line of the first.
	if len(out) < limit {
		q := fmt.Sprintf(`SELECT _file, _line, first_file, first_line FROM (
			SELECT _file, _line,
				first_value(_file) OVER w AS first_file, first_value(_line) OVER w AS first_line,
				row_number() OVER w AS rn
			FROM stage_obs
			WINDOW w AS (PARTITION BY trim(unit), trim(indicator), trim(period), trim(kind), coalesce(trim(qualifier), ''), %s, trim(source),
				TRY_CAST(NULLIF(trim(line), '') AS INTEGER), coalesce(raw, '') ORDER BY _file, _line)
		) WHERE rn > 1 ORDER BY _file, _line LIMIT %d`, basisSQL, limit-len(out))
		rows, err := b.db.QueryContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("store: validate duplicates: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var f Finding
			var ff int
			var fl int64
			if err := rows.Scan(&f.File, &f.Line, &ff, &fl); err != nil {
				return nil, err
			}
			f.Column = "unit"
			f.Problem = fmt.Sprintf("duplicate observation: same unit, indicator, period, kind, qualifier, basis, source, line and figure as file #%d line %d", ff, fl)
			f.Value = fmt.Sprintf("#%d:%d", ff, fl)
			out = append(out, f)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out, nil
}

func (b *Build) distinct(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := b.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Finish turns the validated stage into the served tables. It must follow
// a Validate that returned no findings.
func (b *Build) Finish(ctx context.Context) error {
	i := 0
	err := b.appendRows(ctx, "periods", func() ([]driver.Value, error) {
		if i == len(b.periods) {
			return nil, nil
		}
		p := b.periods[i]
		i++
		return []driver.Value{p.Label, string(p.Kind), p.Start, p.End}, nil
	})
	if err != nil {
		return fmt.Errorf("store: write periods: %w", err)
	}
	for _, q := range append(finishSQL, macroDDL...) {
		if _, err := b.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("store: finish: %w", err)
		}
	}
	return nil
}

// Swap makes the build the served snapshot and retires the previous one
// (closed once the requests that pinned it finish).
func (s *Store) Swap(ctx context.Context, b *Build, info indicator.DatasetInfo) error {
	units, inds, srcs := b.units, b.inds, b.srcs
	var n int
	if err := b.db.QueryRowContext(ctx, "SELECT count(*) FROM observations").Scan(&n); err != nil {
		return fmt.Errorf("store: count observations: %w", err)
	}
	info.Units, info.Indicators, info.Sources, info.Observations = len(units), len(inds), len(srcs), n
	if info.LoadedAt.IsZero() {
		info.LoadedAt = time.Now().UTC()
	}
	sn := &snapshot{db: b.db, info: info, dim: newDimensions(units, inds, srcs, b.periods)}
	s.swapMu.Lock()
	old := s.cur.Swap(sn)
	s.swapMu.Unlock()
	b.swapped = true
	if old != nil {
		old.retire()
	}
	s.log.Info("dataset swapped in", "version", info.Version, "observations", n, "units", len(units), "indicators", len(inds))
	return nil
}
