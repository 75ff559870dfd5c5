package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/stretchr/testify/require"

	"chiso/httpapi"
)

func do(t *testing.T, method, u string, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	// The transport must not decompress for us: the test reads the
	// encoding the server chose.
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

const ptSeriesQuery = `{ observations(filter: { units: ["vn.lai-chau.phong-tho"] }, first: 50) { nodes { periodLabel value provenance { line raw } } } }`

// TestCORS: off by default (a preflight reaches the API, which does not
// allow it); with allowed origins a preflight from one of them is
// answered 204 with the methods and headers, from another 403, and an
// allowed origin's answers carry Access-Control-Allow-Origin.
func TestCORS(t *testing.T) {
	pre := []string{"Origin", "https://app.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type"}
	off := laiChauAPI(t, httpapi.Conventions{}, nil)
	resp, _ := do(t, http.MethodOptions, off+"/graphql", "", pre...)
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	require.NotEqual(t, http.StatusNoContent, resp.StatusCode)

	on := laiChauAPI(t, httpapi.Conventions{CORSOrigins: []string{"https://app.example", "http://localhost:5173"}}, nil)
	resp, _ = do(t, http.MethodOptions, on+"/graphql", "", pre...)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, "https://app.example", resp.Header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, resp.Header.Get("Access-Control-Allow-Methods"), "POST")
	require.Contains(t, strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "content-type")
	require.Equal(t, "600", resp.Header.Get("Access-Control-Max-Age"))
	require.Contains(t, resp.Header.Values("Vary"), "Origin")

	resp, _ = do(t, http.MethodOptions, on+"/graphql", "", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))

	resp, body := do(t, http.MethodPost, on+"/graphql", `{"query":"{ dataset { version } }"}`, "Origin", "http://localhost:5173", "Content-Type", "application/json")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(t, "http://localhost:5173", resp.Header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, resp.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id")
	resp, _ = do(t, http.MethodPost, on+"/graphql", `{"query":"{ dataset { version } }"}`, "Origin", "https://evil.example", "Content-Type", "application/json")
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
}

// TestCompression: gzip and br by Accept-Encoding, decoding to the same
// answer as the uncompressed one; small answers and Parquet go out as
// they are.
func TestCompression(t *testing.T) {
	base := laiChauAPI(t, httpapi.Conventions{}, nil)
	u := base + "/graphql?query=" + url.QueryEscape(ptSeriesQuery)
	plain, want := do(t, http.MethodGet, u, "")
	require.Empty(t, plain.Header.Get("Content-Encoding"))
	require.Greater(t, len(want), 1024, "big enough to compress")

	resp, body := do(t, http.MethodGet, u, "", "Accept-Encoding", "gzip")
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(bytes.NewReader(body))
	require.NoError(t, err)
	got, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
	require.Less(t, len(body), len(want))

	resp, body = do(t, http.MethodGet, u, "", "Accept-Encoding", "gzip, deflate, br")
	require.Equal(t, "br", resp.Header.Get("Content-Encoding"))
	got, err = io.ReadAll(brotli.NewReader(bytes.NewReader(body)))
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
	require.Contains(t, resp.Header.Values("Vary"), "Accept-Encoding")

	resp, _ = do(t, http.MethodGet, u, "", "Accept-Encoding", "br;q=0, gzip;q=0.5")
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))

	resp, body = do(t, http.MethodGet, base+"/graphql?query="+url.QueryEscape(`{ dataset { observations } }`), "", "Accept-Encoding", "gzip, br")
	require.Empty(t, resp.Header.Get("Content-Encoding"), "a tiny answer is sent as it is")
	require.Contains(t, string(body), `"observations":`)

	// A streamed CSV export is compressed; a Parquet one is not (it is).
	resp, body = do(t, http.MethodGet, base+"/export?format=csv&query="+url.QueryEscape(phongThoQuery), "", "Accept-Encoding", "gzip")
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	zr, err = gzip.NewReader(bytes.NewReader(body))
	require.NoError(t, err)
	got, err = io.ReadAll(zr)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(got), "unit.code,indicator.code,"))
	resp, body = do(t, http.MethodGet, base+"/export?format=parquet&query="+url.QueryEscape(phongThoQuery), "", "Accept-Encoding", "gzip, br")
	require.Empty(t, resp.Header.Get("Content-Encoding"))
	require.Equal(t, "PAR1", string(body[:4]))
}

