package main

// The adversarial suite (issue 15): what an attacker sends, against the
// real `chiso serve` on 127.0.0.1 serving the embedded Lai Châu dataset.
// Every case asserts the class of the answer (a 4xx, or a GraphQL error
// with the right extensions.code naming the argument), that nothing
// internal (SQL, Go paths, driver messages) shows, and that the server
// then answers a small query promptly.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"chiso/store"
)

// startServerLog is startServer with the server's log written to logOut
// at the given level.
func startServerLog(t *testing.T, logOut io.Writer, level string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	up := make(chan string, 1)
	done := make(chan error, 1)
	s := &server{reloaded: make(chan error, 8)}
	ev := events{
		ready:    func(a string, st *store.Store) { s.st = st; up <- a },
		reloaded: func(err error) { s.reloaded <- err },
	}
	noEnv := func(string) (string, bool) { return "", false }
	go func() {
		done <- serve(ctx, append([]string{"-addr", "127.0.0.1:0", "-log-level", level}, args...), noEnv, logOut, ev)
	}()
	select {
	case a := <-up:
		t.Cleanup(func() {
			cancel()
			require.NoError(t, <-done, "graceful shutdown")
		})
		s.base = "http://" + a
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

// gqlError is one error of a GraphQL response.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type gqlResponse struct {
	Data   map[string]any `json:"data"`
	Errors []gqlError     `json:"errors"`
	raw    []byte
	status int
	ctype  string
	hasKey map[string]bool
}

// send sends a request to /graphql; body nil is no body.
func send(t *testing.T, method, url, ctype string, body []byte, header ...string) gqlResponse {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := gqlResponse{raw: raw, status: resp.StatusCode, ctype: resp.Header.Get("Content-Type")}
	var keys map[string]json.RawMessage
	if json.Unmarshal(raw, &keys) == nil {
		out.hasKey = map[string]bool{}
		for k := range keys {
			out.hasKey[k] = true
		}
		require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
	}
	return out
}

func postQuery(t *testing.T, base, query string, vars map[string]any, header ...string) gqlResponse {
	t.Helper()
	b, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	return send(t, http.MethodPost, base+"/graphql", "application/json", b, header...)
}

// internalDetail are what must never reach a client: SQL, the driver's
// and Go's own words, file paths.
var internalDetail = []string{"SELECT", "select ", "FROM ", "duckdb", "DuckDB", "Binder Error", "Parser Error", "Catalog Error", ".go:", "goroutine", "panic", "runtime error", "root:x:", "internal error"}

func requireNoInternals(t *testing.T, raw []byte) {
	t.Helper()
	for _, s := range internalDetail {
		require.NotContains(t, string(raw), s, "the answer shows internal detail")
	}
}

// stillServing requires the server to answer a small query, and returns
// how long it took. 100 ms is the target (BENCHMARKS measure it); the
// test fails only above 2 s so a loaded machine does not flake it.
func stillServing(t *testing.T, base string) time.Duration {
	t.Helper()
	start := time.Now()
	out := postQuery(t, base, `{ unit(code: "vn.lai-chau") { code } }`, nil, "Cache-Control", "no-cache")
	took := time.Since(start)
	require.Equal(t, http.StatusOK, out.status, "%s", out.raw)
	require.Empty(t, out.Errors)
	require.Equal(t, "vn.lai-chau", out.Data["unit"].(map[string]any)["code"])
	require.Less(t, took, 2*time.Second, "a small query after the attack took %s", took)
	return took
}

// slowest keeps the slowest small query seen after an attack.
type slowest struct {
	mu   sync.Mutex
	d    time.Duration
	name string
}

func (s *slowest) add(name string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d > s.d {
		s.d, s.name = d, name
	}
}

// TestAttackRequests: malformed requests are 4xx (or a GraphQL error
// where the spec says so) with code BAD_REQUEST or TOO_LARGE and a
// message saying what is wrong, never INTERNAL, never echoing internals.
func TestAttackRequests(t *testing.T) {
	srv := startServer(t)
	url := srv.base + "/graphql"
	big := bytes.Repeat([]byte("x"), 2<<20)
	hugeQuery, _ := json.Marshal(map[string]string{"query": "{ dataset { version } }" + strings.Repeat(" ", 2<<20)})
	var worst slowest
	for _, tc := range []struct {
		name    string
		method  string
		ctype   string
		body    []byte
		header  []string
		status  int
		code    string
		message string // a part of the first error's message
	}{
		{"malformed JSON", "POST", "application/json", []byte(`{"query": "{ dataset { version } }"`), nil, 400, "BAD_REQUEST", "not valid JSON"},
		{"not JSON at all", "POST", "application/json", []byte(`query=1`), nil, 400, "BAD_REQUEST", "not a JSON object"},
		{"empty body", "POST", "application/json", []byte{}, nil, 400, "BAD_REQUEST", "request body is empty"},
		{"whitespace body", "POST", "application/json", []byte(" \n\t "), nil, 400, "BAD_REQUEST", "request body is empty"},
		{"a batch", "POST", "application/json", []byte(`[{"query": "{ dataset { version } }"}, {"query": "{ dataset { version } }"}]`), nil, 400, "BAD_REQUEST", "batching several operations in one request is not supported"},
		{"two objects", "POST", "application/json", []byte(`{"query": "{ dataset { version } }"} {"query": "{ __typename }"}`), nil, 400, "BAD_REQUEST", "data after its JSON object"},
		{"query a number", "POST", "application/json", []byte(`{"query": 7}`), nil, 400, "BAD_REQUEST", "parameter query: expected a string"},
		{"no query", "POST", "application/json", []byte(`{"variables": {}}`), nil, 400, "BAD_REQUEST", "parameter query: missing"},
		{"variables a string", "POST", "application/json", []byte(`{"query": "{ __typename }", "variables": "{}"}`), nil, 400, "BAD_REQUEST", "parameter variables: expected a JSON object"},
		{"NUL in the query", "POST", "application/json", []byte(`{"query": "{ unit(code: \"vn\u0000\") { code } }"}`), nil, 400, "BAD_REQUEST", "NUL"},
		{"text/plain", "POST", "text/plain", []byte(`{"query": "{ __typename }"}`), nil, 415, "BAD_REQUEST", "Content-Type \"text/plain\" is not supported"},
		{"form", "POST", "application/x-www-form-urlencoded", []byte(`query=%7B__typename%7D`), nil, 415, "BAD_REQUEST", "send the request as application/json"},
		{"no content type", "POST", "", []byte(`{"query": "{ __typename }"}`), nil, 415, "BAD_REQUEST", "no Content-Type"},
		{"latin-1", "POST", "application/json; charset=latin1", []byte(`{"query": "{ __typename }"}`), nil, 415, "BAD_REQUEST", "charset"},
		{"PUT", "PUT", "application/json", []byte(`{"query": "{ __typename }"}`), nil, 405, "BAD_REQUEST", "method PUT is not allowed"},
		{"a body over the limit", "POST", "application/json", big, nil, 413, "TOO_LARGE", "over the limit of 1048576"},
		{"a body over the limit, uncached", "POST", "application/json", big, []string{"Cache-Control", "no-cache"}, 413, "TOO_LARGE", "over the limit of 1048576"},
		{"a valid query over the limit", "POST", "application/json", hugeQuery, nil, 413, "TOO_LARGE", "over the limit"},
		{"an APQ hash that does not match", "POST", "application/json",
			[]byte(`{"query": "{ __typename }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0000000000000000000000000000000000000000000000000000000000000000"}}}`), nil, 400, "BAD_REQUEST", "APQ hash does not match"},
		{"an APQ of an unknown version", "POST", "application/json",
			[]byte(`{"query": "{ __typename }", "extensions": {"persistedQuery": {"version": 9, "sha256Hash": "00"}}}`), nil, 400, "BAD_REQUEST", "APQ"},
		{"GET without a query", "GET", "", nil, nil, 400, "BAD_REQUEST", "parameter query: missing"},
		{"GET with malformed variables", "GET", "", nil, []string{"X-Query", "query=%7B__typename%7D&variables=%7Bnope"}, 400, "BAD_REQUEST", "variables is not valid JSON"},
		{"GET with the query twice", "GET", "", nil, []string{"X-Query", "query=%7B__typename%7D&query=%7B__typename%7D"}, 400, "BAD_REQUEST", "given 2 times"},
		{"a parse error", "POST", "application/json", []byte(`{"query": "{ unit(code: "}`), nil, 200, "GRAPHQL_PARSE_FAILED", "Unexpected"},
		{"a parse error, graphql-response+json", "POST", "application/json", []byte(`{"query": "{ unit(code: "}`), []string{"Accept", "application/graphql-response+json"}, 400, "GRAPHQL_PARSE_FAILED", "Unexpected"},
		{"a validation error", "POST", "application/json", []byte(`{"query": "{ nope }"}`), nil, 200, "GRAPHQL_VALIDATION_FAILED", "Cannot query field \"nope\""},
		{"a variable that does not coerce", "POST", "application/json", []byte(`{"query": "query($n: Int) { units(first: $n) { totalCount } }", "variables": {"n": "ten"}}`), nil, 200, "GRAPHQL_VALIDATION_FAILED", "Int"},
		// GraphQL's Int is 32 bits: a value outside is a request error
		// (input coercion), not a page size to clamp.
		{"an Int over 32 bits", "POST", "application/json", []byte(`{"query": "{ units(first: 2147483648) { totalCount } }"}`), nil, 200, "GRAPHQL_VALIDATION_FAILED", "argument first: Int cannot represent non 32-bit signed integer value: 2147483648"},
		{"an Int variable over 32 bits", "POST", "application/json", []byte(`{"query": "query($n: Int) { units(first: $n) { totalCount } }", "variables": {"n": -2147483649}}`), nil, 200, "GRAPHQL_VALIDATION_FAILED", "argument first: Int cannot represent non 32-bit signed integer value: -2147483649"},
		{"an Int over 32 bits in a fragment, graphql-response+json", "POST", "application/json", []byte(`{"query": "{ ...F } fragment F on Query { progress(units: [\"vn.lai-chau\"], targetYear: 4294967296) { status } }"}`), []string{"Accept", "application/graphql-response+json"}, 400, "GRAPHQL_VALIDATION_FAILED", "argument targetYear: Int cannot represent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := url
			var hdr []string
			for i := 0; i+1 < len(tc.header); i += 2 {
				if tc.header[i] == "X-Query" {
					u += "?" + tc.header[i+1]
					continue
				}
				hdr = append(hdr, tc.header[i], tc.header[i+1])
			}
			out := send(t, tc.method, u, tc.ctype, tc.body, hdr...)
			require.Equal(t, tc.status, out.status, "%s", out.raw)
			require.NotEmpty(t, out.Errors, "%s", out.raw)
			require.Equal(t, tc.code, out.Errors[0].Extensions["code"], "%s", out.raw)
			require.Contains(t, out.Errors[0].Message, tc.message)
			require.False(t, out.hasKey["data"], "a request error carries no data entry: %s", out.raw)
			require.Less(t, len(out.raw), 4096, "the error does not echo the request")
			requireNoInternals(t, out.raw)
			worst.add(tc.name, stillServing(t, srv.base))
		})
	}
	t.Logf("slowest small query after an attack: %s (after %q)", worst.d, worst.name)
}

