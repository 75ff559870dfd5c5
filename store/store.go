// Package store is chiso's columnar engine: the only package that talks to
// DuckDB. It builds each dataset in a fresh in-memory DuckDB instance,
// validates it set-at-a-time in SQL, and swaps it in atomically; it answers
// the indicator.Engine queries over the snapshot a request pinned, with
// bound parameters, row limits and context cancellation reaching DuckDB.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"chiso/indicator"
)

// Options tunes the engine.
type Options struct {
	// MaxRows caps the rows one statement may return (ErrTooLarge beyond).
	MaxRows int
	// Threads and MemoryLimit are passed to DuckDB when > 0 / non-empty.
	// Under a memory limit, loads spill their sort to TempDir (default: the
	// system temporary folder).
	Threads     int
	MemoryLimit string
	TempDir     string
	// OnDisk keeps each snapshot in a temporary DuckDB file under TempDir
	// (compressed, read through a buffer pool bounded by MemoryLimit)
	// instead of in memory: for datasets larger than memory. The file is
	// removed when the snapshot is retired.
	OnDisk bool
	// PointsMax is the largest dataset (in observations) for which a
	// snapshot keeps a columnar copy of its observations for point
	// reads (series, latest values, observation pages, observations by
	// id), built in the background after the swap; about 50 bytes per
	// observation, outside Go's heap: in memory, or for an on-disk
	// snapshot in a mapped file beside it. 0 never builds one.
	PointsMax int
	Logger    *slog.Logger
}

// DefaultMaxRows is the row cap of a statement when Options.MaxRows is 0.
const DefaultMaxRows = 500_000

// Store serves the current snapshot and swaps in new ones.
type Store struct {
	opts       Options
	log        *slog.Logger
	cur        atomic.Pointer[snapshot]
	swapMu     sync.Mutex
	statements atomic.Int64
	// unprepared runs every read statement unprepared (tests and
	// benchmarks compare it with the prepared path).
	unprepared bool
	loading    atomic.Pointer[progress] // the load in progress, if any
}

// New returns an empty store; it serves nothing until the first Swap.
func New(opts Options) *Store {
	if opts.MaxRows <= 0 {
		opts.MaxRows = DefaultMaxRows
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Store{opts: opts, log: opts.Logger}
}

// MaxRows is the row cap of one read (Options.MaxRows, or the default).
func (s *Store) MaxRows() int { return s.opts.MaxRows }

// Statements is the number of SQL statements run to answer queries since
// the store was created (loads are not counted). Tests use it to prove
// that a request's statement count does not grow with its result.
func (s *Store) Statements() int64 { return s.statements.Load() }

// Close releases the current snapshot.
func (s *Store) Close() error {
	s.swapMu.Lock()
	defer s.swapMu.Unlock()
	if old := s.cur.Swap(nil); old != nil {
		old.retire()
	}
	return nil
}

// snapshot is one loaded dataset: its DuckDB instance and in-memory
// dimension index. It is retired after a swap and closed when the last
// request that pinned it releases it.
type snapshot struct {
	db   *sql.DB
	path string // database file of an on-disk snapshot, removed on close
	info indicator.DatasetInfo
	dim  *dimensions
	// pts is the in-memory point index, once built; ptsDone closes when
	// its build has finished or been skipped.
	pts     atomic.Pointer[points]
	ptsDone chan struct{}
	stmts   stmtCache

	mu      sync.Mutex
	refs    int
	retired bool
}

func (sn *snapshot) acquire() bool {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if sn.retired {
		return false
	}
	sn.refs++
	return true
}

func (sn *snapshot) release() {
	sn.mu.Lock()
	sn.refs--
	closeNow := sn.retired && sn.refs == 0
	sn.mu.Unlock()
	if closeNow {
		sn.close()
	}
}

func (sn *snapshot) retire() {
	sn.mu.Lock()
	sn.retired = true
	closeNow := sn.refs == 0
	sn.mu.Unlock()
	if closeNow {
		sn.close()
	}
}

func (sn *snapshot) close() {
	if p := sn.pts.Load(); p != nil {
		p.free()
	}
	sn.stmts.close()
	sn.db.Close()
	removeDB(sn.path)
}

// removeDB deletes an on-disk snapshot's files.
func removeDB(path string) {
	if path != "" {
		os.Remove(path)
		os.Remove(path + ".wal")
	}
}

type pinKey struct{}

// Pin returns a context bound to the current snapshot; every query made
// with it reads that snapshot, even if a reload swaps in another. A
// context already pinned keeps its snapshot: an analytic pinning inside a
// request pinned by the GraphQL layer reads the request's snapshot, not
// one a reload swapped in since.
func (s *Store) Pin(ctx context.Context) (context.Context, func()) {
	if _, ok := ctx.Value(pinKey{}).(*snapshot); ok {
		return ctx, func() {}
	}
	sn, err := s.acquire()
	if err != nil {
		return ctx, func() {}
	}
	var once sync.Once
	return context.WithValue(ctx, pinKey{}, sn), func() { once.Do(sn.release) }
}

func (s *Store) acquire() (*snapshot, error) {
	for {
		sn := s.cur.Load()
		if sn == nil {
			return nil, fmt.Errorf("store: no dataset loaded: %w", indicator.ErrUnavailable)
		}
		if sn.acquire() {
			return sn, nil
		}
	}
}

// snap returns the snapshot pinned in ctx or, failing that, the current
// one, with the function that releases it.
func (s *Store) snap(ctx context.Context) (*snapshot, func(), error) {
	if sn, ok := ctx.Value(pinKey{}).(*snapshot); ok {
		return sn, func() {}, nil
	}
	sn, err := s.acquire()
	if err != nil {
		return nil, nil, err
	}
	return sn, sn.release, nil
}

// Dataset describes the snapshot being served.
func (s *Store) Dataset(ctx context.Context) (indicator.DatasetInfo, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return indicator.DatasetInfo{}, err
	}
	defer done()
	return sn.info, nil
}