// TestETag: a GET answer carries the dataset version as its ETag and a
// public Cache-Control; If-None-Match with it is 304 without a body; an
// answer with errors is not cacheable; a reload to other data changes
// the ETag (the same data keeps it).
func TestETag(t *testing.T) {
	base := laiChauAPI(t, httpapi.Conventions{MaxAge: 90 * time.Second}, nil)
	u := base + "/graphql?query=" + url.QueryEscape(ptSeriesQuery)
	resp, _ := do(t, http.MethodGet, u, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	ver := version(t, base)
	require.Equal(t, `W/"`+ver+`"`, resp.Header.Get("ETag"))
	require.Equal(t, "public, max-age=90", resp.Header.Get("Cache-Control"))

	resp, body := do(t, http.MethodGet, u, "", "If-None-Match", `W/"`+ver+`"`)
	require.Equal(t, http.StatusNotModified, resp.StatusCode)
	require.Empty(t, body)
	require.Equal(t, `W/"`+ver+`"`, resp.Header.Get("ETag"))
	resp, _ = do(t, http.MethodGet, u, "", "If-None-Match", `"other", "`+ver+`"`)
	require.Equal(t, http.StatusNotModified, resp.StatusCode, "strong form and lists match weakly")
	resp, _ = do(t, http.MethodGet, u, "", "If-None-Match", `W/"0123"`)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	resp, _ = do(t, http.MethodGet, base+"/graphql?query="+url.QueryEscape(`{ unit(code: "vn.lai-chau") { series(indicator: "nope") { unit { code } } } }`), "")
	require.Empty(t, resp.Header.Get("ETag"), "an answer with errors")
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))

	resp, _ = do(t, http.MethodPost, base+"/graphql", `{"query":"{ dataset { version } }"}`, "Content-Type", "application/json")
	require.Empty(t, resp.Header.Get("ETag"), "POST is not cached")

	// GET exports are cacheable too.
	resp, _ = do(t, http.MethodGet, base+"/export?format=csv&query="+url.QueryEscape(phongThoQuery), "")
	require.Equal(t, `W/"`+ver+`"`, resp.Header.Get("ETag"))
}

// TestETagAcrossReload: the real server's ETag follows the data: a
// reload of the same data keeps it, so caches stay valid.
func TestETagAcrossReload(t *testing.T) {
	srv := startServer(t)
	u := srv.base + "/graphql?query=" + url.QueryEscape(ptSeriesQuery)
	resp, _ := do(t, http.MethodGet, u, "")
	etag := resp.Header.Get("ETag")
	require.Equal(t, "public, max-age=60", resp.Header.Get("Cache-Control"), "the default -max-age")
	require.NoError(t, srv.reload(t))
	resp, _ = do(t, http.MethodGet, u, "", "If-None-Match", etag)
	require.Equal(t, http.StatusNotModified, resp.StatusCode)
}

// TestRequestID: a sane incoming X-Request-Id is kept, anything else is
// replaced by chiso's own.
func TestRequestID(t *testing.T) {
	base := laiChauAPI(t, httpapi.Conventions{}, nil)
	resp, _ := do(t, http.MethodGet, base+"/healthz", "", "X-Request-Id", "3f2a-9b:edge.1_x")
	require.Equal(t, "3f2a-9b:edge.1_x", resp.Header.Get("X-Request-Id"))
	for _, bad := range []string{"a b", "<script>", strings.Repeat("x", 129), "é"} {
		resp, _ = do(t, http.MethodGet, base+"/healthz", "", "X-Request-Id", bad)
		got := resp.Header.Get("X-Request-Id")
		require.NotEqual(t, bad, got)
		require.Regexp(t, `^[0-9a-z]+$`, got)
	}
	a, _ := do(t, http.MethodGet, base+"/healthz", "")
	b, _ := do(t, http.MethodGet, base+"/healthz", "")
	require.NotEqual(t, a.Header.Get("X-Request-Id"), b.Header.Get("X-Request-Id"))
}