// TestAttackArguments: hostile argument values answer GraphQL errors
// naming the argument, with the code of the mistake; nothing internal
// shows; the server keeps answering.
func TestAttackArguments(t *testing.T) {
	srv := startServer(t)
	base := srv.base
	var worst slowest

	// A real cursor, then forgeries of it.
	page := postQuery(t, base, `{ observations(first: 2) { pageInfo { endCursor } } }`, nil)
	require.Empty(t, page.Errors)
	cursor := page.Data["observations"].(map[string]any)["pageInfo"].(map[string]any)["endCursor"].(string)
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	require.NoError(t, err)
	parts := strings.Split(string(raw), ":") // kind:version:position
	require.Len(t, parts, 3)
	forge := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

	for _, tc := range []struct {
		name, query string
		code, arg   string // the first error's code and extensions.argument
		message     string
	}{
		{"first negative", `{ observations(first: -1) { totalCount } }`, "INVALID_ARGUMENT", "first", "first"},
		{"first huge", `{ observations(first: 1000000) { totalCount } }`, "TOO_LARGE", "", "over the limit"},
		{"units first huge", `{ units(first: 2000000000) { totalCount } }`, "TOO_LARGE", "", "over the limit"},
		{"first over the page limit", `{ observations(first: 1001) { totalCount } }`, "TOO_LARGE", "first", "1001"},
		{"a cursor of garbage", `{ observations(after: "garbage") { totalCount } }`, "INVALID_ARGUMENT", "after", "not a cursor of this list"},
		{"a negative cursor", fmt.Sprintf(`{ observations(after: %q) { totalCount } }`, forge(parts[0]+":"+parts[1]+":-5")), "INVALID_ARGUMENT", "after", "not a cursor of this list"},
		{"a huge cursor", fmt.Sprintf(`{ observations(after: %q) { totalCount edges { cursor } } }`, forge(parts[0]+":"+parts[1]+":99999999999999999999")), "INVALID_ARGUMENT", "after", "not a cursor of this list"},
		{"a cursor of another version", fmt.Sprintf(`{ observations(after: %q) { totalCount } }`, forge(parts[0]+":000000000000:"+parts[2])), "INVALID_ARGUMENT", "after", "cursor is from dataset version 000000000000"},
		{"a cursor of another list", fmt.Sprintf(`{ units(after: %q) { totalCount } }`, cursor), "INVALID_ARGUMENT", "after", "not a cursor of this list"},
		{"an unknown unit", `{ series(unit: "vn.nowhere", indicator: "poverty_rate") { observations { value } } }`, "NOT_FOUND", "unit", "vn.nowhere"},
		{"an unknown indicator", `{ trend(unit: "vn.lai-chau", indicator: "no_such") { points { value } } }`, "NOT_FOUND", "indicator", "no_such"},
		{"an unknown unit in a set", `{ compare(indicators: ["poverty_rate"], units: { codes: ["vn.lai-chau", "vn.nowhere"] }) { unitsInSet } }`, "NOT_FOUND", "units", "vn.nowhere"},
		{"a month 13", `{ trend(unit: "vn.lai-chau", indicator: "poverty_rate", from: "2024-13") { points { value } } }`, "INVALID_ARGUMENT", "from", "2024-13"},
		{"a day 45", `{ change(unit: "vn.lai-chau", indicator: "poverty_rate", from: "2024-12-45", to: "2023") { absolute } }`, "INVALID_ARGUMENT", "from", "2024-12-45"},
		{"a backwards range", `{ rollup(indicator: "jobs_created", units: { codes: ["vn.lai-chau.phong-tho"] }, over: "2023-2020") { value } }`, "INVALID_ARGUMENT", "over", "2023-2020"},
		{"a year of letters", `{ rollup(indicator: "households_poor", units: { codes: ["vn.lai-chau"] }, periods: ["20x0"]) { value } }`, "INVALID_ARGUMENT", "periods", "20x0"},
		{"an empty period", `{ change(unit: "vn.lai-chau", indicator: "poverty_rate", from: "", to: "2023") { absolute } }`, "INVALID_ARGUMENT", "from", ""},
		{"a huge year", `{ progress(units: ["vn.lai-chau"], targetYear: 2147483647) { status } }`, "", "", ""},
		{"invalid UTF-8 in a code", "{ series(unit: \"vn.\xff\xfe\", indicator: \"poverty_rate\") { observations { value } } }", "NOT_FOUND", "unit", ""},
		{"a NUL in a code", `{ series(unit: "vn\u0000", indicator: "poverty_rate") { observations { value } } }`, "NOT_FOUND", "unit", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := postQuery(t, base, tc.query, nil)
			require.Equal(t, http.StatusOK, out.status, "%s", out.raw)
			requireNoInternals(t, out.raw)
			if tc.code == "" { // answered, or refused, but never an internal error
				for _, e := range out.Errors {
					require.NotEqual(t, "INTERNAL", e.Extensions["code"], "%s", out.raw)
				}
				worst.add(tc.name, stillServing(t, base))
				return
			}
			require.NotEmpty(t, out.Errors, "%s", out.raw)
			e := out.Errors[0]
			require.Equal(t, tc.code, e.Extensions["code"], "%s", out.raw)
			if tc.arg != "" {
				require.Contains(t, fmt.Sprint(e.Extensions["argument"]), tc.arg, "the error names the argument: %s", out.raw)
			}
			require.Contains(t, e.Message, tc.message)
			worst.add(tc.name, stillServing(t, base))
		})
	}
	t.Logf("slowest small query after an attack: %s (after %q)", worst.d, worst.name)
}

