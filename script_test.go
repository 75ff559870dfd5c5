package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"chiso/datasets"
	"chiso/engine"
	"chiso/graph"
	"chiso/loader"
	"chiso/store"
)

// env is one script's world: a real store (in-memory DuckDB), a loader,
// and chiso's HTTP handler served on 127.0.0.1.
type scriptEnv struct {
	t   *testing.T
	st  *store.Store
	ld  *loader.Loader
	srv *httptest.Server
}

func newScriptEnv(t *testing.T, limits graph.Limits, q graph.QueryLimits, timeout time.Duration) *scriptEnv {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("CHISO_TEST_LOG") != "" { // show internal errors while debugging a script
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	st := store.New(store.Options{MaxRows: 100_000})
	t.Cleanup(func() { st.Close() })
	h := newHandler(serverConfig{Timeout: timeout, Limits: limits, QueryLimits: q,
		// A generous window: under -race on 2 cores, a thousand sibling
		// resolvers may take long to arrive; batches must still not split.
		Loader: graph.LoaderOptions{Wait: 100 * time.Millisecond, MaxWait: 30 * time.Second}, MaxBody: 1 << 20}, engine.New(st, engine.Options{MaxRows: 100_000}), log)
	srv := httptest.NewServer(h) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return &scriptEnv{t: t, st: st, ld: loader.New(st, loader.Options{MaxErrors: 20}), srv: srv}
}

// TestScripts runs the acceptance scripts in testdata/*.test. Commands:
//
//	load [dataset=laichau]   -- files given inline as "-- name.csv" sections
//	query [statements]       GraphQL in, JSON out (statements: SQL statement count first)
//	sql                      SQL against the served snapshot, tab-separated out
//
// Run with -rewrite to update expected outputs after checking them.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.test")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			e := newScriptEnv(t, graph.Limits{DefaultPageSize: 50, MaxPageSize: 200}, graph.DefaultQueryLimits, 10*time.Second)
			datadriven.RunTest(t, path, e.run)
		})
	}
}

func (e *scriptEnv) run(t *testing.T, d *datadriven.TestData) string {
	ctx := context.Background()
	switch d.Cmd {
	case "load":
		var dir loader.Dir
		if d.HasArg("dataset") {
			var name string
			d.ScanArgs(t, "dataset", &name)
			require.Equal(t, "laichau", name, "only the embedded laichau dataset is known")
			dir = loader.Dir{Name: "embedded:laichau", FS: datasets.LaiChau()}
		} else {
			dir = writeFixture(t, d.Input)
		}
		info, err := e.ld.Load(ctx, dir)
		if err != nil {
			return err.Error() + "\n"
		}
		return fmt.Sprintf("loaded: %d sources, %d units, %d indicators, %d observations\n", info.Sources, info.Units, info.Indicators, info.Observations)
	case "query":
		before := e.st.Statements()
		out := e.post(t, d.Input)
		if d.HasArg("statements") {
			return fmt.Sprintf("statements: %d\n%s", e.st.Statements()-before, out)
		}
		return out
	case "sql":
		out, err := e.st.QueryText(ctx, d.Input)
		if err != nil {
			return "error: " + err.Error() + "\n"
		}
		return out
	}
	d.Fatalf(t, "unknown command %q", d.Cmd)
	return ""
}

// post sends a GraphQL query and returns the indented JSON response.
func (e *scriptEnv) post(t testing.TB, query string) string {
	body, _ := json.Marshal(map[string]string{"query": query})
	resp, err := http.Post(e.srv.URL+"/graphql", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return fmt.Sprintf("status %d, not JSON: %s\n", resp.StatusCode, raw)
	}
	return buf.String() + "\n"
}

// writeFixture writes the "-- name" sections of input as files of a
// dataset folder named "fixture" (so messages are stable).
func writeFixture(t *testing.T, input string) loader.Dir {
	root := t.TempDir()
	dir := filepath.Join(root, "fixture")
	require.NoError(t, os.Mkdir(dir, 0o755))
	var name string
	var content strings.Builder
	flush := func() {
		if name != "" {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content.String()), 0o644))
		}
		content.Reset()
	}
	for _, line := range strings.SplitAfter(input, "\n") {
		if strings.HasPrefix(line, "-- ") {
			flush()
			name = strings.TrimSpace(strings.TrimPrefix(line, "-- "))
			continue
		}
		content.WriteString(line)
	}
	flush()
	return loader.Dir{Name: "fixture", FS: os.DirFS(dir), OSPath: dir}
}
