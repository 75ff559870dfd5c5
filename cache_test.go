package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"chiso/datasets"
	"chiso/graph"
	"chiso/httpapi"
	"chiso/loader"
	"chiso/respcache"
	"chiso/store"
)

// cacheEnv serves the embedded Lai Châu dataset with a response cache of
// the given size, on a real HTTP server on 127.0.0.1.
type cacheEnv struct {
	st  *store.Store
	ld  *loader.Loader
	srv *httptest.Server
}

func newCacheEnv(t *testing.T, cacheBytes int64) *cacheEnv {
	t.Helper()
	st := store.New(store.Options{})
	t.Cleanup(func() { st.Close() })
	ld := loader.New(st, loader.Options{})
	_, err := ld.Load(context.Background(), loader.Dir{Name: "embedded:laichau", FS: datasets.LaiChau()})
	require.NoError(t, err)
	h := newAPI(httpapi.Config{Timeout: time.Minute, Limits: graph.DefaultLimits, QueryLimits: graph.DefaultQueryLimits,
		Loader: graph.LoaderOptions{Wait: time.Millisecond}, MaxBody: 1 << 20, CacheBytes: cacheBytes}, st, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &cacheEnv{st: st, ld: ld, srv: srv}
}

// do posts a query and returns the body and the cache header.
func (e *cacheEnv) do(t *testing.T, query string, vars map[string]any, header ...string) (string, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
	require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	return string(raw), resp.Header.Get(respcache.Header)
}

const seriesQuery = `query($u: ID!) { series(unit: $u, indicator: "poverty_rate") { observations { periodLabel value } } }`

func TestResponseCache(t *testing.T) {
	e := newCacheEnv(t, 1<<20)
	vars := map[string]any{"u": "vn.lai-chau.phong-tho"}

	first, h := e.do(t, seriesQuery, vars)
	require.Equal(t, "miss", h)
	require.Contains(t, first, `"periodLabel"`)
	before := e.st.Statements()
	second, h := e.do(t, seriesQuery, vars)
	require.Equal(t, "hit", h)
	require.Equal(t, first, second)
	require.Equal(t, before, e.st.Statements(), "a hit runs no SQL")

	// Other variables are another request.
	_, h = e.do(t, seriesQuery, map[string]any{"u": "vn.lai-chau"})
	require.Equal(t, "miss", h)

	// A GET of the same operation is keyed apart from the POST, and cached too.
	get := func() (string, string) {
		resp, err := http.Get(e.srv.URL + "/graphql?query=" + url.QueryEscape(`{ dataset { version } }`))
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return string(raw), resp.Header.Get(respcache.Header)
	}
	g1, h := get()
	require.Equal(t, "miss", h)
	g2, h := get()
	require.Equal(t, "hit", h)
	require.Equal(t, g1, g2)

	// no-cache bypasses the cache both ways: not served from it (the
	// series above is computed again), and nothing stored (the next plain
	// request for the units is a miss).
	before = e.st.Statements()
	_, h = e.do(t, seriesQuery, vars, "Cache-Control", "no-cache")
	require.Empty(t, h)
	require.Greater(t, e.st.Statements(), before)
	_, h = e.do(t, `{ units(level: DISTRICT) { totalCount } }`, nil, "Cache-Control", "no-cache")
	require.Empty(t, h)
	_, h = e.do(t, `{ units(level: DISTRICT) { totalCount } }`, nil)
	require.Equal(t, "miss", h)

	// Errors are not kept: they may be transient (a timeout) or cheap.
	for range 2 {
		out, h := e.do(t, seriesQuery, map[string]any{"u": "nowhere"})
		require.Contains(t, out, `"NOT_FOUND"`)
		require.Equal(t, "miss", h)
	}

	// A reload is a new snapshot, even of the same files: answers are
	// computed again against it.
	_, err := e.ld.Load(context.Background(), loader.Dir{Name: "embedded:laichau", FS: datasets.LaiChau()})
	require.NoError(t, err)
	third, h := e.do(t, seriesQuery, vars)
	require.Equal(t, "miss", h)
	require.Equal(t, first, third)
}

// TestBodyLimit: a body over the limit is refused in GraphQL's shape,
// with the response cache on and off.
func TestBodyLimit(t *testing.T) {
	for _, cache := range []int64{1 << 20, 0} {
		bodyLimited(t, newCacheEnv(t, cache))
	}
}

func bodyLimited(t *testing.T, e *cacheEnv) {
	big, _ := json.Marshal(map[string]any{"query": `{ dataset { version } }`, "variables": map[string]string{"pad": string(bytes.Repeat([]byte{'x'}, 2<<20))}})
	resp, err := http.Post(e.srv.URL+"/graphql", "application/json", bytes.NewReader(big))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Contains(t, string(raw), `"code":"TOO_LARGE"`)
}