// sqlPayloads are strings that would do harm if any reached SQL as text.
var sqlPayloads = []string{
	`'`,
	`''`,
	`' OR '1'='1`,
	`'; DROP TABLE observations; --`,
	`read_csv('/etc/passwd')`,
	`') UNION SELECT * FROM read_csv('/etc/passwd') --`,
	`vn.lai-chau' --`,
	`%`,
	`_`,
	`\`,
	`"; ATTACH '/tmp/x.db' AS x; --`,
}

// stringArguments are the string arguments of every root field, each as
// a query with %s where the payload goes (as a GraphQL string) and the
// argument's name.
var stringArguments = []struct{ query, arg string }{
	{`unit(code: %s) { code }`, "code"},
	{`units(search: %s) { totalCount }`, "search"},
	{`units(parent: %s) { totalCount }`, "parent"},
	{`units(after: %s) { totalCount }`, "after"},
	{`indicator(code: %s) { code }`, "code"},
	{`indicators(theme: %s) { totalCount }`, "theme"},
	{`indicators(search: %s) { totalCount }`, "search"},
	{`indicators(hasDataFor: %s) { totalCount }`, "hasDataFor"},
	{`indicators(after: %s) { totalCount }`, "after"},
	{`series(unit: %s, indicator: "poverty_rate") { observations { value } }`, "unit"},
	{`series(unit: "vn.lai-chau", indicator: %s) { observations { value } }`, "indicator"},
	{`observations(filter: { units: [%s] }) { totalCount }`, "units"},
	{`observations(filter: { indicators: [%s] }) { totalCount }`, "indicators"},
	{`observations(filter: { sources: [%s] }) { totalCount }`, "sources"},
	{`observations(filter: { periodFrom: %s }) { totalCount }`, "periodFrom"},
	{`observations(filter: { periodTo: %s }) { totalCount }`, "periodTo"},
	{`observations(after: %s) { totalCount }`, "after"},
	{`source(id: %s) { id }`, "id"},
	{`unit(code: "vn.lai-chau") { series(indicator: %s) { observations { value } } }`, "indicator"},
	{`unit(code: "vn.lai-chau") { latest(indicator: %s) { value } }`, "indicator"},
	{`compare(indicators: [%s], units: { under: "vn.lai-chau", level: DISTRICT }) { unitsInSet }`, "indicators"},
	{`compare(indicators: ["poverty_rate"], units: { codes: [%s] }) { unitsInSet }`, "units"},
	{`compare(indicators: ["poverty_rate"], units: { childrenOf: %s }) { unitsInSet }`, "childrenOf"},
	{`compare(indicators: ["poverty_rate"], units: { under: %s, level: DISTRICT }) { unitsInSet }`, "under"},
	{`compare(indicators: ["poverty_rate"], units: { childrenOf: "vn.lai-chau" }, period: { mode: EXACT, label: %s }) { unitsInSet }`, "label"},
	{`trend(unit: %s, indicator: "poverty_rate") { points { value } }`, "unit"},
	{`trend(unit: "vn.lai-chau", indicator: %s) { points { value } }`, "indicator"},
	{`trend(unit: "vn.lai-chau", indicator: "poverty_rate", base: %s) { points { value } }`, "base"},
	{`trend(unit: "vn.lai-chau", indicator: "poverty_rate", from: %s) { points { value } }`, "from"},
	{`trend(unit: "vn.lai-chau", indicator: "poverty_rate", to: %s) { points { value } }`, "to"},
	{`change(unit: "vn.lai-chau.phong-tho", indicator: "poverty_rate", from: %s, to: "2023") { absolute }`, "from"},
	{`change(unit: "vn.lai-chau.phong-tho", indicator: "poverty_rate", from: "2021", to: %s) { absolute }`, "to"},
	{`rollup(indicator: %s, units: { codes: ["vn.lai-chau"] }) { value }`, "indicator"},
	{`rollup(indicator: "households_poor", units: { codes: [%s] }) { value }`, "units"},
	{`rollup(indicator: "households_poor", units: { codes: ["vn.lai-chau"] }, periods: [%s]) { value }`, "periods"},
	{`rollup(indicator: "jobs_created", units: { codes: ["vn.lai-chau.phong-tho"] }, over: %s) { value }`, "over"},
	{`progress(units: [%s]) { status }`, "units"},
	{`progress(units: ["vn.lai-chau"], indicators: [%s]) { status }`, "indicators"},
	{`reconcile(total: %s) { sum }`, "total"},
	{`reconcile(total: "roads_village", units: [%s]) { sum }`, "units"},
	{`reconcile(total: "roads_village", units: ["vn.lai-chau.phong-tho"], period: %s) { sum }`, "period"},
	{`matrix(indicators: [%s], units: { codes: ["vn.lai-chau"] }) { columns }`, "indicators"},
	{`matrix(indicators: ["poverty_rate"], units: { codes: [%s] }) { columns }`, "units"},
	{`matrix(indicators: ["poverty_rate"], units: { codes: ["vn.lai-chau"] }, periods: [%s]) { columns }`, "periods"},
}

