// Package scripttest runs chiso's acceptance scripts: files of commands in
// the cockroachdb/datadriven format, each command with its expected
// output, run against a real store behind chiso's real HTTP API on
// 127.0.0.1. testdata/README.md specifies the commands (load, query,
// sql); go test's -rewrite flag writes the outputs back into the files.
//
// The package does not build the store or the API: the caller hands it
// each script's World, so the same scripts run against whatever the
// composition root wires (as Prometheus's promqltest runs against any
// storage).
package scripttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"chiso/datasets"
	"chiso/loader"
)

// Store is what scripts need of the store behind the API.
type Store interface {
	// Statements is the number of SQL statements run so far.
	Statements() int64
	// QueryText runs SQL against the served snapshot and renders the
	// result as tab-separated text with a header row.
	QueryText(ctx context.Context, sql string) (string, error)
}

// World is one script's world: chiso's HTTP handler, the loader that
// loads datasets into the store the handler serves, and that store.
type World struct {
	Handler http.Handler
	Loader  *loader.Loader
	Store   Store
}

// Run runs every file matching pattern (such as "testdata/*.test") as a
// subtest, each in a fresh world from newWorld.
func Run(t *testing.T, pattern string, newWorld func(t *testing.T) World) {
	files, err := filepath.Glob(pattern)
	require.NoError(t, err)
	require.NotEmpty(t, files, "no script matches %s", pattern)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) { RunFile(t, path, newWorld(t)) })
	}
}

// RunFile runs one script file in w.
func RunFile(t *testing.T, path string, w World) {
	s := Serve(t, w)
	datadriven.RunTest(t, path, s.run)
}

// Script is a World being served on 127.0.0.1.
type Script struct {
	World
	URL string // the server's base URL
}

// Serve serves w's handler on 127.0.0.1 until the test ends.
func Serve(t *testing.T, w World) *Script {
	srv := httptest.NewServer(w.Handler) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return &Script{World: w, URL: srv.URL}
}

func (s *Script) run(t *testing.T, d *datadriven.TestData) string {
	ctx := context.Background()
	switch d.Cmd {
	case "load":
		var dir loader.Dir
		if d.HasArg("dataset") {
			var name string
			d.ScanArgs(t, "dataset", &name)
			if name != "laichau" {
				d.Fatalf(t, "load dataset=%s: only the embedded dataset laichau is known", name)
			}
			dir = loader.Dir{Name: "embedded:laichau", FS: datasets.LaiChau()}
		} else {
			dir = WriteFixture(t, d.Input)
		}
		info, err := s.Loader.Load(ctx, dir)
		if err != nil {
			return err.Error() + "\n"
		}
		return fmt.Sprintf("loaded: %d sources, %d units, %d indicators, %d observations\n", info.Sources, info.Units, info.Indicators, info.Observations)
	case "query":
		for _, a := range d.CmdArgs {
			if a.Key != "statements" {
				d.Fatalf(t, "query: unknown argument %q (expected statements)", a.Key)
			}
		}
		before := s.Store.Statements()
		out := s.Post(t, d.Input)
		if d.HasArg("statements") {
			return fmt.Sprintf("statements: %d\n%s", s.Store.Statements()-before, out)
		}
		return out
	case "sql":
		out, err := s.Store.QueryText(ctx, d.Input)
		if err != nil {
			return "error: " + err.Error() + "\n"
		}
		return out
	}
	d.Fatalf(t, "unknown command %q (expected load, query or sql)", d.Cmd)
	return ""
}

// Post sends a GraphQL query and returns the response as indented JSON
// (or, when it is not JSON, its status and body).
func (s *Script) Post(t testing.TB, query string) string {
	body, _ := json.Marshal(map[string]string{"query": query})
	resp, err := http.Post(s.URL+"/graphql", "application/json", bytes.NewReader(body))
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

// WriteFixture writes the "-- name" sections of input as the files of a
// dataset folder named "fixture" (so messages are stable).
func WriteFixture(t testing.TB, input string) loader.Dir {
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
