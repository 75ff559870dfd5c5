package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"chiso/graph"
	"chiso/httpapi"
	"chiso/loader"
	"chiso/scripttest"
	"chiso/store"
)

// scriptWorld is a world for scripts and the statement-count tests: a
// real store (in-memory DuckDB), a loader, and chiso's API over them.
func scriptWorld(t *testing.T, limits graph.Limits, q graph.QueryLimits, timeout time.Duration) (scripttest.World, *store.Store) {
	return scriptWorldOf(t, store.Options{MaxRows: 100_000}, limits, q, timeout)
}

// scriptWorldOf is scriptWorld over a store with the given options.
func scriptWorldOf(t *testing.T, opts store.Options, limits graph.Limits, q graph.QueryLimits, timeout time.Duration) (scripttest.World, *store.Store) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("CHISO_TEST_LOG") != "" { // show internal errors while debugging a script
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	st := store.New(opts)
	t.Cleanup(func() { st.Close() })
	api := newAPI(httpapi.Config{Timeout: timeout, Limits: limits, QueryLimits: q,
		// A generous window: under -race on 2 cores, a thousand sibling
		// resolvers may take long to arrive; batches must still not split.
		Loader: graph.LoaderOptions{Wait: 100 * time.Millisecond, MaxWait: 30 * time.Second}, MaxBody: 1 << 20}, st, log)
	w := scripttest.World{Handler: api, Loader: loader.New(st, loader.Options{MaxErrors: 20}), Store: st}
	if opts.PointsMax > 0 {
		w.UncountedStatements = true
		w.AfterLoad = func(ctx context.Context) error {
			ready, err := st.WaitPointIndex(ctx)
			if err == nil && !ready {
				err = errors.New("the point index was not built")
			}
			return err
		}
	}
	return w, st
}

// TestScripts runs the acceptance scripts, testdata/*.test (their
// commands: testdata/README.md), twice: over DuckDB alone, and over the
// point index production serves from (same answers; statement counts
// are checked on the first). Run with -rewrite to update expected
// outputs after checking them.
func TestScripts(t *testing.T) {
	for name, opts := range map[string]store.Options{
		"duckdb":      {MaxRows: 100_000},
		"point-index": {MaxRows: 100_000, PointsMax: 1 << 30},
	} {
		t.Run(name, func(t *testing.T) {
			scripttest.Run(t, "testdata/*.test", func(t *testing.T) scripttest.World {
				w, _ := scriptWorldOf(t, opts, graph.Limits{DefaultPageSize: 50, MaxPageSize: 200}, graph.DefaultQueryLimits, 10*time.Second)
				return w
			})
		})
	}
}