// TestAttackInjection: SQL-looking strings in every string argument are
// data, never SQL: each answer is an empty result, a null for an unknown
// code, or an error of a client's kind naming the argument; the table
// is intact afterwards.
func TestAttackInjection(t *testing.T) {
	srv := startServer(t)
	base := srv.base
	before := gql(t, base, `{ dataset { observations units indicators sources } }`)["data"]
	var worst slowest
	n := 0
	for _, a := range stringArguments {
		for _, p := range sqlPayloads {
			lit, _ := json.Marshal(p)
			q := "{ " + fmt.Sprintf(a.query, lit) + " }"
			out := postQuery(t, base, q, nil)
			n++
			require.Equal(t, http.StatusOK, out.status, "%s: %s", q, out.raw)
			// Messages quote the code asked for: what is left must show
			// nothing internal.
			esc, _ := json.Marshal(p)
			rest := bytes.ReplaceAll(out.raw, esc[1:len(esc)-1], nil)
			rest = bytes.ReplaceAll(rest, bytes.ReplaceAll(esc[1:len(esc)-1], []byte(`\"`), []byte(`\\\"`)), nil)
			if len(p) > 32 { // a period label is quoted to its first 32 bytes
				cut, _ := json.Marshal(strconv.Quote(p[:32]))
				rest = bytes.ReplaceAll(rest, cut[1:len(cut)-1], nil)
			}
			requireNoInternals(t, rest)
			for _, e := range out.Errors {
				code := fmt.Sprint(e.Extensions["code"])
				require.Contains(t, []string{"NOT_FOUND", "INVALID_ARGUMENT"}, code, "%s: %s", q, out.raw)
				require.Contains(t, fmt.Sprint(e.Extensions["argument"]), a.arg, "%s: the error names the argument: %s", q, out.raw)
			}
		}
		worst.add(a.query, stillServing(t, base))
	}
	after := gql(t, base, `{ dataset { observations units indicators sources } }`)["data"]
	require.Equal(t, before, after, "the dataset is intact")
	t.Logf("%d injection attempts over %d string arguments; slowest small query after them: %s", n, len(stringArguments), worst.d)
}

