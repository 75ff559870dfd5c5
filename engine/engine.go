// Package engine computes chiso's analytics — comparisons, trends,
// changes, rollups, progress, reconciliations and matrices — once, in Go,
// over the rows a Source reads. Each question lives in its own file and
// states its rules there; the sources (DuckDB, or the in-memory columnar
// copy of a snapshot) only read rows, so a rule changed here changes for
// every source alike.
//
// The engine holds the limits of a request's reads: at most MaxRows rows
// per read, and the context is checked while rows stream, so a cancelled
// or timed-out request stops whichever source answers it.
package engine

import (
	"context"
	"fmt"
	"time"

	"chiso/indicator"
)

// Row is one observation as the analytics read it: what their rules look
// at, without the provenance text (which comes with ObservationsByID for
// the rows an answer names).
type Row struct {
	ID              int64
	Unit, Indicator string
	Period          *indicator.Period
	// PeriodNo numbers the snapshot's periods from 0: the rows of one
	// period, and only they, share it (and Period), so a rule may index
	// by it what it would look up by label.
	PeriodNo int32
	// Pos is the period's midpoint and EndPos its end, in fractional
	// calendar years (a year Y sits at Y + 0.5): the distance between two
	// periods is the difference of their positions.
	Pos, EndPos float64
	Kind        indicator.ObservationKind
	Value       float64
	Basis       indicator.Basis
	Methodology string // "" when none is stated
	Flags       string // ';'-separated
	Canonical   bool
}

// RowQuery selects rows: the series of Units × Indicators, of one kind
// (every kind when empty), only the canonical rows when Canonical is set.
// Nil Units means every unit.
type RowQuery struct {
	Units      []string
	Indicators []string
	Kind       indicator.ObservationKind
	Canonical  bool
}

// Catalog is a snapshot's dimensions: its units, indicators and periods.
type Catalog interface {
	Unit(code string) (indicator.Unit, bool)
	// Children lists a unit's direct children, in catalog order.
	Children(code string) []indicator.Unit
	// Descendants lists a unit's descendants at level (every level when
	// empty), breadth first.
	Descendants(code string, level indicator.Level) []indicator.Unit
	Indicator(code string) (indicator.Indicator, bool)
	// Parts lists the indicators naming total as their total.
	Parts(total string) []indicator.Indicator
	Period(label string) (*indicator.Period, bool)
}

// Source is what the engine reads: the catalog and rows of the snapshot a
// context pinned (or of the current one).
type Source interface {
	Catalog(ctx context.Context) (Catalog, error)
	// Rows calls each once for every series q selects that has rows,
	// with all of that series' rows q selects, in stored order: period
	// (start, end, label), kind, basis and preference (the canonical row
	// of a key first). The slice passed to each is reused once each
	// returns: copy what is kept.
	Rows(ctx context.Context, q RowQuery, each func(series []Row) error) error
	ObservationsByID(ctx context.Context, ids []int64) (map[int64]indicator.Observation, error)
}

// Store is a dataset reader that is also the engine's source.
type Store interface {
	indicator.Reader
	Source
}

// Options are the engine's limits.
type Options struct {
	// MaxRows caps the rows one read may return (ErrTooLarge beyond).
	MaxRows int
	// Now is the clock that says which day today is (the default tree of
	// a set by parent, see indicator.TreeDay); nil is time.Now.
	Now func() time.Time
}

// DefaultMaxRows is the row cap of a read when Options.MaxRows is 0.
const DefaultMaxRows = 500_000

// Engine answers the analytics over a Store; its reads pass through to
// the Store.
type Engine struct {
	Store
	opts Options
}

var _ indicator.Engine = (*Engine)(nil)

// New returns an engine over s.
func New(s Store, opts Options) *Engine {
	if opts.MaxRows <= 0 {
		opts.MaxRows = DefaultMaxRows
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Engine{Store: s, opts: opts}
}

// checkEvery is how many rows stream between two looks at the context.
const checkEvery = 1024

// stream reads q, calling each for every series, with the row cap and
// the context enforced: the one place a read's limits are held.
func (e *Engine) stream(ctx context.Context, q RowQuery, each func(series []Row) error) error {
	n := 0
	err := e.Store.Rows(ctx, q, func(rows []Row) error {
		before := n
		if n += len(rows); n > e.opts.MaxRows {
			return indicator.Errorf(indicator.ErrTooLarge, "the answer has more than %d rows: narrow the request", e.opts.MaxRows)
		}
		if n/checkEvery != before/checkEvery {
			if err := ctxErr(ctx); err != nil {
				return err
			}
		}
		return each(rows)
	})
	if err != nil {
		return err
	}
	return ctxErr(ctx)
}

// rows reads q into series, keyed by (unit, indicator), each in stored
// order, with the row cap and the context enforced. Each series is one
// run of a chunk: chunks grow to rowChunk rows (or one series, when
// longer) and are never copied.
func (e *Engine) rows(ctx context.Context, q RowQuery) (map[indicator.SeriesKey][]Row, error) {
	out := map[indicator.SeriesKey][]Row{}
	var buf []Row
	err := e.stream(ctx, q, func(rows []Row) error {
		k := indicator.SeriesKey{Unit: rows[0].Unit, Indicator: rows[0].Indicator}
		if _, seen := out[k]; seen {
			return fmt.Errorf("engine: the rows of series %s/%s came apart", k.Unit, k.Indicator)
		}
		if len(buf)+len(rows) > cap(buf) {
			buf = make([]Row, 0, max(min(2*cap(buf), rowChunk), len(rows), 64))
		}
		lo := len(buf)
		buf = append(buf, rows...)
		out[k] = buf[lo:len(buf):len(buf)]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// rowChunk is the most rows one chunk of rows holds: large enough that
// chunks are few, small enough that the last one wastes little.
const rowChunk = 4096

// ctxErr maps a finished context to the error kinds.
func ctxErr(ctx context.Context) error {
	switch err := ctx.Err(); {
	case err == nil:
		return nil
	case err == context.DeadlineExceeded:
		return fmt.Errorf("engine: %w", indicator.ErrTimeout)
	default:
		return fmt.Errorf("engine: %w", err)
	}
}

// observations fetches the observations behind ids (0 is none) in one read.
func (e *Engine) observations(ctx context.Context, ids ...int64) (map[int64]indicator.Observation, error) {
	var valid []int64
	for _, id := range ids {
		if id != 0 {
			valid = append(valid, id)
		}
	}
	if len(valid) == 0 {
		return map[int64]indicator.Observation{}, nil
	}
	return e.Store.ObservationsByID(ctx, valid)
}

// obsPtr is the observation behind id, or nil for 0.
func obsPtr(obs map[int64]indicator.Observation, id int64) *indicator.Observation {
	if id == 0 {
		return nil
	}
	o := obs[id]
	return &o
}

// pin reads one snapshot for the whole of an analytic.
func (e *Engine) pin(ctx context.Context) (context.Context, Catalog, func(), error) {
	ctx, release := e.Store.Pin(ctx)
	cat, err := e.Store.Catalog(ctx)
	if err != nil {
		release()
		return ctx, nil, nil, err
	}
	return ctx, cat, release, nil
}

// today is the engine's current day.
func (e *Engine) today() time.Time { return indicator.Day(e.opts.Now()) }

// Unwrap returns the store the engine reads.
func (e *Engine) Unwrap() Store { return e.Store }
