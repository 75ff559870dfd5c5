package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"chiso/indicator"
)

// parseNumber reads a plain decimal number: an optional sign, digits, an
// optional '.' fraction and an optional exponent. It refuses what
// strconv.ParseFloat would also take but a dataset should not contain
// (hex floats, underscores, Inf, NaN) and the ',' decimal comma, and a
// magnitude of MaxMagnitude or more.
func parseNumber(s string) (float64, bool) {
	digits := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c == '.' || c == '+' || c == '-' || c == 'e' || c == 'E':
		default:
			return 0, false
		}
	}
	if !digits {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) || math.Abs(v) >= MaxMagnitude {
		return 0, false
	}
	return v, true
}

// parseLine reads a 1-based line number: digits only.
func parseLine(s string) (int32, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 32)
	return int32(v), err == nil && v >= 1
}

// stage column order of stage_obs.
const (
	sUnit = iota
	sIndicator
	sPeriod
	sKind
	sValue
	sValueText
	sDenominator
	sDenominatorText
	sQualifier
	sFlags
	sMethodology
	sSource
	sLine
	sLineText
	sRaw
	sNote
	sFile
	sRow
	stageWidth
)

// StageObservations appends observation records read by the loader. cols
// names each value's column (the loader contract's observation columns;
// others are ignored); next returns the record's line and values, or nil
// values at the end. Text is trimmed
// (raw and note are kept as written) and numbers are parsed here, once.
func (b *Build) StageObservations(ctx context.Context, file int, cols []string, next func() (int64, []string, error)) error {
	pos := map[string]int{}
	for j, h := range cols {
		pos[h] = j
	}
	at := func(vals []string, col string) (string, bool) {
		j, ok := pos[col]
		if !ok || j >= len(vals) {
			return "", false
		}
		return vals[j], true
	}
	text := func(row []driver.Value, i int, vals []string, col string, trim bool) {
		v, ok := at(vals, col)
		if trim {
			v = strings.TrimSpace(v)
		}
		if !ok || v == "" {
			row[i] = nil
		} else {
			row[i] = v
		}
	}
	number := func(row []driver.Value, i, it int, vals []string, col string) {
		row[i], row[it] = nil, nil
		v, _ := at(vals, col)
		if v = strings.TrimSpace(v); v == "" {
			return
		}
		if x, ok := parseNumber(v); ok {
			row[i] = x
		} else {
			row[it] = v
		}
	}
	b.setPhase("stage")
	// The stage keeps the file's order (see order.go): without this, the
	// appender's chunks may land in any order.
	if err := b.preserveOrder(ctx, true); err != nil {
		return err
	}
	defer b.preserveOrder(ctx, false)
	row := make([]driver.Value, stageWidth)
	err := b.appendRows(ctx, "stage_obs", func() ([]driver.Value, error) {
		line, vals, err := next()
		if err != nil || vals == nil {
			return nil, err
		}
		b.prog.rows.Add(1)
		text(row, sUnit, vals, "unit", true)
		text(row, sIndicator, vals, "indicator", true)
		text(row, sPeriod, vals, "period", true)
		text(row, sKind, vals, "kind", true)
		number(row, sValue, sValueText, vals, "value")
		number(row, sDenominator, sDenominatorText, vals, "denominator")
		text(row, sQualifier, vals, "qualifier", true)
		text(row, sFlags, vals, "flags", true)
		text(row, sMethodology, vals, "methodology", true)
		text(row, sSource, vals, "source", true)
		row[sLine], row[sLineText] = nil, nil
		if v, _ := at(vals, "line"); strings.TrimSpace(v) != "" {
			if n, ok := parseLine(strings.TrimSpace(v)); ok {
				row[sLine] = n
			} else {
				row[sLineText] = v
			}
		}
		text(row, sRaw, vals, "raw", false)
		text(row, sNote, vals, "note", false)
		row[sFile], row[sRow] = int32(file), line
		return row, nil
	})
	if err != nil {
		return fmt.Errorf("store: stage observations: %w", err)
	}
	return nil
}