// TestAttackAmplification: aliases, fragments, directives, introspection
// and nesting that multiply a small request's work are refused or
// bounded.
func TestAttackAmplification(t *testing.T) {
	srv := startServer(t)
	base := srv.base
	var worst slowest

	t.Run("50,000 repeated @include", func(t *testing.T) {
		// 350,000 tokens: the parser stops at the token limit, one error.
		q := `{ dataset { version ` + strings.Repeat(`@include(if: true) `, 50_000) + `} }`
		out := postQuery(t, base, q, nil)
		require.Equal(t, http.StatusOK, out.status)
		require.Len(t, out.Errors, 1, "%s", out.raw[:min(len(out.raw), 500)])
		require.Equal(t, "TOO_LARGE", out.Errors[0].Extensions["code"])
		require.Contains(t, out.Errors[0].Message, "more tokens than the limit of 15000")
		require.False(t, out.hasKey["data"])
		worst.add(t.Name(), stillServing(t, base))
	})
	t.Run("2,000 repeated @include", func(t *testing.T) {
		// 14,000 tokens, under the limit: 1,999 validation errors (the
		// directive is not repeatable), of which 50 are listed.
		q := `{ dataset { version ` + strings.Repeat(`@include(if: true) `, 2_000) + `} }`
		out := postQuery(t, base, q, nil)
		require.Equal(t, http.StatusOK, out.status)
		require.Len(t, out.Errors, 51, "a bounded error list")
		require.Equal(t, "GRAPHQL_VALIDATION_FAILED", out.Errors[0].Extensions["code"])
		last := out.Errors[len(out.Errors)-1]
		require.Equal(t, "1949 more errors not shown (at most 50 are listed)", last.Message)
		require.Less(t, len(out.raw), 64<<10, "the answer is bounded: %d bytes", len(out.raw))
		require.False(t, out.hasKey["data"])
		worst.add(t.Name(), stillServing(t, base))
	})
	t.Run("deep nesting", func(t *testing.T) {
		q := `{ unit(code: "vn") ` + strings.Repeat(`{ children `, 40) + `{ code }` + strings.Repeat(` }`, 40) + ` }`
		out := postQuery(t, base, q, nil)
		require.Equal(t, "TOO_LARGE", out.Errors[0].Extensions["code"], "%s", out.raw)
		require.Contains(t, out.Errors[0].Message, "over the limit of 15")
		worst.add(t.Name(), stillServing(t, base))
	})
	t.Run("10,000 nested selections", func(t *testing.T) {
		q := strings.Repeat(`{ a `, 10_000) + strings.Repeat(`}`, 10_000)
		out := postQuery(t, base, q, nil)
		require.NotEmpty(t, out.Errors)
		require.Contains(t, []any{"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "TOO_LARGE"}, out.Errors[0].Extensions["code"], "%s", out.raw[:min(len(out.raw), 500)])
		worst.add(t.Name(), stillServing(t, base))
	})
	t.Run("a huge list argument", func(t *testing.T) {
		codes := make([]string, 50_000)
		for i := range codes {
			codes[i] = fmt.Sprintf("vn.x%d", i)
		}
		lit, _ := json.Marshal(codes)
		// Written in the query, 50,000 codes are over the token limit.
		out := postQuery(t, base, `{ compare(indicators: ["poverty_rate"], units: { codes: `+string(lit)+` }) { unitsInSet } }`, nil)
		require.Len(t, out.Errors, 1, "%s", out.raw[:min(len(out.raw), 500)])
		require.Equal(t, "TOO_LARGE", out.Errors[0].Extensions["code"])
		require.Contains(t, out.Errors[0].Message, "pass long lists as variables")
		require.False(t, out.hasKey["data"])
		// As a variable, the list is counted by the cost model.
		out = postQuery(t, base, `query($c: [ID!]) { compare(indicators: ["poverty_rate"], units: { codes: $c }) { unitsInSet } }`, map[string]any{"c": codes})
		require.NotEmpty(t, out.Errors, "%s", out.raw[:min(len(out.raw), 500)])
		// 50,000 codes, counted by the cost model, are within the
		// default budget: the first unknown one is named, once.
		require.Len(t, out.Errors, 1, "%s", out.raw[:min(len(out.raw), 500)])
		require.Equal(t, "NOT_FOUND", out.Errors[0].Extensions["code"])
		require.Equal(t, "units.codes", out.Errors[0].Extensions["argument"])
		require.Contains(t, out.Errors[0].Message, `no unit with code "vn.x0"`)
		require.Less(t, len(out.raw), 64<<10, "the error does not list 50,000 codes")
		requireNoInternals(t, out.raw)
		worst.add(t.Name(), stillServing(t, base))
	})
	t.Run("1,000 aliases of progress", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("{")
		for i := range 1000 {
			fmt.Fprintf(&b, ` a%d: progress(units: ["vn.lai-chau"], targetYear: 2025) { status }`, i)
		}
		b.WriteString("}")
		start := time.Now()
		out := postQuery(t, base, b.String(), nil)
		require.Equal(t, "TOO_LARGE", out.Errors[0].Extensions["code"], "%s", out.raw[:min(len(out.raw), 500)])
		require.Less(t, time.Since(start), 2*time.Second, "refused before any work")
		worst.add(t.Name(), stillServing(t, base))
	})
	t.Run("1,000 aliases of introspection", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("{")
		for i := range 1000 {
			fmt.Fprintf(&b, ` a%d: __schema { types { name fields { name type { name } } } }`, i)
		}
		b.WriteString("}")
		out := postQuery(t, base, b.String(), nil)
		require.Equal(t, "TOO_LARGE", out.Errors[0].Extensions["code"])
		worst.add(t.Name(), stillServing(t, base))
	})
	t.Run("26 levels of doubling fragments", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(`{ ...f0 }`)
		for i := range 26 {
			fmt.Fprintf(&b, ` fragment f%d on Query { ...f%d ...f%d }`, i, i+1, i+1)
		}
		b.WriteString(` fragment f26 on Query { dataset { version } }`)
		start := time.Now()
		out := postQuery(t, base, b.String(), nil)
		// 2^26 paths to one field, which GraphQL merges: the memoised
		// walk costs each fragment once, and the answer is that field.
		require.Less(t, time.Since(start), 2*time.Second)
		require.Empty(t, out.Errors, "%s", out.raw)
		require.NotEmpty(t, out.Data["dataset"].(map[string]any)["version"])
		worst.add(t.Name(), stillServing(t, base))
	})
	t.Logf("slowest small query after an amplification: %s (after %q)", worst.d, worst.name)
}

