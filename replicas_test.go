package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"chiso/synth"
)

// postReplica sends a GraphQL query to base and returns the raw body, failing on
// a non-200 answer.
func postReplica(t *testing.T, base, query string, vars map[string]any) []byte {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cache-Control", "no-cache") // computed by the replica, not its cache
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(out))
	require.NotContains(t, string(out), `"errors"`)
	return out
}

// TestReplicasShareCursors runs two chiso servers on loopback, each with
// its own store, serving the same Parquet folder, as N stateless replicas
// behind a load balancer would (docs/scaling.md). Both report the same
// dataset version; a client paging through the observations table while
// alternating between them, each page's cursor handed to the other
// replica, reads exactly the rows (ids in order, no repeat, no gap) it
// reads from one replica alone; and the same request answers with the
// same bytes on both, so a shared cache keyed by version and request is
// valid for either. A cursor of another dataset version is refused.
func TestReplicasShareCursors(t *testing.T) {
	spec, err := synth.Size("XS")
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "xs")
	_, err = synth.Write(context.Background(), dir, spec, synth.Parquet)
	require.NoError(t, err)
	a := startServer(t, "-data", dir)
	b := startServer(t, "-data", dir)
	require.NotEqual(t, a.base, b.base)
	va, vb := version(t, a.base), version(t, b.base)
	require.Equal(t, va, vb, "the same files give the same version on every replica")

	const pageQ = `query($after: String) { observations(filter: {kinds: [ACTUAL]}, first: 700, after: $after) {
		totalCount pageInfo { hasNextPage endCursor } nodes { id unitCode indicatorCode value } } }`
	type page struct {
		Data struct {
			Observations struct {
				TotalCount int
				PageInfo   struct {
					HasNextPage bool
					EndCursor   *string
				}
				Nodes []struct {
					ID string
				}
			}
		}
	}
	walk := func(bases ...string) (ids []string, total int, pages int) {
		var after any
		for i := 0; ; i++ {
			var p page
			require.NoError(t, json.Unmarshal(postReplica(t, bases[i%len(bases)], pageQ, map[string]any{"after": after}), &p))
			o := p.Data.Observations
			total = o.TotalCount
			for _, n := range o.Nodes {
				ids = append(ids, n.ID)
			}
			pages++
			if !o.PageInfo.HasNextPage {
				return ids, total, pages
			}
			after = *o.PageInfo.EndCursor
		}
	}
	alone, total, _ := walk(a.base)
	mixed, totalMixed, pages := walk(a.base, b.base)
	require.Greater(t, pages, 5, "enough pages for the walk to alternate")
	require.Equal(t, total, totalMixed)
	require.Len(t, alone, total)
	require.Equal(t, alone, mixed, "a cursor from one replica continues on the other")
	seen := map[string]bool{}
	for _, id := range mixed {
		require.False(t, seen[id], "id %s read twice", id)
		seen[id] = true
	}

	// The same request, the same bytes, on either replica (loadedAt, the
	// one field that differs per replica, is not selected).
	for _, q := range []string{
		pageQ,
		`{ compare(indicators: ["pop"], units: {under: "vn", level: DISTRICT}) { rows { unit { code } value rank } } }`,
		`{ dataset { version observations } }`,
	} {
		require.Equal(t, string(postReplica(t, a.base, q, nil)), string(postReplica(t, b.base, q, nil)), q)
	}

	// A cursor tied to another version is refused on both, naming the
	// versions.
	var p page
	require.NoError(t, json.Unmarshal(postReplica(t, a.base, pageQ, nil), &p))
	stale := []byte(*p.Data.Observations.PageInfo.EndCursor)
	foreign := bytes.Replace(decodeB64(t, stale), []byte(va[:12]), []byte("000000000000"), 1)
	for _, base := range []string{a.base, b.base} {
		body, _ := json.Marshal(map[string]any{"query": pageQ, "variables": map[string]any{"after": encodeB64(foreign)}})
		resp, err := http.Post(base+"/graphql", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Contains(t, string(out), fmt.Sprintf("now serving %s", va[:12]), base)
	}
}

func decodeB64(t *testing.T, s []byte) []byte {
	t.Helper()
	out, err := base64.RawURLEncoding.DecodeString(string(s))
	require.NoError(t, err)
	return out
}

func encodeB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// TestHealthzReportsLoad: while a load is being built beside the served
// snapshot, /healthz reports it (phase, rows read, rate) next to the
// served version; once the build is discarded, the report is gone.
func TestHealthzReportsLoad(t *testing.T) {
	s := startServer(t)
	health := func() map[string]any {
		resp, err := http.Get(s.base + "/healthz")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return out
	}
	require.NotContains(t, health(), "load")
	b, err := s.st.NewBuild(context.Background())
	require.NoError(t, err)
	h := health()
	require.Equal(t, "ok", h["status"])
	load, ok := h["load"].(map[string]any)
	require.True(t, ok, "a load in progress is reported: %v", h)
	require.Equal(t, "dimensions", load["phase"])
	require.Contains(t, load, "rows")
	require.Contains(t, load, "rowsPerSecond")
	b.Close()
	require.NotContains(t, health(), "load")
}
