package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"chiso/store"
)

// TestReloadGuard: a reload whose observations file is header-only, or
// truncated to a third, is refused and the old data stays served;
// SIGUSR1 forces it.
func TestReloadGuard(t *testing.T) {
	dir := writeTree(t, 2, 4) // (2 + 8) units × 7 observations = 70
	srv := startServer(t, "-data", dir)
	count := func() float64 {
		return gql(t, srv.base, `{ dataset { observations } }`)["data"].(map[string]any)["dataset"].(map[string]any)["observations"].(float64)
	}
	require.Equal(t, float64(70), count())
	obs := filepath.Join(dir, "observations.csv")
	full, err := os.ReadFile(obs)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(full), "\n")

	// Header only: 70 → 0.
	require.NoError(t, os.WriteFile(obs, []byte(lines[0]), 0o644))
	err = srv.reload(t)
	require.ErrorContains(t, err, "reload refused, the served dataset is kept: observations: 70 → 0 rows (100% dropped)")
	require.Equal(t, float64(70), count())

	// Truncated to the first 23 rows: 47 of 70 dropped (67.1%), over 50%.
	require.NoError(t, os.WriteFile(obs, []byte(strings.Join(lines[:24], "")), 0o644))
	err = srv.reload(t)
	require.ErrorContains(t, err, "observations: 70 → 23 rows (67.1% dropped)")
	require.Equal(t, float64(70), count())

	// Forced: SIGUSR1.
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))
	select {
	case err := <-srv.reloaded:
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		t.Fatal("no forced reload")
	}
	require.Equal(t, float64(23), count())
}

// TestCacheKeyedByAccept: whoever asks first does not choose the media
// type of everyone's answer.
func TestCacheKeyedByAccept(t *testing.T) {
	srv := startServer(t)
	q := `{ unit(code: "vn.lai-chau") { code } }`
	first := postQuery(t, srv.base, q, nil, "Accept", "application/graphql-response+json")
	require.Contains(t, first.ctype, "application/graphql-response+json")
	for range 2 {
		second := postQuery(t, srv.base, q, nil, "Accept", "application/json")
		require.Contains(t, second.ctype, "application/json")
		require.NotContains(t, second.ctype, "graphql-response")
	}
	again := postQuery(t, srv.base, q, nil, "Accept", "application/graphql-response+json")
	require.Contains(t, again.ctype, "application/graphql-response+json")
}

// TestSlowBodyNotCached: a body uploaded slower than the request's time
// limit is refused with 408 TIMEOUT, and the next client sending the
// same query gets its real answer, computed afresh.
func TestSlowBodyNotCached(t *testing.T) {
	srv := startServer(t, "-timeout", "300ms")
	body, _ := json.Marshal(map[string]string{"query": `{ unit(code: "vn.lai-chau") { code nameVi } }`})
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.base, "http://"))
	require.NoError(t, err)
	defer c.Close()
	fmt.Fprintf(c, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:10])
	time.Sleep(600 * time.Millisecond)
	c.Write(body[10:])
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, _ := io.ReadAll(c)
	require.Contains(t, string(resp), "408 Request Timeout")
	require.Contains(t, string(resp), `"TIMEOUT"`)

	out := send(t, http.MethodPost, srv.base+"/graphql", "application/json", body)
	require.Equal(t, http.StatusOK, out.status)
	require.Empty(t, out.Errors)
	require.Equal(t, "Lai Châu", out.Data["unit"].(map[string]any)["nameVi"])
}

// TestGracefulShutdown: when serve is told to stop (what SIGTERM and
// SIGINT do), a request in flight finishes with its answer and serve
// returns nil (exit code 0).
func TestGracefulShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	up := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"-addr", "127.0.0.1:0", "-log-level", "warn"}, func(string) (string, bool) { return "", false }, io.Discard,
			events{ready: func(a string, _ *store.Store) { up <- a }})
	}()
	addr := <-up
	body, _ := json.Marshal(map[string]string{"query": `{ unit(code: "vn.lai-chau") { nameVi } }`})
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	// Half the request, then the shutdown, then the rest: the request is
	// in flight when the server is told to stop.
	fmt.Fprintf(c, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:10])
	time.Sleep(100 * time.Millisecond)
	cancel()
	time.Sleep(100 * time.Millisecond)
	c.Write(body[10:])
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, _ := io.ReadAll(c)
	require.Contains(t, string(resp), "200 OK")
	require.Contains(t, string(resp), "Lai Châu")
	select {
	case err := <-done:
		require.NoError(t, err, "serve returns nil: exit code 0")
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not return after the shutdown")
	}
}