// TestIntrospectionSwitch: -introspection=false refuses __schema and
// __type; queries still answer.
func TestIntrospectionSwitch(t *testing.T) {
	srv := startServer(t, "-introspection=false")
	out := postQuery(t, srv.base, `{ __schema { queryType { name } } }`, nil)
	require.NotEmpty(t, out.Errors, "%s", out.raw)
	require.Equal(t, "INTROSPECTION_DISABLED", out.Errors[0].Extensions["code"])
	require.Contains(t, out.Errors[0].Message, "introspection is turned off")
	stillServing(t, srv.base)
	on := startServer(t)
	out = postQuery(t, on.base, `{ __schema { queryType { name } } }`, nil)
	require.Empty(t, out.Errors)
	require.Equal(t, "Query", out.Data["__schema"].(map[string]any)["queryType"].(map[string]any)["name"])
}

// TestMalformedRequestsLogBounded: 100 malformed requests of 512 KiB
// each log one bounded line each, at INFO, without their bodies; none at
// ERROR.
func TestMalformedRequestsLogBounded(t *testing.T) {
	var log lockedBuf
	srv := startServerLog(t, &log, "info")
	marker := strings.Repeat("SECRETBODY", 512<<10/10)
	bodies := [][]byte{
		[]byte(`{"query": "` + marker),                // malformed JSON
		[]byte(`[{"query": "` + marker + `"}]`),       // a batch
		[]byte(`{"query": 1, "x": "` + marker + `"}`), // a parameter of the wrong type
		[]byte(`{"query": "{ __typename }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "` + marker[:64] + `"}}}`),
	}
	before := log.Len()
	for i := range 100 {
		out := send(t, http.MethodPost, srv.base+"/graphql", "application/json", bodies[i%len(bodies)])
		require.Equal(t, http.StatusBadRequest, out.status, "%s", out.raw[:min(len(out.raw), 300)])
		require.Equal(t, "BAD_REQUEST", out.Errors[0].Extensions["code"])
	}
	stillServing(t, srv.base)
	logged := log.String()[before:]
	t.Logf("100 malformed requests of about 512 KiB wrote %d bytes of log", len(logged))
	require.Less(t, len(logged), 64<<10, "logs are bounded")
	require.NotContains(t, logged, "SECRETBODY", "request bodies are never logged")
	require.NotContains(t, logged, "level=ERROR")
}