// ParquetColumns lists a Parquet file's columns with their DuckDB types.
func (b *Build) ParquetColumns(ctx context.Context, path string) ([]string, error) {
	cols, _, err := b.parquetSchema(ctx, path)
	return cols, err
}

func (b *Build) parquetSchema(ctx context.Context, path string) ([]string, map[string]string, error) {
	rows, err := b.db.QueryContext(ctx, "DESCRIBE SELECT * FROM read_parquet(?)", path)
	if err != nil {
		return nil, nil, fmt.Errorf("store: read parquet schema %s: %w", path, err)
	}
	_, desc, err := scanAll(rows)
	if err != nil {
		return nil, nil, err
	}
	var cols []string
	types := map[string]string{}
	for _, d := range desc { // column_name, column_type, …
		name, typ := fmt.Sprint(d[0]), fmt.Sprint(d[1])
		cols = append(cols, name)
		types[name] = typ
	}
	return cols, types, nil
}

func isNumericType(t string) bool {
	t = strings.ToUpper(t)
	for _, p := range []string{"DOUBLE", "FLOAT", "REAL", "DECIMAL", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

func isIntegerType(t string) bool {
	t = strings.ToUpper(t)
	return isNumericType(t) && !strings.HasPrefix(t, "DOUBLE") && !strings.HasPrefix(t, "FLOAT") && !strings.HasPrefix(t, "REAL") && !strings.HasPrefix(t, "DECIMAL")
}

// StageObservationsParquet stages a Parquet observations file with
// DuckDB's reader, converting by the file's own column types: numeric
// columns go straight in; text columns are parsed with the same rules as
// CSV, keeping what does not parse for the error message.
func (b *Build) StageObservationsParquet(ctx context.Context, file int, path string, _ []string) error {
	_, types, err := b.parquetSchema(ctx, path)
	if err != nil {
		return err
	}
	b.setPhase("stage")
	var rows int64
	if err := b.db.QueryRowContext(ctx, `SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata(?)`, path).Scan(&rows); err == nil {
		b.prog.expected.Add(rows)
	}
	// The stage keeps the file's order (see order.go).
	if err := b.preserveOrder(ctx, true); err != nil {
		return err
	}
	defer b.preserveOrder(ctx, false)
	st := stageParquetStmt(types, file, path)
	res, err := b.db.ExecContext(ctx, st.String(), st.Args()...)
	if err != nil {
		return fmt.Errorf("store: stage parquet %s: %w", path, err)
	}
	n, _ := res.RowsAffected()
	b.prog.rows.Add(n)
	return nil
}

// stageParquetStmt copies the Parquet file at path, with the DuckDB types
// of its columns, into stage_obs as file.
func stageParquetStmt(types map[string]string, file int, path string) *sqlb {
	var b sqlb
	txt := func(c string, trim bool) string {
		if _, ok := types[c]; !ok {
			return "NULL"
		}
		e := "CAST(" + b.Ident(c) + " AS VARCHAR)"
		if trim {
			e = "trim(" + e + ")"
		}
		return "NULLIF(" + e + ", '')"
	}
	num := func(c string) (string, string) {
		if _, ok := types[c]; !ok {
			return "NULL", "NULL"
		}
		q := b.Ident(c)
		// A value must also be under MaxMagnitude, so no sum or product
		// of values overflows.
		bound := fmt.Sprintf(" < %g", MaxMagnitude)
		if isNumericType(types[c]) {
			// isfinite first: DuckDB folds the bound alone to true from
			// the file's min/max statistics, which leave NaN out.
			d := "CAST(" + q + " AS DOUBLE)"
			ok := "coalesce(isfinite(" + d + ") AND abs(" + d + ")" + bound + ", false)"
			return "CASE WHEN " + ok + " THEN CAST(" + q + " AS DOUBLE) END",
				"CASE WHEN " + q + " IS NOT NULL AND NOT " + ok + " THEN CAST(" + q + " AS VARCHAR) END"
		}
		t := "NULLIF(trim(CAST(" + q + " AS VARCHAR)), '')"
		ok := "(regexp_full_match(" + t + ", '[+-]?[0-9]*\\.?[0-9]+([eE][+-]?[0-9]+)?|[+-]?[0-9]+\\.') AND coalesce(abs(TRY_CAST(" + t + " AS DOUBLE))" + bound + ", false))"
		return "CASE WHEN " + ok + " THEN TRY_CAST(" + t + " AS DOUBLE) END", "CASE WHEN NOT " + ok + " THEN " + t + " END"
	}
	value, valueText := num("value")
	den, denText := num("denominator")
	line, lineText := "NULL", "NULL"
	if typ, ok := types["line"]; ok {
		q := b.Ident("line")
		if isIntegerType(typ) {
			line = "CASE WHEN " + q + " >= 1 THEN CAST(" + q + " AS INTEGER) END"
			lineText = "CASE WHEN " + q + " < 1 THEN CAST(" + q + " AS VARCHAR) END"
		} else {
			t := "NULLIF(trim(CAST(" + q + " AS VARCHAR)), '')"
			line = "CASE WHEN regexp_full_match(" + t + ", '[0-9]+') AND TRY_CAST(" + t + " AS INTEGER) >= 1 THEN TRY_CAST(" + t + " AS INTEGER) END"
			lineText = "CASE WHEN NOT (regexp_full_match(" + t + ", '[0-9]+') AND coalesce(TRY_CAST(" + t + " AS INTEGER) >= 1, false)) THEN " + t + " END"
		}
	}
	sel := []string{txt("unit", true), txt("indicator", true), txt("period", true), txt("kind", true), value, valueText, den, denText,
		txt("qualifier", true), txt("flags", true), txt("methodology", true), txt("source", true), line, lineText,
		txt("raw", false), txt("note", false), b.Arg(file) + "::INTEGER", "file_row_number + 1"}
	b.SQL("INSERT INTO stage_obs SELECT " + strings.Join(sel, ", ") + " FROM read_parquet(" + b.Arg(path) + ", file_row_number = true)")
	return &b
}

// rowProblemsSQL lists the staged rows (at most the argument) missing a
// required value or holding a number that did not parse.
const rowProblemsSQL = `SELECT _file, _line, unit IS NULL, indicator IS NULL, period IS NULL, kind IS NULL, source IS NULL,
		value, value_text, denominator_text, line_text
	FROM stage_obs
	WHERE unit IS NULL OR indicator IS NULL OR period IS NULL OR kind IS NULL OR source IS NULL
		OR value IS NULL OR denominator_text IS NOT NULL OR line_text IS NOT NULL
	ORDER BY _file, _line LIMIT ?`

// badRowsStmt lists the staged rows (at most limit) holding one of the
// bad values of the columns cols (sorted), the columns' values after
// their file and line.
func badRowsStmt(cols []string, bad map[string]map[string]string, limit int) *sqlb {
	var b sqlb
	var conds []string
	sel := []string{"_file", "_line"}
	for _, c := range cols {
		vals := make([]string, 0, len(bad[c]))
		for v := range bad[c] {
			vals = append(vals, v)
		}
		sort.Strings(vals)
		sel = append(sel, b.Ident(c))
		conds = append(conds, "list_contains("+b.Arg(vals)+"::VARCHAR[], "+b.Ident(c)+")")
	}
	b.SQL("SELECT " + strings.Join(sel, ", ") + " FROM stage_obs WHERE " + b.Or(conds...) + " ORDER BY _file, _line LIMIT " + b.Arg(limit))
	return &b
}

// Validate checks the staged observations, set at a time, and returns at
// most limit findings ordered by file and line. It reads the stage twice:
// once to collect the distinct codes, periods, kinds, qualifiers and flags
// (checked here in Go against the dimensions and the domain rules), once
// for row-level problems (missing values, numbers that did not parse);
// rows holding a bad distinct value are then looked up only if there are
// any.
func (b *Build) Validate(ctx context.Context, limit int) ([]Finding, error) {
	units := map[string]bool{}
	for _, u := range b.units {
		units[u.Code] = true
	}
	inds := map[string]bool{}
	for _, x := range b.inds {
		inds[x.Code] = true
	}
	srcs := map[string]bool{}
	for _, x := range b.srcs {
		srcs[x.ID] = true
	}
	kinds := map[string]bool{}
	kindNames := make([]string, len(indicator.ObservationKinds))
	for i, k := range indicator.ObservationKinds {
		kinds[string(k)], kindNames[i] = true, string(k)
	}
	quals := map[string]bool{}
	for _, q := range indicator.Qualifiers {
		quals[q] = true
	}
	flags := map[string]bool{}
	for _, f := range indicator.Flags {
		flags[f] = true
	}
	// 1. Distinct values per checked column, in one scan.
	bad := map[string]map[string]string{} // column -> value -> problem
	mark := func(col, val, problem string) {
		if bad[col] == nil {
			bad[col] = map[string]string{}
		}
		bad[col][val] = problem
	}
	b.setPhase("validate")
	b.periods = b.periods[:0]
	rows, err := b.db.QueryContext(ctx, `SELECT GROUPING_ID(unit, indicator, period, kind, qualifier, flags, source) AS g,
			unit, indicator, period, kind, qualifier, flags, source
		FROM stage_obs GROUP BY GROUPING SETS ((unit), (indicator), (period), (kind), (qualifier), (flags), (source))`)
	if err != nil {
		return nil, fmt.Errorf("store: validate: %w", err)
	}
	for rows.Next() {
		var g int64
		var v [7]sql.NullString
		if err := rows.Scan(&g, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]); err != nil {
			rows.Close()
			return nil, err
		}
		// GROUPING_ID has a 1 bit for each column not grouped, first column
		// highest; exactly one column is grouped per set.
		col := -1
		for i := 0; i < 7; i++ {
			if g&(1<<(6-i)) == 0 {
				col = i
			}
		}
		if col < 0 || !v[col].Valid {
			continue // NULLs are found by the row scan
		}
		val := v[col].String
		switch col {
		case 0:
			if !units[val] {
				mark("unit", val, "expected the code of a unit in units")
			}
		case 1:
			if !inds[val] {
				mark("indicator", val, "expected the code of an indicator in indicators")
			}
		case 2:
			p, err := indicator.ParsePeriod(val)
			if err != nil {
				msg := strings.TrimSuffix(err.Error(), ": "+indicator.ErrInvalid.Error())
				mark("period", val, strings.TrimPrefix(msg, fmt.Sprintf("period %q: ", val)))
			} else {
				b.periods = append(b.periods, p)
			}
		case 3:
			if !kinds[val] {
				mark("kind", val, "expected one of "+strings.Join(kindNames, ", "))
			}
		case 4:
			if !quals[val] {
				mark("qualifier", val, "expected one of "+strings.Join(indicator.Qualifiers, ", ")+" or nothing")
			}
		case 5:
			for _, f := range strings.Split(val, ";") {
				if f != "" && !flags[f] {
					mark("flags", val, "expected flags separated by ';' from "+strings.Join(indicator.Flags, ", "))
					break
				}
			}
		case 6:
			if !srcs[val] {
				mark("source", val, "expected the id of a source in sources")
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []Finding
	scan := func(q string, args []any, fn func(r *sql.Rows) ([]Finding, error)) error {
		rows, err := b.db.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("store: validate: %w", err)
		}
		defer rows.Close()
		for rows.Next() && len(out) < limit {
			fs, err := fn(rows)
			if err != nil {
				return err
			}
			out = append(out, fs...)
		}
		return rows.Err()
	}
	// 2. Row-level problems, in one filtered scan.
	required := []string{"unit", "indicator", "period", "kind", "source"}
	err = scan(rowProblemsSQL, []any{limit}, func(r *sql.Rows) ([]Finding, error) {
		var file int
		var line int64
		var miss [5]bool
		var value sql.NullFloat64
		var valueText, denText, lineText sql.NullString
		if err := r.Scan(&file, &line, &miss[0], &miss[1], &miss[2], &miss[3], &miss[4], &value, &valueText, &denText, &lineText); err != nil {
			return nil, err
		}
		var fs []Finding
		for i, m := range miss {
			if m {
				fs = append(fs, Finding{File: file, Line: line, Column: required[i], Problem: "a value is required"})
			}
		}
		switch {
		case valueText.Valid:
			fs = append(fs, Finding{File: file, Line: line, Column: "value", Value: valueText.String, Problem: numberProblem(valueText.String, "expected a finite number with '.' as decimal point")})
		case !value.Valid:
			fs = append(fs, Finding{File: file, Line: line, Column: "value", Problem: "a value is required"})
		}
		if denText.Valid {
			fs = append(fs, Finding{File: file, Line: line, Column: "denominator", Value: denText.String, Problem: numberProblem(denText.String, "expected a finite number or nothing")})
		}
		if lineText.Valid {
			fs = append(fs, Finding{File: file, Line: line, Column: "line", Value: lineText.String, Problem: "expected a line number of 1 or more, or nothing"})
		}
		return fs, nil
	})
	if err != nil {
		return nil, err
	}
	// 3. Rows holding a bad distinct value, looked up only if there are any.
	if len(bad) > 0 && len(out) < limit {
		cols := make([]string, 0, len(bad))
		for c := range bad {
			cols = append(cols, c)
		}
		sort.Strings(cols)
		st := badRowsStmt(cols, bad, limit)
		err = scan(st.String(), st.Args(), func(r *sql.Rows) ([]Finding, error) {
			var file int
			var line int64
			vals := make([]sql.NullString, len(cols))
			dest := []any{&file, &line}
			for i := range vals {
				dest = append(dest, &vals[i])
			}
			if err := r.Scan(dest...); err != nil {
				return nil, err
			}
			var fs []Finding
			for i, c := range cols {
				if p, ok := bad[c][vals[i].String]; ok && vals[i].Valid {
					fs = append(fs, Finding{File: file, Line: line, Column: c, Value: vals[i].String, Problem: p})
				}
			}
			return fs, nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Finish turns the validated stage into the served tables (one sort and
// one grouping pass), and returns the duplicate observations found (at
// most limit); with any, the build must be discarded.
func (b *Build) Finish(ctx context.Context, limit int) ([]Finding, error) {
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
		return nil, fmt.Errorf("store: write periods: %w", err)
	}
	b.setPhase("verify order")
	inOrder, err := b.buildInOrder(ctx)
	if err != nil {
		return nil, err
	}
	b.inOrder = inOrder
	exec := func(qs ...string) error {
		for _, q := range qs {
			if _, err := b.db.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("store: finish: %w", err)
			}
		}
		return nil
	}
	if inOrder {
		err = exec(`DROP TABLE stage_obs`)
	} else {
		b.setPhase("sort")
		if err = exec(sortSQL, `DROP TABLE stage_obs`); err == nil {
			b.setPhase("canonical")
			err = exec(canonicalSQL...)
		}
	}
	if err != nil {
		return nil, err
	}
	var dups []Finding
	if !inOrder {
		rows, err := b.db.QueryContext(ctx, dupsSQL, limit)
		if err != nil {
			return nil, fmt.Errorf("store: finish: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			f := Finding{Duplicate: &Position{}, Problem: "duplicate observation: same unit, indicator, period, kind, qualifier, basis, source, line, figure and flags"}
			if err := rows.Scan(&f.File, &f.Line, &f.Duplicate.File, &f.Duplicate.Line); err != nil {
				return nil, err
			}
			dups = append(dups, f)
		}
		if err := rows.Err(); err != nil || len(dups) > 0 {
			return dups, err
		}
	}
	b.setPhase("compact")
	for _, q := range append(compactSQL, macroDDL...) {
		if _, err := b.db.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("store: finish: %w", err)
		}
	}
	b.setPhase("swap")
	return nil, nil
}

// InOrder reports whether Finish found the observations already in the
// served order and so did not sort them.
func (b *Build) InOrder() bool { return b.inOrder }