func metric(t *testing.T, text, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` ([0-9.e+-]+)$`).FindStringSubmatch(text)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	return v
}

// TestMetrics: /metrics counts requests by status, times GraphQL
// operations by name (anonymous and beyond-the-bound names bucketed),
// counts response cache hits and misses, and gives the dataset's size
// and load time (the real server records its load).
func TestMetrics(t *testing.T) {
	srv := startServer(t)
	base := srv.base
	post := func(q, op string) {
		body := `{"query":` + jsonString(q) + `,"operationName":` + jsonString(op) + `}`
		if op == "" {
			body = `{"query":` + jsonString(q) + `}`
		}
		resp, b := do(t, http.MethodPost, base+"/graphql", body, "Content-Type", "application/json")
		require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	}
	post(`query Districts { unit(code: "vn.lai-chau") { children { code } } }`, "")
	post(`query Districts { unit(code: "vn.lai-chau") { children { code } } }`, "") // a cache hit
	post(`{ dataset { version } }`, "")
	post(`query A { dataset { version } } query B { dataset { units } }`, "B")
	for i := range 105 {
		post(`query Q`+strconv.Itoa(i)+` { dataset { units } }`, "")
	}
	do(t, http.MethodGet, base+"/export?format=bogus&query=x", "")
	_, body := do(t, http.MethodGet, base+"/metrics", "")
	text := string(body)

	require.Equal(t, 109.0, metric(t, text, `chiso_http_requests_total{code="200",handler="graphql"}`))
	require.Equal(t, 1.0, metric(t, text, `chiso_http_requests_total{code="400",handler="export"}`))
	require.Equal(t, 2.0, metric(t, text, `chiso_graphql_request_duration_seconds_count{operation="Districts"}`))
	require.Equal(t, 1.0, metric(t, text, `chiso_graphql_request_duration_seconds_count{operation="anonymous"}`))
	require.Equal(t, 1.0, metric(t, text, `chiso_graphql_request_duration_seconds_count{operation="unknown"}`), "the export's query x")
	require.Equal(t, 1.0, metric(t, text, `chiso_graphql_request_duration_seconds_count{operation="B"}`))
	require.Zero(t, metric(t, text, `chiso_graphql_request_duration_seconds_count{operation="A"}`))
	// Districts and B take two of the 100 names; Q0 … Q97 the rest, and
	// Q98 … Q104 (7) count as other.
	require.Equal(t, 1.0, metric(t, text, `chiso_graphql_request_duration_seconds_count{operation="Q97"}`))
	require.Zero(t, metric(t, text, `chiso_graphql_request_duration_seconds_count{operation="Q98"}`))
	require.Equal(t, 7.0, metric(t, text, `chiso_graphql_request_duration_seconds_count{operation="other"}`))
	require.Equal(t, 1.0, metric(t, text, `chiso_response_cache_requests_total{result="hit"}`))
	require.Equal(t, 108.0, metric(t, text, `chiso_response_cache_requests_total{result="miss"}`))
	var obs float64
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "chiso_dataset_observations ") {
			obs, _ = strconv.ParseFloat(strings.Fields(line)[1], 64)
		}
	}
	d := postGraphQL(t, base, `{ dataset { observations } }`, nil)
	require.Equal(t, d["dataset"].(map[string]any)["observations"], obs)
	require.Equal(t, 1.0, metric(t, text, `chiso_dataset_load_duration_seconds_count{result="ok"}`))
	require.Greater(t, metric(t, text, `chiso_dataset_loaded_timestamp_seconds`), 1.7e9)
	require.NoError(t, srv.reload(t))
	_, body = do(t, http.MethodGet, base+"/metrics", "")
	require.Equal(t, 2.0, metric(t, string(body), `chiso_dataset_load_duration_seconds_count{result="ok"}`))
}
