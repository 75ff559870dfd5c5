package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"path/filepath"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"chiso/indicator"
)

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
	// Duplicate is set when the row repeats an earlier one: that row's
	// file index and line.
	Duplicate *Position
}

// Position is a record's file index and line (or row).
type Position struct {
	File int
	Line int64
}

// Build is a dataset being loaded into a fresh DuckDB instance beside the
// one being served. Nothing it does is visible until Swap; Close discards it.
type Build struct {
	s       *Store
	db      *sql.DB
	path    string // database file when on disk
	periods []indicator.Period
	units   []indicator.Unit
	inds    []indicator.Indicator
	srcs    []indicator.Source
	changes []indicator.UnitChange
	swapped bool
	inOrder bool      // Finish found the stage in the served order
	prog    *progress // what the load is doing, for Store.Loading and the log
}

// NewBuild opens a fresh in-memory DuckDB instance for a load.
func (s *Store) NewBuild(ctx context.Context) (*Build, error) {
	tmp := s.opts.TempDir
	if tmp == "" {
		tmp = filepath.Join(os.TempDir(), "chiso-spill")
	}
	dsn := ""
	if s.opts.OnDisk {
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return nil, fmt.Errorf("store: temp dir: %w", err)
		}
		f, err := os.CreateTemp(tmp, "snapshot-*.duckdb")
		if err != nil {
			return nil, fmt.Errorf("store: snapshot file: %w", err)
		}
		dsn = f.Name()
		f.Close()
		os.Remove(dsn) // DuckDB creates it
	}
	db, err := sql.Open("duckdb", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open duckdb: %w", err)
	}
	// One connection: an in-memory DuckDB parallelises inside a statement,
	// and a single connection keeps temporary state simple.
	stmts := settingsStmts(s.opts.Threads, s.opts.MemoryLimit, tmp)
	for _, q := range schemaDDL {
		stmts = append(stmts, new(sqlb).SQL(q))
	}
	for _, st := range stmts {
		if _, err := db.ExecContext(ctx, st.String(), st.Args()...); err != nil {
			db.Close()
			removeDB(dsn)
			return nil, fmt.Errorf("store: prepare build: %w", err)
		}
	}
	return &Build{s: s, db: db, path: dsn, prog: s.startProgress()}, nil
}

// settingsStmts set a build's threads and memory limit (when set) and
// its spill folder.
func settingsStmts(threads int, memoryLimit, tmp string) []*sqlb {
	var out []*sqlb
	set := func(name string, v any) {
		var b sqlb
		out = append(out, b.SQL("SET "+name+" = "+b.Arg(v)))
	}
	if threads > 0 {
		set("threads", threads)
	}
	if memoryLimit != "" {
		set("memory_limit", memoryLimit)
	}
	set("temp_directory", tmp)
	// Loads and queries keep their own order (ORDER BY); this frees
	// DuckDB from preserving insertion order in parallel plans.
	return append(out, new(sqlb).SQL("SET preserve_insertion_order = false"))
}

// Close discards the build unless it was swapped in.
func (b *Build) Close() {
	b.endProgress()
	if !b.swapped {
		b.db.Close()
		removeDB(b.path)
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

// parquetTableSQL reads every column of the Parquet file at the argument
// as text, in the file's column order, without naming them (the names are
// the file's). Row groups are scanned in parallel: without the ORDER BY,
// rows (and so the row numbers in error messages) could come back in any
// order.
const parquetTableSQL = `SELECT coalesce(CAST(COLUMNS(* EXCLUDE (file_row_number)) AS VARCHAR), '')
	FROM read_parquet(?, file_row_number = true) ORDER BY file_row_number`

// ParquetTable reads a whole (small) Parquet file as text: its column
// names and, per row, the values (empty for NULL).
func (b *Build) ParquetTable(ctx context.Context, path string) ([]string, [][]string, error) {
	cols, err := b.ParquetColumns(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	rows, err := b.db.QueryContext(ctx, parquetTableSQL, path)
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
		return []driver.Value{u.Code, u.NameVI, u.NameASCII, nullStr(u.NameEN), string(u.Level), int32(u.Level.Rank()), nullStr(u.Parent), nullTime(u.ValidFrom), nullTime(u.ValidTo),
			nullStr(u.OfficialCode), nullStr(u.Type), nullStr(u.Source), nullStr(u.Locator)}, nil
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
		return []driver.Value{s.ID, s.Title, nullStr(s.Issuer), nullStr(s.Number), nullStr(s.Date), nullStr(s.Kind),
			nullStr(s.ContentDate), statedOn(s)}, nil
	})
	if err != nil {
		return fmt.Errorf("store: write sources: %w", err)
	}
	return nil
}

// statedOn is the first day of the date a source's figures are as of
// (YYYY is its 1 January, YYYY-MM its first), which orders conflicting
// figures (preferSQL); nil when the source has no date.
func statedOn(s indicator.Source) driver.Value {
	d := s.StatedOn()
	switch len(d) {
	case 4:
		d += "-01-01"
	case 7:
		d += "-01"
	}
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return nil
	}
	return t
}

// PutUnitChanges writes the validated unit changes into the build (after
// PutDimensions, before Swap).
func (b *Build) PutUnitChanges(ctx context.Context, changes []indicator.UnitChange) error {
	b.changes = changes
	i := 0
	err := b.appendRows(ctx, "unit_changes", func() ([]driver.Value, error) {
		if i == len(changes) {
			return nil, nil
		}
		c := changes[i]
		i++
		var share driver.Value
		if c.Share != nil {
			share = *c.Share
		}
		return []driver.Value{c.Predecessor, nullStr(c.Successor), c.Date, string(c.Kind), share, nullStr(c.Source), nullStr(c.Locator)}, nil
	})
	if err != nil {
		return fmt.Errorf("store: write unit changes: %w", err)
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

// Observations is the number of observations the build holds.
func (b *Build) Observations(ctx context.Context) (int, error) {
	var n int
	if err := b.db.QueryRowContext(ctx, "SELECT count(*) FROM observations").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count observations: %w", err)
	}
	return n, nil
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
	sn := &snapshot{db: b.db, path: b.path, info: info, dim: newDimensions(units, inds, srcs, b.periods, b.changes), ptsDone: make(chan struct{})}
	s.swapMu.Lock()
	old := s.cur.Swap(sn)
	s.swapMu.Unlock()
	b.swapped = true
	b.endProgress()
	if old != nil {
		old.retire()
	}
	s.startPoints(sn)
	s.log.Info("dataset swapped in", "version", info.Version, "observations", n, "units", len(units), "indicators", len(inds), "in_order", b.inOrder)
	return nil
}
