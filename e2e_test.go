package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"chiso/store"
)

// server is the real `chiso serve`, run in-process on 127.0.0.1.
type server struct {
	base     string       // base URL
	st       *store.Store // the store it serves from
	reloaded chan error   // each SIGHUP reload's outcome
}

// startServer runs the real `chiso serve` in-process on 127.0.0.1, with
// no environment, and returns it; the server is shut down when the test
// ends.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	type started struct {
		addr string
		st   *store.Store
	}
	up := make(chan started, 1)
	done := make(chan error, 1)
	s := &server{reloaded: make(chan error, 8)}
	ev := events{
		ready:    func(a string, st *store.Store) { up <- started{a, st} },
		reloaded: func(err error) { s.reloaded <- err },
	}
	noEnv := func(string) (string, bool) { return "", false }
	go func() {
		done <- serve(ctx, append([]string{"-addr", "127.0.0.1:0", "-log-level", "warn"}, args...), noEnv, io.Discard, ev)
	}()
	select {
	case u := <-up:
		t.Cleanup(func() {
			cancel()
			require.NoError(t, <-done, "graceful shutdown")
		})
		s.base, s.st = "http://"+u.addr, u.st
		return s
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("server did not start within 60s")
	}
	return nil
}

// reload sends SIGHUP and waits for the reload to finish.
func (s *server) reload(t *testing.T) error {
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	select {
	case err := <-s.reloaded:
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("no reload within 60s of SIGHUP")
		return nil
	}
}

func gql(t *testing.T, base, query string) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	resp, err := http.Post(base+"/graphql", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

func version(t *testing.T, base string) string {
	out := gql(t, base, `{ dataset { version } }`)
	return out["data"].(map[string]any)["dataset"].(map[string]any)["version"].(string)
}

// TestServeEmbedded: with no flags the server serves the embedded Lai Châu
// dataset; one request walks province → districts → a series with
// provenance, over real HTTP on loopback, by POST and by GET.
func TestServeEmbedded(t *testing.T) {
	srv := startServer(t)
	base := srv.base
	// The point index is built in the background (the series below are
	// then read from it); once it is, the health check says so.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	built, err := srv.st.WaitPointIndex(ctx)
	require.NoError(t, err)
	require.True(t, built, "the embedded dataset is kept in memory for point reads")
	resp, err := http.Get(base + "/healthz")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var health map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&health))
	resp.Body.Close()
	require.Equal(t, "ok", health["status"])
	require.Equal(t, "ready", health["pointIndex"])

	out := gql(t, base, `{ unit(code: "vn.lai-chau") { nameVi children(level: DISTRICT) { code series(indicator: "poverty_rate") {
		observations { period { label } value provenance { line raw source { id title } } } } } } }`)
	require.Nil(t, out["errors"])
	unit := out["data"].(map[string]any)["unit"].(map[string]any)
	require.Equal(t, "Lai Châu", unit["nameVi"])
	children := unit["children"].([]any)
	require.Len(t, children, 8, "Lai Châu has eight districts and city")
	var found bool
	for _, c := range children {
		c := c.(map[string]any)
		if c["code"] != "vn.lai-chau.phong-tho" {
			continue
		}
		for _, o := range c["series"].(map[string]any)["observations"].([]any) {
			o := o.(map[string]any)
			p := o["provenance"].(map[string]any)
			if o["period"].(map[string]any)["label"] == "2021" && o["value"] == 48.42 {
				require.Equal(t, "002_216ab9d5d6ee3cb7", p["source"].(map[string]any)["id"])
				require.Contains(t, p["raw"], "48,42")
				found = true
			}
		}
	}
	require.True(t, found, "Phong Thổ's 2021 poverty rate 48.42%% with its provenance")

	// GET transport and the GraphiQL page.
	resp, err = http.Get(base + "/graphql?query=" + strings.ReplaceAll(`{dataset{observations}}`, " ", "%20"))
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(b), `"observations":`)
	resp, err = http.Get(base + "/")
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(b), "graphiql")
}

// TestServeRefusesBadData: a malformed -data folder stops the server from
// starting, with errors naming file, line and column.
func TestServeRefusesBadData(t *testing.T) {
	dir := writeTree(t, 1, 1)
	obs := filepath.Join(dir, "observations.csv")
	b, err := os.ReadFile(obs)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(obs, bytes.Replace(b, []byte("19.5,"), []byte("19,5,"), 1), 0o644))
	err = serve(context.Background(), []string{"-addr", "127.0.0.1:0", "-data", dir}, func(string) (string, bool) { return "", false }, io.Discard,
		events{ready: func(string, *store.Store) { t.Error("server started on a malformed dataset") }})
	require.Error(t, err)
	require.Contains(t, err.Error(), "not starting")
	require.Contains(t, err.Error(), filepath.ToSlash(dir)+"/observations.csv:2:")
}

