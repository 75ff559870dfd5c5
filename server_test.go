package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"chiso/graph"
	"chiso/httpapi"
	"chiso/loader"
	"chiso/scripttest"
	"chiso/store"
)

// writeTree writes a dataset folder with one province, `districts`
// districts of `communes` communes each, and a poverty-rate series of five
// years for every district and commune.
func writeTree(t testing.TB, districts, communes int) string {
	dir := t.TempDir()
	write := func(name string, lines []string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	}
	write("sources.csv", []string{"id,title", "s,Synthetic source"})
	write("indicators.csv", []string{
		"code,name_vi,measure_unit,rollup,direction",
		"poverty_rate,Tỷ lệ hộ nghèo,%,NONE,lower_better",
		"hh,Số hộ,households,SUM,neutral",
	})
	units := []string{"code,name_vi,level,parent", "vn,Việt Nam,country,", "vn.p,Tỉnh,province,vn"}
	obs := []string{"unit,indicator,period,kind,value,source,line,raw"}
	line := 1
	addSeries := func(code string) {
		for y := 2019; y <= 2023; y++ {
			obs = append(obs, fmt.Sprintf("%s,poverty_rate,%d,actual,%d.5,s,%d,\"%d,5%%\"", code, y, y-2000, line, y-2000))
			line++
		}
		obs = append(obs, fmt.Sprintf("%s,poverty_rate,2025,target,10,s,%d,10%%", code, line), fmt.Sprintf("%s,hh,2023,actual,%d,s,%d,%d", code, line, line+1, line))
		line += 2
	}
	for d := 0; d < districts; d++ {
		dc := fmt.Sprintf("vn.p.d%03d", d)
		units = append(units, fmt.Sprintf("%s,Huyện %d,district,vn.p", dc, d))
		addSeries(dc)
		for c := 0; c < communes; c++ {
			cc := fmt.Sprintf("%s.c%03d", dc, c)
			units = append(units, fmt.Sprintf("%s,Xã %d,commune,%s", cc, c, dc))
			addSeries(cc)
		}
	}
	write("units.csv", units)
	write("observations.csv", obs)
	return dir
}

// TestNestedQueryStatementCount proves that a nested request (province →
// districts → communes, a series and the indicator list for each) runs the
// same small number of SQL statements whatever the number of units.
func TestNestedQueryStatementCount(t *testing.T) {
	const query = `{
	  unit(code: "vn.p") {
	    series(indicator: "poverty_rate") { observations { value } }
	    children {
	      code
	      indicators { code }
	      series(indicator: "poverty_rate") { observations { period { label } value provenance { line raw source { title } } } }
	      children {
	        code
	        series(indicator: "poverty_rate") { observations { value provenance { raw } } }
	        latest(indicator: "hh") { periodLabel }
	      }
	    }
	  }
	}`
	counts := map[int]int64{}
	for _, size := range []struct{ districts, communes int }{{2, 2}, {8, 25}, {20, 50}} {
		w, st := scriptWorld(t, graph.DefaultLimits, graph.DefaultQueryLimits, time.Minute)
		e := scripttest.Serve(t, w)
		_, err := e.Loader.Load(context.Background(), loader.OSDir(writeTree(t, size.districts, size.communes)))
		require.NoError(t, err)
		before := st.Statements()
		out := e.Post(t, query)
		require.NotContains(t, out, `"errors"`)
		// Every commune's series came back in full (five actuals and a target).
		require.Equal(t, (size.districts*size.communes+size.districts)*6, strings.Count(out, `"value"`)) // the province itself has no series
		counts[size.districts*size.communes] = st.Statements() - before
	}
	t.Logf("statements by number of communes: %v", counts)
	// Ideally one batched series statement for the levels, one for the
	// districts' indicator lists and one or two for the communes' series and
	// latest values: 4 (as measured), for 4, 200 or 1,000 communes alike.
	// Batching is time-windowed, so on a loaded machine (-race, 2 cores) a
	// batch can close early and split in two; the bound allows that, and is
	// still far below the thousand-plus statements of one query per unit.
	for n, c := range counts {
		require.LessOrEqual(t, c, int64(8), "%d communes took %d statements", n, c)
		require.GreaterOrEqual(t, c, int64(2), "series and indicator lists are separate statements")
	}
}