// TestSlowloris: 200 connections that send their headers a byte at a
// time do not stop others being served, and are closed once
// -read-header-timeout passes.
func TestSlowloris(t *testing.T) {
	srv := startServer(t, "-read-header-timeout", "1s")
	addr := strings.TrimPrefix(srv.base, "http://")
	conns := make([]net.Conn, 0, 200)
	for range 200 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		_, err = c.Write([]byte("POST /graphql HTTP/1.1\r\nHost: x\r\nX-Slow: "))
		require.NoError(t, err)
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// The others are served meanwhile.
	var worst time.Duration
	for range 10 {
		worst = max(worst, stillServing(t, srv.base))
	}
	t.Logf("slowest small query during a slowloris of 200 connections: %s", worst)
	// Every slow connection is closed by the server within a few seconds
	// of its header timeout, even while it keeps trickling.
	start := time.Now()
	closed := 0
	for _, c := range conns {
		c.Write([]byte("a"))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.ReadAll(c) // a 408 or nothing, then EOF (or a reset)
		if ne, ok := err.(net.Error); err == nil || !ok || !ne.Timeout() {
			closed++
		}
	}
	require.Equal(t, 200, closed, "every slow connection is closed by the server")
	require.Less(t, time.Since(start), 10*time.Second)
	t.Logf("200 slow connections closed %s after the test stopped waiting on them", time.Since(start).Round(time.Millisecond))
}