// TestServeReload: SIGHUP reloads the folders; a malformed reload leaves
// the old data served.
func TestServeReload(t *testing.T) {
	dir := writeTree(t, 2, 2)
	srv := startServer(t, "-data", dir)
	base := srv.base
	v1 := version(t, base)
	count := func() float64 {
		out := gql(t, base, `{ dataset { observations } }`)
		return out["data"].(map[string]any)["dataset"].(map[string]any)["observations"].(float64)
	}
	require.Equal(t, float64(42), count())

	// A good change: one more observation.
	obs := filepath.Join(dir, "observations.csv")
	b, err := os.ReadFile(obs)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(obs, append(b, []byte("vn.p,poverty_rate,2024,actual,9.5,s,99,\"9,5%\"\n")...), 0o644))
	require.NoError(t, srv.reload(t))
	require.NotEqual(t, v1, version(t, base))
	require.Equal(t, float64(43), count())
	v2 := version(t, base)

	// A malformed change: the reload fails and v2 stays served.
	require.NoError(t, os.WriteFile(obs, append(b, []byte("vn.p,poverty_rate,20x4,actual,9.5,s,99,x\n")...), 0o644))
	err = srv.reload(t)
	require.Error(t, err)
	require.Contains(t, err.Error(), "observations.csv")
	require.Equal(t, v2, version(t, base))
	require.Equal(t, float64(43), count())
}

// TestServeOnDisk: with -on-disk the dataset lives in a temporary DuckDB
// file under -temp-dir while served, and the file is removed on shutdown.
func TestServeOnDisk(t *testing.T) {
	tmp := t.TempDir()
	t.Cleanup(func() { // runs after the server's own cleanup (shutdown)
		files, _ := filepath.Glob(filepath.Join(tmp, "snapshot-*.duckdb*"))
		require.Empty(t, files, "snapshot files removed on shutdown")
	})
	base := startServer(t, "-data", writeTree(t, 2, 3), "-on-disk", "-temp-dir", tmp, "-memory-limit", "512MB").base
	files, err := filepath.Glob(filepath.Join(tmp, "snapshot-*.duckdb"))
	require.NoError(t, err)
	require.Len(t, files, 1, "one snapshot file while serving")
	out := gql(t, base, `{ dataset { observations } compare(indicators: ["poverty_rate"], units: { under: "vn.p", level: COMMUNE }) { rows { rank } } }`)
	require.Nil(t, out["errors"])
	require.Equal(t, float64((2+2*3)*7), out["data"].(map[string]any)["dataset"].(map[string]any)["observations"])
}

// TestCommands: -h, --help and help list every command; an unknown command
// and a malformed environment variable are refused, naming what was
// expected.
func TestCommands(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"verify", "-h"}, {"gen", "--help"}} {
		var out, errOut bytes.Buffer
		require.NoError(t, run(ctx, args, &out, &errOut), "%v", args)
		for _, cmd := range []string{"serve", "verify", "gen", "help"} {
			require.Contains(t, out.String()+errOut.String(), "\n  "+cmd+" ", "%v lists %s", args, cmd)
		}
	}
	// Help alone lists every command's flags, on stdout.
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}} {
		var out bytes.Buffer
		require.NoError(t, run(ctx, args, &out, io.Discard), "%v", args)
		for _, want := range []string{"flags of chiso serve:", "-max-page n", "flags of chiso verify:", "-seeds folder", "flags of chiso gen:", "-size size"} {
			require.Contains(t, out.String(), want, "%v", args)
		}
	}
	err := run(ctx, []string{"srve"}, io.Discard, io.Discard)
	require.ErrorContains(t, err, `unknown command "srve": expected one of serve, verify, gen, help`)

	env := func(name string) (string, bool) {
		return map[string]string{"CHISO_TIMEOUT": "30"}[name], name == "CHISO_TIMEOUT"
	}
	err = serve(ctx, []string{"-addr", "127.0.0.1:0"}, env, io.Discard, events{ready: func(string, *store.Store) { t.Error("served with a bad CHISO_TIMEOUT") }})
	require.ErrorContains(t, err, `CHISO_TIMEOUT="30" (the -timeout flag's variable): expected a duration like 10s`)
}