// query runs one counted statement on the snapshot and hands each row to
// scan. It enforces the row cap and maps context errors to error kinds.
func (s *Store) query(ctx context.Context, sn *snapshot, op, q string, args []any, scan func(*sql.Rows) error) error {
	s.statements.Add(1)
	var rows *sql.Rows
	var err error
	if s.unprepared {
		rows, err = sn.db.QueryContext(ctx, q, args...)
	} else {
		rows, err = sn.stmts.query(ctx, sn.db, q, args)
	}
	if err != nil {
		return s.wrap(ctx, op, err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if n++; n > s.opts.MaxRows {
			return indicator.Errorf(indicator.ErrTooLarge, "the answer has more than %d rows: narrow the request", s.opts.MaxRows)
		}
		if err := scan(rows); err != nil {
			return s.wrap(ctx, op, err)
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrap(ctx, op, err)
	}
	return nil
}

func (s *Store) wrap(ctx context.Context, op string, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%s: %w (%v)", op, indicator.ErrTimeout, err)
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("%s: canceled: %w", op, context.Canceled)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// QueryText runs a read-only SQL statement against the served snapshot
// and renders the result as tab-separated text with a header row. It is
// for the script tests' `sql` command and for debugging; the API never
// calls it.
func (s *Store) QueryText(ctx context.Context, q string) (string, error) {
	cols, rows, err := s.rawQuery(ctx, q)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(strings.Join(cols, "\t"))
	b.WriteByte('\n')
	for _, vals := range rows {
		for i, v := range vals {
			if i > 0 {
				b.WriteByte('\t')
			}
			switch x := v.(type) {
			case nil:
				b.WriteString("NULL")
			case time.Time:
				b.WriteString(x.Format(time.DateOnly))
			default:
				fmt.Fprint(&b, x)
			}
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// RawQuery runs a read-only SQL statement against the served snapshot and
// returns every row, fully scanned. The benchmark harness uses it to time
// the floor (DuckDB itself, in-process, with no GraphQL or HTTP); the API
// never calls it, and it is not counted in Statements.
func (s *Store) RawQuery(ctx context.Context, q string, args ...any) ([][]any, error) {
	_, rows, err := s.rawQuery(ctx, q, args...)
	return rows, err
}

func (s *Store) rawQuery(ctx context.Context, q string, args ...any) ([]string, [][]any, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer done()
	rows, err := sn.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, err
	}
	return scanAll(rows)
}

// scanAll reads and closes rows: their column names and every row's values.
func scanAll(rows *sql.Rows) ([]string, [][]any, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, err
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
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
