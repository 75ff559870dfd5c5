package main

import (
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
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("CHISO_TEST_LOG") != "" { // show internal errors while debugging a script
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	st := store.New(store.Options{MaxRows: 100_000})
	t.Cleanup(func() { st.Close() })
	api := newAPI(httpapi.Config{Timeout: timeout, Limits: limits, QueryLimits: q,
		// A generous window: under -race on 2 cores, a thousand sibling
		// resolvers may take long to arrive; batches must still not split.
		Loader: graph.LoaderOptions{Wait: 100 * time.Millisecond, MaxWait: 30 * time.Second}, MaxBody: 1 << 20}, st, log)
	return scripttest.World{Handler: api, Loader: loader.New(st, loader.Options{MaxErrors: 20}), Store: st}, st
}

// TestScripts runs the acceptance scripts, testdata/*.test (their
// commands: testdata/README.md). Run with -rewrite to update expected
// outputs after checking them.
func TestScripts(t *testing.T) {
	scripttest.Run(t, "testdata/*.test", func(t *testing.T) scripttest.World {
		w, _ := scriptWorld(t, graph.Limits{DefaultPageSize: 50, MaxPageSize: 200}, graph.DefaultQueryLimits, 10*time.Second)
		return w
	})
}