// TestAnalyticsStatementCount: comparisons, rollups with their input
// observations, progress and trends cost a fixed number of statements,
// whatever the number of units they cover.
func TestAnalyticsStatementCount(t *testing.T) {
	counts := map[int]int64{}
	for _, size := range []struct{ districts, communes int }{{2, 2}, {8, 25}, {20, 50}} {
		w, st := scriptWorld(t, graph.DefaultLimits, graph.DefaultQueryLimits, time.Minute)
		e := scripttest.Serve(t, w)
		_, err := e.Loader.Load(context.Background(), loader.OSDir(writeTree(t, size.districts, size.communes)))
		require.NoError(t, err)
		districts := make([]string, size.districts)
		for i := range districts {
			districts[i] = fmt.Sprintf("%q", fmt.Sprintf("vn.p.d%03d", i))
		}
		query := `{
		  compare(indicators: ["poverty_rate", "hh"], units: { under: "vn.p", level: COMMUNE }, period: { mode: COMMON }) {
		    rows { unit { code parent { code } } value rank rankInParent parent { value } sinceEarliest { absolute from { provenance { raw } } } }
		  }
		  rollup(indicator: "hh", units: { childrenOf: "vn.p" }) { value coverage { withData expected } reported { value } inputs { value provenance { line } } }
		  progress(units: [` + strings.Join(districts, ", ") + `]) { status progress target { value } latest { value } }
		  trend(unit: "vn.p.d000", indicator: "poverty_rate") { points { value change { absolute } } }
		}`
		before := st.Statements()
		out := e.Post(t, query)
		require.NotContains(t, out, `"errors"`)
		require.Equal(t, 2*size.districts*size.communes, strings.Count(out, `"rank"`), "a row per commune and indicator")
		require.Equal(t, size.districts, strings.Count(out, `"OFF_TRACK"`)+strings.Count(out, `"ON_TRACK"`)+strings.Count(out, `"ACHIEVED"`))
		counts[size.districts*size.communes] = st.Statements() - before
	}
	t.Logf("statements by number of communes: %v", counts)
	for n, c := range counts {
		// compare 2, rollup 2 (+1 batched inputs), progress 2, trend 2.
		require.LessOrEqual(t, c, int64(10), "%d communes took %d statements", n, c)
	}
}

