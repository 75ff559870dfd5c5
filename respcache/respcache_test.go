package respcache

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"chiso/indicator"
)

func TestBounded(t *testing.T) {
	c := New(1000)
	entry := func(i byte, n int) *entry {
		e := &entry{body: bytes.Repeat([]byte{'x'}, n)}
		e.key[0] = i
		return e
	}
	for i := range byte(10) {
		c.put(entry(i, 200))
	}
	require.Equal(t, 5, c.Len(), "1000 bytes hold five answers of 200")
	_, ok := c.get(entry(0, 0).key)
	require.False(t, ok, "the oldest were evicted")
	_, ok = c.get(entry(9, 0).key)
	require.True(t, ok)
	c.put(entry(20, 251))
	_, ok = c.get(entry(20, 0).key)
	require.False(t, ok, "an answer over a quarter of the cache is not kept")
	require.Nil(t, New(0), "size 0 turns the cache off")
}

// snapshot is a served snapshot as far as the cache sees one.
type snapshot struct{ info indicator.DatasetInfo }

func (s *snapshot) Dataset(context.Context) (indicator.DatasetInfo, error) { return s.info, nil }

// TestHandler: the cache keys on the snapshot and the request, keeps only
// successes, and no-cache bypasses it; here over an answer that counts
// how often it is computed, on loopback. The whole stack's cache is
// tested in the root package (TestResponseCache).
func TestHandler(t *testing.T) {
	computed := 0
	answer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		computed++
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(string(body), "fail") {
			io.WriteString(w, `{"errors":[{"message":"no"}]}`)
			return
		}
		io.WriteString(w, `{"data":"`+string(body)+`"}`)
	})
	snap := &snapshot{indicator.DatasetInfo{Version: "v1", LoadedAt: time.Unix(1, 0)}}
	srv := httptest.NewServer(New(1<<20).Handler(snap, answer))
	t.Cleanup(srv.Close)
	post := func(body string, header ...string) (string, string) {
		req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
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
		return string(raw), resp.Header.Get(Header)
	}
	for _, step := range []struct {
		body, header, want string
		computed           int
		noCache            bool
	}{
		{body: "a", header: "miss", want: `{"data":"a"}`, computed: 1},
		{body: "a", header: "hit", want: `{"data":"a"}`, computed: 1},
		{body: "b", header: "miss", want: `{"data":"b"}`, computed: 2},
		{body: "fail", header: "miss", computed: 3},
		{body: "fail", header: "miss", computed: 4},
		{body: "c", header: "", want: `{"data":"c"}`, computed: 5, noCache: true},
		{body: "c", header: "miss", want: `{"data":"c"}`, computed: 6},
	} {
		var h []string
		if step.noCache {
			h = []string{"Cache-Control", "no-cache"}
		}
		got, header := post(step.body, h...)
		require.Equal(t, step.header, header, step.body)
		if step.want != "" {
			require.Equal(t, step.want, got)
		}
		require.Equal(t, step.computed, computed, step.body)
	}
	snap.info.LoadedAt = time.Unix(2, 0) // a reload of the same content
	_, header := post("a")
	require.Equal(t, "miss", header)
}