// TestHeaderTooLarge: headers over -max-header-bytes get 431.
func TestHeaderTooLarge(t *testing.T) {
	srv := startServer(t, "-max-header-bytes", "8192")
	req, err := http.NewRequest(http.MethodGet, srv.base+"/graphql?query=%7B__typename%7D", nil)
	require.NoError(t, err)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
	stillServing(t, srv.base)
}

// TestNeverReadingClient: a client that asks for a large answer and never
// reads it holds the server's response no longer than -write-timeout:
// the write fails, the handler returns, and the request is logged.
func TestNeverReadingClient(t *testing.T) {
	var log lockedBuf
	srv := startServerLog(t, &log, "info", "-timeout", "1s", "-write-timeout", "2s", "-cache-mb", "0")
	addr := strings.TrimPrefix(srv.base, "http://")
	// About 1.3 MB per request: 4 pages of 1,000 observations with text.
	q := `{ ` + strings.Repeat(`x%d: observations(first: 1000) { nodes { unitCode indicatorCode periodLabel value raw note } } `, 4) + `}`
	q = fmt.Sprintf(q, 1, 2, 3, 4)
	body, _ := json.Marshal(map[string]string{"query": q})
	d := net.Dialer{Control: nil}
	var conns []net.Conn
	for range 8 {
		c, err := d.Dial("tcp", addr)
		require.NoError(t, err)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetReadBuffer(4096)
		}
		fmt.Fprintf(c, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	start := time.Now()
	stillServing(t, srv.base)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Count(log.String(), "path=/graphql status=200") >= 9 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.GreaterOrEqual(t, strings.Count(log.String(), "path=/graphql status=200"), 9, "every stuck response was given up: %s", log.String())
	t.Logf("8 clients that never read were given up %s after they asked", time.Since(start).Round(time.Millisecond))
}

// lockedBuf is a buffer the server writes and the test reads.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuf) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

// TestAliasFloodSmallQueryServed (issue 15, Must show): while clients send
// 1,000- and 10,000-alias progress requests, each is refused with
// TOO_LARGE before any work (by the token limit by default; by the
// root-field limit when the parser is allowed to read it all), and a
// small query sent meanwhile is answered: its latencies are logged
// against the 100 ms target (BENCHMARKS measure speed; this fails only
// above 2 s so a loaded machine does not flake it).
func TestAliasFloodSmallQueryServed(t *testing.T) {
	flood := func(n int) []byte {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			fmt.Fprintf(&b, ` a%d: progress(units: ["vn.lai-chau"], targetYear: 2025) { status }`, i)
		}
		b.WriteString("}")
		body, _ := json.Marshal(map[string]string{"query": b.String()})
		return body
	}
	bodies := [][]byte{flood(1000), flood(10_000)}
	for _, tc := range []struct {
		name    string
		args    []string
		message string
	}{
		{"the token limit", nil, "more tokens than the limit of 15000"},
		{"the root-field limit", []string{"-max-tokens", "1048576"}, "root fields, over the limit of 50"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, tc.args...)
			var quiet []time.Duration // the same small query, no flood
			for range 50 {
				quiet = append(quiet, stillServing(t, srv.base))
			}
			slices.Sort(quiet)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var mu sync.Mutex
			var floods int
			var floodMax time.Duration
			for w := range 2 { // two attackers (one a core), each alternating both sizes
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						start := time.Now()
						out := send(t, http.MethodPost, srv.base+"/graphql", "application/json", bodies[i%2])
						took := time.Since(start)
						if out.status != http.StatusOK || len(out.Errors) != 1 || out.Errors[0].Extensions["code"] != "TOO_LARGE" ||
							!strings.Contains(out.Errors[0].Message, tc.message) || out.hasKey["data"] {
							t.Errorf("a flood of %d aliases: %d %s", []int{1000, 10_000}[i%2], out.status, out.raw[:min(len(out.raw), 300)])
							return
						}
						mu.Lock()
						floods++
						floodMax = max(floodMax, took)
						mu.Unlock()
					}
				}()
			}
			// Small queries until 20 floods have been refused.
			var lat []time.Duration
			deadline := time.Now().Add(40 * time.Second)
			for {
				mu.Lock()
				n := floods
				mu.Unlock()
				if n >= 20 || t.Failed() {
					break
				}
				require.True(t, time.Now().Before(deadline), "only %d floods answered in 40 s", n)
				lat = append(lat, stillServing(t, srv.base))
			}
			close(stop)
			wg.Wait()
			slices.Sort(lat)
			under := 0
			for _, d := range lat {
				if d <= 100*time.Millisecond {
					under++
				}
			}
			t.Logf("%d flood requests refused meanwhile (slowest refusal %s); %d small queries: p50 %s, max %s, %d within 100 ms; without the flood p50 %s, max %s",
				floods, floodMax.Round(time.Microsecond), len(lat), lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond), under,
				quiet[len(quiet)/2].Round(time.Microsecond), quiet[len(quiet)-1].Round(time.Microsecond))
			require.Positive(t, floods)
		})
	}
}
