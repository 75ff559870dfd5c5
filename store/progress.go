package store

import (
	"sync"
	"sync/atomic"
	"time"
)

// ProgressEvery is how often a running load logs its progress (phase,
// observations read, rate); a load shorter than that logs none.
var ProgressEvery = 2 * time.Second

// LoadProgress describes a load in progress.
type LoadProgress struct {
	// Phase is what the load is doing: dimensions, stage, validate,
	// verify order, sort, canonical, compact.
	Phase string
	// Rows is the number of observations read so far; Expected the number
	// the files hold, when their metadata says (Parquet), else 0.
	Rows, Expected int64
	Started        time.Time
}

// progress is a build's progress, shared with Store.Loading and the
// ticker that logs it.
type progress struct {
	started  time.Time
	rows     atomic.Int64
	expected atomic.Int64
	mu       sync.Mutex
	phase    string
	phaseAt  time.Time
	stop     chan struct{}
	once     sync.Once
}

func (p *progress) snapshot() LoadProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	return LoadProgress{Phase: p.phase, Rows: p.rows.Load(), Expected: p.expected.Load(), Started: p.started}
}

// startProgress registers a build's progress with the store and logs it
// every ProgressEvery until the build is swapped in or closed.
func (s *Store) startProgress() *progress {
	now := time.Now()
	p := &progress{started: now, phase: "dimensions", phaseAt: now, stop: make(chan struct{})}
	s.loading.Store(p)
	go func() {
		t := time.NewTicker(ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				lp := p.snapshot()
				el := time.Since(lp.Started)
				s.log.Info("load progress", "phase", lp.Phase, "rows", lp.Rows, "expected", lp.Expected,
					"rows_per_s", int64(float64(lp.Rows)/el.Seconds()), "elapsed", el.Round(time.Second))
			}
		}
	}()
	return p
}

// setPhase starts a phase of the load, logging how long the previous took.
func (b *Build) setPhase(name string) {
	p := b.prog
	p.mu.Lock()
	prev, at := p.phase, p.phaseAt
	p.phase, p.phaseAt = name, time.Now()
	p.mu.Unlock()
	b.s.log.Debug("load phase", "phase", prev, "elapsed", time.Since(at).Round(time.Millisecond))
}

// endProgress stops the build's progress and unregisters it.
func (b *Build) endProgress() {
	b.prog.once.Do(func() {
		close(b.prog.stop)
		b.s.loading.CompareAndSwap(b.prog, nil)
	})
}

// Loading reports the load in progress, if any (for /healthz).
func (s *Store) Loading() (LoadProgress, bool) {
	p := s.loading.Load()
	if p == nil {
		return LoadProgress{}, false
	}
	return p.snapshot(), true
}

// LoadInProgress is Loading in plain values, for /healthz (which does not
// import the store).
func (s *Store) LoadInProgress() (phase string, rows, expected int64, started time.Time, ok bool) {
	lp, ok := s.Loading()
	return lp.Phase, lp.Rows, lp.Expected, lp.Started, ok
}