// TestReloadUnderLoad (issue 15, item 6): bounded concurrent load (a
// series, a comparison, cursor walks over the observations table) while
// the dataset is reloaded 10 times, alternately a good change and a
// malformed one. No request fails; no answer mixes two versions (each
// good reload g sets every 2023 poverty rate to 23.5 + g, so an answer's
// values say which data it read, and its dataset.version which snapshot
// it pinned: the two must agree); a malformed reload keeps the old
// version; a cursor from an old version is refused naming that version.
func TestReloadUnderLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	dir := writeTree(t, 4, 10) // 44 units × 7 = 308 observations; 40 communes
	srv := startServer(t, "-data", dir, "-cache-mb", "0")
	obs := filepath.Join(dir, "observations.csv")
	orig, err := os.ReadFile(obs)
	require.NoError(t, err)
	const rate2023 = ",poverty_rate,2023,actual,23.5,"
	require.Equal(t, 44, strings.Count(string(orig), rate2023))
	generation := func(g int) []byte {
		return []byte(strings.ReplaceAll(string(orig), rate2023, fmt.Sprintf(",poverty_rate,2023,actual,%d.5,", 23+g)))
	}

	client := &http.Client{Timeout: 10 * time.Second}
	post := func(q string) (map[string]any, time.Duration, error) {
		b, _ := json.Marshal(map[string]string{"query": q})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.base+"/graphql", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return nil, 0, err
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return nil, 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return out, 0, fmt.Errorf("status %d: %v", resp.StatusCode, out)
		}
		return out, time.Since(start), nil
	}

	// What the load saw, checked when it is over.
	var mu sync.Mutex
	var failures, mixed []string
	seen := map[string]map[float64]bool{} // version → the generations its answers showed
	var latencies []time.Duration
	requests, staleWalks := 0, 0
	tick := make(chan struct{}) // a request answered
	note := func(version string, gens []float64, d time.Duration) {
		mu.Lock()
		requests++
		latencies = append(latencies, d)
		if seen[version] == nil {
			seen[version] = map[float64]bool{}
		}
		for _, g := range gens {
			seen[version][g] = true
		}
		mu.Unlock()
		select {
		case tick <- struct{}{}:
		default:
		}
	}
	fail := func(list *[]string, format string, args ...any) {
		mu.Lock()
		*list = append(*list, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	gen := func(value any) float64 { return value.(float64) - 23.5 }
	versionOf := func(d map[string]any) string { return d["dataset"].(map[string]any)["version"].(string) }

	stop := make(chan struct{})
	var wg sync.WaitGroup
	worker := func(q string, gens func(d map[string]any) []float64) {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			out, d, err := post(q)
			if err != nil || out["errors"] != nil {
				fail(&failures, "%v %v", err, out["errors"])
				continue
			}
			data := out["data"].(map[string]any)
			note(versionOf(data), gens(data), d)
		}
	}
	wg.Add(3)
	go worker(`{ dataset { version } series(unit: "vn.p.d000", indicator: "poverty_rate") { observations { periodLabel kind value } } }`, func(d map[string]any) []float64 {
		for _, o := range d["series"].(map[string]any)["observations"].([]any) {
			if o := o.(map[string]any); o["periodLabel"] == "2023" && o["kind"] == "ACTUAL" {
				return []float64{gen(o["value"])}
			}
		}
		fail(&mixed, "a series without its 2023 value: %v", d)
		return nil
	})
	go worker(`{ dataset { version } compare(indicators: ["poverty_rate"], units: { under: "vn.p", level: COMMUNE }) { rows { value periodLabel: period { label } } } }`, func(d map[string]any) []float64 {
		rows := d["compare"].(map[string]any)["rows"].([]any)
		if len(rows) != 40 {
			fail(&mixed, "a comparison of %d communes, not 40", len(rows))
		}
		var gens []float64
		for _, r := range rows {
			if r := r.(map[string]any); r["periodLabel"].(map[string]any)["label"] == "2023" {
				gens = append(gens, gen(r["value"]))
			}
		}
		if len(gens) != 40 {
			fail(&mixed, "a comparison with %d communes' 2023 rates, not 40", len(gens))
		}
		return gens
	})
	// Cursor walks: the table 50 rows at a time. Every page of one walk
	// is of the version it began on, and the pages add up to its
	// totalCount; a reload in between makes the next cursor refused,
	// naming the version it came from.
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			after, rows, total, version := "", 0, -1, ""
			var gens []float64
			for {
				arg := ""
				if after != "" {
					arg = fmt.Sprintf(", after: %q", after)
				}
				out, d, err := post(`{ dataset { version } observations(first: 50` + arg + `) { totalCount nodes { indicator { code } periodLabel kind value } pageInfo { endCursor hasNextPage } } }`)
				if err != nil {
					fail(&failures, "%v", err)
					break
				}
				if errs, ok := out["errors"].([]any); ok {
					e := errs[0].(map[string]any)
					if version != "" && strings.Contains(e["message"].(string), "cursor is from dataset version "+version[:12]) && e["extensions"].(map[string]any)["code"] == "INVALID_ARGUMENT" {
						mu.Lock()
						staleWalks++
						mu.Unlock()
					} else {
						fail(&failures, "%v", errs)
					}
					break
				}
				data := out["data"].(map[string]any)
				page := data["observations"].(map[string]any)
				v := versionOf(data)
				if version == "" {
					version, total = v, int(page["totalCount"].(float64))
				} else if v != version {
					fail(&mixed, "a cursor of %s answered from %s", version[:12], v[:12])
					break
				}
				for _, n := range page["nodes"].([]any) {
					n := n.(map[string]any)
					if n["indicator"].(map[string]any)["code"] == "poverty_rate" && n["periodLabel"] == "2023" && n["kind"] == "ACTUAL" {
						gens = append(gens, gen(n["value"]))
					}
					rows++
				}
				note(v, gens, d)
				gens = gens[:0]
				if !page["pageInfo"].(map[string]any)["hasNextPage"].(bool) {
					if rows != total {
						fail(&mixed, "a walk of %s read %d rows of %d", version[:12], rows, total)
					}
					break
				}
				after = page["pageInfo"].(map[string]any)["endCursor"].(string)
			}
		}
	}()
	// waitLoad returns once n more requests have been answered.
	waitLoad := func(n int) {
		for range n {
			select {
			case <-tick:
			case <-ctx.Done():
				t.Fatalf("the load stalled: %v", ctx.Err())
			}
		}
	}
	firstPage := func() (version, cursor string) {
		d := gql(t, srv.base, `{ dataset { version } observations(first: 50) { pageInfo { endCursor } } }`)["data"].(map[string]any)
		return versionOf(d), d["observations"].(map[string]any)["pageInfo"].(map[string]any)["endCursor"].(string)
	}
	next := func(cursor string) map[string]any {
		return gql(t, srv.base, fmt.Sprintf(`{ observations(first: 50, after: %q) { nodes { value } } }`, cursor))
	}

	want := map[string]float64{version(t, srv.base): 0} // version → its generation
	var reloads []time.Duration
	for i := range 10 {
		waitLoad(30)
		before, cursor := firstPage()
		start := time.Now()
		if i%2 == 0 { // good: generation i/2 + 1
			g := i/2 + 1
			require.NoError(t, os.WriteFile(obs, generation(g), 0o644))
			require.NoError(t, srv.reload(t))
			reloads = append(reloads, time.Since(start))
			after := version(t, srv.base)
			require.NotEqual(t, before, after)
			want[after] = float64(g)
			// The cursor of the version before is refused, naming it.
			errs := next(cursor)["errors"].([]any)
			e := errs[0].(map[string]any)
			require.Contains(t, e["message"], "cursor is from dataset version "+before[:12]+", now serving "+after[:12])
			require.Equal(t, "INVALID_ARGUMENT", e["extensions"].(map[string]any)["code"])
		} else { // malformed: a period that is none; the old version stays
			good, err := os.ReadFile(obs)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(obs, append(bytes.Clone(good), "vn.p,hh,20x1,actual,1,s,1,1\n"...), 0o644))
			require.ErrorContains(t, srv.reload(t), "20x1")
			require.Equal(t, before, version(t, srv.base))
			require.Nil(t, next(cursor)["errors"], "a cursor survives a refused reload")
			require.NoError(t, os.WriteFile(obs, good, 0o644))
		}
	}
	waitLoad(30)
	close(stop)
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-ctx.Done():
		t.Fatalf("the load did not stop: %v", ctx.Err())
	}

	mu.Lock()
	defer mu.Unlock()
	for v, gens := range seen {
		g, known := want[v]
		if !known {
			mixed = append(mixed, fmt.Sprintf("answers of a version never served: %s", v[:12]))
		}
		for x := range gens {
			if x != g {
				mixed = append(mixed, fmt.Sprintf("version %s (generation %g) answered generation %g", v[:12], g, x))
			}
		}
	}
	slices.Sort(latencies)
	t.Logf("%d requests during 10 reloads (5 good, 5 malformed), %d versions answered; %d failed, %d mixed; %d walks refused a stale cursor naming its version",
		requests, len(seen), len(failures), len(mixed), staleWalks)
	t.Logf("SIGHUP to new version served, the 5 good reloads: %v; request latency p50 %s, p99 %s, max %s",
		reloads, latencies[len(latencies)/2], latencies[len(latencies)*99/100], latencies[len(latencies)-1])
	require.Empty(t, failures, "failed requests")
	require.Empty(t, mixed, "answers mixing two versions")
	require.Len(t, seen, 6, "every version served was answered")
}
