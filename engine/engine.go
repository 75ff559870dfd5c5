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
	// Rows calls each for every row q selects, series by series (all of
	// one series' rows together), each series in stored order: period
	// (start, end, label), kind, basis and preference (the canonical row
	// of a key first). The Row passed to each is reused: copy it to keep
	// it.
	Rows(ctx context.Context, q RowQuery, each func(*Row) error) error
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

// stream reads q, calling each for every row, with the row cap and the
// context enforced: the one place a read's limits are held.
func (e *Engine) stream(ctx context.Context, q RowQuery, each func(*Row) error) error {
	n := 0
	err := e.Store.Rows(ctx, q, func(r *Row) error {
		if n++; n > e.opts.MaxRows {
			return indicator.Errorf(indicator.ErrTooLarge, "the answer has more than %d rows: narrow the request", e.opts.MaxRows)
		}
		if n%checkEvery == 0 {
			if err := ctxErr(ctx); err != nil {
				return err
			}
		}
		return each(r)
	})
	if err != nil {
		return err
	}
	return ctxErr(ctx)
}

// rows reads q into series, keyed by (unit, indicator), each in stored
// order, with the row cap and the context enforced. A source yields each
// series' rows together, so each series is one run of a chunk: chunks grow
// to rowChunk rows and are never copied as a whole, only a series begun
// when its chunk fills moves to the next one.
func (e *Engine) rows(ctx context.Context, q RowQuery) (map[indicator.SeriesKey][]Row, error) {
	out := map[indicator.SeriesKey][]Row{}
	var buf []Row
	var cur indicator.SeriesKey
	lo := 0 // where cur begins in buf
	closeRun := func() {
		if n := len(buf); n > lo {
			out[cur] = buf[lo:n:n]
		}
	}
	err := e.stream(ctx, q, func(r *Row) error {
		if len(buf) == lo || r.Unit != cur.Unit || r.Indicator != cur.Indicator {
			closeRun()
			cur, lo = indicator.SeriesKey{Unit: r.Unit, Indicator: r.Indicator}, len(buf)
			if _, seen := out[cur]; seen {
				return fmt.Errorf("engine: the rows of series %s/%s came apart", cur.Unit, cur.Indicator)
			}
		}
		if len(buf) == cap(buf) {
			begun := len(buf) - lo
			next := make([]Row, begun, max(min(2*cap(buf), rowChunk), 2*begun, 16))
			copy(next, buf[lo:])
			buf, lo = next, 0
		}
		buf = append(buf, *r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	closeRun()
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