// treeServer serves a tree of 8 districts of 25 communes (writeTree) on
// loopback, with the given request timeout and batching.
func treeServer(t *testing.T, timeout time.Duration, batching graph.LoaderOptions) (*store.Store, *httptest.Server) {
	st := store.New(store.Options{})
	t.Cleanup(func() { st.Close() })
	_, err := loader.New(st, loader.Options{}).Load(context.Background(), loader.OSDir(writeTree(t, 8, 25)))
	require.NoError(t, err)
	h := newAPI(httpapi.Config{Timeout: timeout, Limits: graph.DefaultLimits, QueryLimits: graph.DefaultQueryLimits,
		Loader: batching, MaxBody: 1 << 20}, st, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return st, srv
}

// TestTreePrefetched: a tree of units with each one's latest value and
// series costs a fixed number of statements per kind of value (a series:
// one; latest values: two, the rows read and the observations picked),
// fetched as soon as the
// units are known: the loader here would hold a batch open for an hour,
// so the request only answers (well inside its 20-second timeout)
// because nothing waits for a batch. Every value is the one the table
// holds.
func TestTreePrefetched(t *testing.T) {
	ctx := context.Background()
	st, srv := treeServer(t, 20*time.Second, graph.LoaderOptions{Wait: time.Hour, MaxWait: time.Hour})
	rows, err := st.RawQuery(ctx, `SELECT unit, value FROM observations WHERE indicator = 'hh'`)
	require.NoError(t, err)
	want := map[string]float64{}
	for _, r := range rows {
		want[r[0].(string)] = r[1].(float64)
	}
	rows, err = st.RawQuery(ctx, `SELECT unit, count(*), count(*) FILTER (WHERE kind = 'actual') FROM observations WHERE indicator = 'poverty_rate' GROUP BY unit`)
	require.NoError(t, err)
	wantAll, wantActual := map[string]int{}, map[string]int{}
	for _, r := range rows {
		wantAll[r[0].(string)], wantActual[r[0].(string)] = int(r[1].(int64)), int(r[2].(int64))
	}
	nested := func(list, sub string) func(d map[string]any) []any {
		return func(d map[string]any) []any {
			var out []any
			for _, x := range d["unit"].(map[string]any)[list].([]any) {
				out = append(out, x)
				if sub != "" {
					out = append(out, x.(map[string]any)[sub].([]any)...)
				}
			}
			return out
		}
	}
	for name, tc := range map[string]struct {
		query       string
		statements  int64
		seriesUnits int // units whose series are asked for
		units       func(data map[string]any) []any
	}{
		"children of children": {
			query:      `query($i: ID!) { unit(code: "vn.p") { children { code latest(indicator: $i) { value } children { code latest(indicator: $i) { value } } } } }`,
			statements: 2, units: nested("children", "children"),
		},
		"descendants and their children": {
			query:      `query($i: ID!) { unit(code: "vn") { descendants(level: DISTRICT) { code latest(indicator: $i, kind: ACTUAL) { value } children { code latest(indicator: $i) { value } } } } }`,
			statements: 2, units: nested("descendants", "children"),
		},
		"a page of units, by nodes and by edges": {
			query: `query($i: ID!, $s: ID!) { units(level: COMMUNE, first: 1000) { nodes { code latest(indicator: $i) { value } series(indicator: $s) { observations { value } } }
				edges { node { code latest(indicator: $i) { value } } } } }`,
			statements: 3, seriesUnits: 200, // latest values (two); series (the page comes from the snapshot's index)
			units: func(d map[string]any) []any {
				page := d["units"].(map[string]any)
				out := page["nodes"].([]any)
				for _, e := range page["edges"].([]any) {
					out = append(out, e.(map[string]any)["node"])
				}
				return out
			},
		},
		"series and latest values": {
			query: `query($i: ID!, $s: ID!) { unit(code: "vn.p") { children { code latest(indicator: $i) { value } series(indicator: $s) { observations { value } }
				children { code latest(indicator: $i) { value } series(indicator: $s, kinds: [ACTUAL]) { observations { value } } } } } }`,
			// latest values (two); series of every kind; actual series
			statements: 4, seriesUnits: 208, units: nested("children", "children"),
		},
	} {
		t.Run(name, func(t *testing.T) {
			before := st.Statements()
			body := postRaw(t, srv.URL, tc.query, map[string]any{"i": "hh", "s": "poverty_rate"})
			require.Equal(t, tc.statements, st.Statements()-before, "a fixed number of statements for every kind of value in the tree")
			var resp struct {
				Data   map[string]any
				Errors []any
			}
			require.NoError(t, json.Unmarshal(body, &resp))
			require.Empty(t, resp.Errors)
			units := tc.units(resp.Data)
			require.GreaterOrEqual(t, len(units), 200)
			series := 0
			for _, u := range units {
				m := u.(map[string]any)
				code := m["code"].(string)
				require.Equal(t, want[code], m["latest"].(map[string]any)["value"], code)
				if s, ok := m["series"].(map[string]any); ok {
					n := wantAll[code]
					if strings.Count(code, ".") > 2 && strings.Contains(tc.query, "ACTUAL") { // the communes' actuals only
						n = wantActual[code]
					}
					require.Len(t, s["observations"], n, code)
					series++
				}
			}
			require.Equal(t, tc.seriesUnits, series, "units with their series")
		})
	}
}

// TestTreeTooBigToPrefetch: when a tree asks for more values than one
// fetch takes, no list looks ahead on its own (that would be one fetch per
// district, one after another); the loader's batches serve it, by the
// batch size.
func TestTreeTooBigToPrefetch(t *testing.T) {
	st, srv := treeServer(t, time.Minute, graph.LoaderOptions{Wait: 100 * time.Millisecond, MaxWait: 30 * time.Second, MaxBatch: 50})
	before := st.Statements()
	body := postRaw(t, srv.URL, `{ unit(code: "vn.p") { children { code children { code latest(indicator: "hh") { value } } } } }`, nil)
	n := st.Statements() - before
	require.NotContains(t, string(body), `"errors"`)
	require.Equal(t, 200, strings.Count(string(body), `"value"`))
	// 200 values in batches of 50, two statements each: 8, or a few more
	// if a batch closes early on a loaded machine; one fetch per district
	// would be 16.
	require.GreaterOrEqual(t, n, int64(8))
	require.Less(t, n, int64(16), "the districts' lists looked ahead one by one")
}
