package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/ast"

	"chiso/datasets"
	"chiso/engine"
	"chiso/graph"
	"chiso/httpapi"
	"chiso/indicator"
	"chiso/loader"
	"chiso/store"
)

// laiChauAPI serves the embedded dataset through eng (wrapping the
// store's engine when wrap is given) on a real loopback server.
func laiChauAPI(t *testing.T, conv httpapi.Conventions, wrap func(indicator.Engine) indicator.Engine) string {
	t.Helper()
	st := store.New(store.Options{})
	t.Cleanup(func() { st.Close() })
	_, err := loader.New(st, loader.Options{}).Load(context.Background(), loader.Dir{Name: "embedded:laichau", FS: datasets.LaiChau()})
	require.NoError(t, err)
	var eng indicator.Engine = engine.New(st, engine.Options{MaxRows: st.MaxRows()})
	if wrap != nil {
		eng = wrap(eng)
	}
	api := httpapi.New(httpapi.Config{Timeout: time.Minute, Limits: graph.DefaultLimits, QueryLimits: graph.DefaultQueryLimits,
		Loader: graph.LoaderOptions{Wait: time.Millisecond}, MaxBody: 1 << 20, CacheBytes: 1 << 20, HTTP: conv}, eng, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv.URL
}

// flatten is the test's own flattening of a GraphQL answer's row:
// nested objects as dotted keys, lists of values joined with ";".
func flatten(prefix string, v any, out map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			flatten(prefix+k+".", e, out)
		}
	case []any:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = e.(string)
		}
		out[strings.TrimSuffix(prefix, ".")] = strings.Join(s, ";")
	default:
		out[strings.TrimSuffix(prefix, ".")] = v
	}
}

func dropNulls(rows []map[string]any) []map[string]any {
	for _, r := range rows {
		for k, v := range r {
			if v == nil {
				delete(r, k)
			}
		}
	}
	return rows
}

func postGraphQL(t *testing.T, base, query string, vars map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	resp, err := http.Post(base+"/graphql", "application/json", strings.NewReader(string(body)))
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Nil(t, out["errors"])
	return out["data"].(map[string]any)
}

func exportJSON(t *testing.T, base, query string) []map[string]any {
	t.Helper()
	resp, err := http.Get(base + "/export?format=json&query=" + url.QueryEscape(query))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var rows []map[string]any
	require.NoError(t, json.Unmarshal(body, &rows))
	return rows
}

// observationLeaves are the selections of every argument-less leaf
// field (a scalar or enum, or a list of them) of the schema's
// Observation type and of the objects the export flattens below it: its
// unit, indicator, period, provenance and provenance's source.
func observationLeaves(t *testing.T) []string {
	t.Helper()
	schema := graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{}}).Schema()
	nested := map[string]bool{"Observation.unit": true, "Observation.indicator": true, "Observation.period": true,
		"Observation.provenance": true, "Provenance.source": true}
	var leaves []string
	var walk func(typ string, wrap func(string) string)
	walk = func(typ string, wrap func(string) string) {
		def := schema.Types[typ]
		require.NotNil(t, def, typ)
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") || len(f.Arguments) > 0 {
				continue
			}
			named := schema.Types[f.Type.Name()]
			switch {
			case named.Kind == ast.Scalar || named.Kind == ast.Enum:
				leaves = append(leaves, wrap(f.Name))
			case nested[typ+"."+f.Name]:
				name := f.Name
				walk(named.Name, func(s string) string { return wrap(name + " { " + s + " }") })
			}
		}
	}
	walk("Observation", func(s string) string { return s })
	return leaves
}

// TestExportStreamsEveryLeaf: every leaf field of an observation (see
// observationLeaves) is one the export streams itself: the whole table,
// past the page cap, comes out with it selected. A field the stream does
// not write (one added to the schema, say) would fall back to the
// capped whole answer, and fails here by name.
func TestExportStreamsEveryLeaf(t *testing.T) {
	base := laiChauAPI(t, httpapi.Conventions{ExportPage: 700}, nil)
	leaves := observationLeaves(t)
	// Observation's own, and nested ones of each object (the walk works).
	for _, want := range []string{"value", "flags", "basis", "unit { officialCode }", "indicator { aliases }", "period { end }", "provenance { raw }", "provenance { source { contentDate } }"} {
		require.Contains(t, leaves, want)
	}
	total := int(postGraphQL(t, base, `{ observations(first: 1) { totalCount } }`, nil)["observations"].(map[string]any)["totalCount"].(float64))
	require.Greater(t, total, graph.DefaultLimits.MaxPageSize, "a table longer than the page cap")
	for _, leaf := range leaves {
		rows := exportJSON(t, base, `{ observations { nodes { `+leaf+` } } }`)
		require.Equal(t, total, len(rows), "%s: the export did not stream the table (is the field in httpapi/exportobs.go?)", leaf)
	}
}

// TestExportStreamMatchesGraphQL: the streamed observations table (every
// leaf field, see observationLeaves) is row for row what /graphql
// answers page by page, flattened.
func TestExportStreamMatchesGraphQL(t *testing.T) {
	base := laiChauAPI(t, httpapi.Conventions{ExportPage: 300}, nil)
	sel := "__typename " + strings.Join(observationLeaves(t), " ")
	var want []map[string]any
	after := ""
	for {
		d := postGraphQL(t, base, `query($after: String) { observations(first: 1000, after: $after) { pageInfo { hasNextPage endCursor } nodes { `+sel+` } } }`, map[string]any{"after": after})
		c := d["observations"].(map[string]any)
		for _, n := range c["nodes"].([]any) {
			row := map[string]any{}
			flatten("", n, row)
			want = append(want, row)
		}
		pi := c["pageInfo"].(map[string]any)
		if !pi["hasNextPage"].(bool) {
			break
		}
		after = pi["endCursor"].(string)
	}
	require.Greater(t, len(want), 1000, "more than one page of /graphql")
	got := exportJSON(t, base, `{ observations { nodes { `+sel+` } } }`)
	require.Equal(t, want, got)

	// edges with cursors: a cursor from the export resumes /graphql.
	edges := exportJSON(t, base, `{ observations(first: 5) { edges { cursor node { id value } } } }`)
	require.Len(t, edges, 5)
	d := postGraphQL(t, base, `query($a: String) { observations(first: 1, after: $a) { nodes { id } } }`, map[string]any{"a": edges[3]["cursor"]})
	require.Equal(t, edges[4]["node.id"], d["observations"].(map[string]any)["nodes"].([]any)[0].(map[string]any)["id"])
}

// TestExportOtherLists: lists other than the observations table are
// answered as /graphql answers them (limits and all) and flattened.
func TestExportOtherLists(t *testing.T) {
	base := laiChauAPI(t, httpapi.Conventions{}, nil)
	for _, c := range []struct {
		query string
		path  []string
	}{
		{`{ compare(indicators: ["poverty_rate"], units: { under: "vn.lai-chau", level: DISTRICT }, period: { mode: COMMON, minCoverage: 0.1 }) { unitsInSet rows { unit { code nameVi } value missing rank sinceEarliest { absolute crossesBreak } } } }`, []string{"compare", "rows"}},
		{`{ rollup(indicator: "jobs_created", units: { codes: ["vn.lai-chau.phong-tho"] }, over: "2020-2023") { unit { code } period { label start } value coverage { expected withData missing } } }`, []string{"rollup"}},
		{`{ unit(code: "vn.lai-chau.phong-tho") { nameVi series(indicator: "poverty_rate") { observations { periodLabel value flags provenance { line } } } } }`, []string{"unit", "series", "observations"}},
		{`{ sources { id title date } }`, []string{"sources"}},
	} {
		d := postGraphQL(t, base, c.query, nil)
		var at any = d
		for _, k := range c.path {
			at = at.(map[string]any)[k]
		}
		var want []map[string]any
		for _, e := range at.([]any) {
			row := map[string]any{}
			flatten("", e, row)
			want = append(want, row)
		}
		require.NotEmpty(t, want, c.query)
		got := exportJSON(t, base, c.query)
		// A table: every row has the same columns; a null object's columns
		// are null (where the answer has the object null).
		for _, r := range got {
			require.Len(t, r, len(got[0]))
		}
		require.Equal(t, dropNulls(want), dropNulls(got), c.query)
	}
	// Phong Thổ's rank 1 at 37.93 (README question 3).
	rows := exportJSON(t, base, `{ compare(indicators: ["poverty_rate"], units: { under: "vn.lai-chau", level: DISTRICT }, period: { mode: COMMON, minCoverage: 0.1 }) { rows { unit { code } value rank } } }`)
	sort.Slice(rows, func(i, j int) bool { return rows[i]["unit.code"].(string) < rows[j]["unit.code"].(string) })
	for _, r := range rows {
		if r["unit.code"] == "vn.lai-chau.phong-tho" {
			require.Equal(t, 37.93, r["value"])
			require.Equal(t, 1.0, r["rank"])
		}
	}

	// A matrix is one row per cell: the row's unit, the column, the cell.
	q := `{ matrix(indicators: ["poverty_rate"], units: { codes: ["vn.lai-chau.phong-tho"] }) { rows { code } columns cells { value } } }`
	d := postGraphQL(t, base, q, nil)["matrix"].(map[string]any)
	cols := d["columns"].([]any)
	cells := d["cells"].([]any)[0].([]any)
	got := exportJSON(t, base, q)
	require.Len(t, got, len(cols))
	for j, r := range got {
		require.Equal(t, "vn.lai-chau.phong-tho", r["rows.code"])
		require.Equal(t, cols[j], r["columns"])
		if cells[j] == nil {
			require.Nil(t, r["cells.value"])
		} else {
			require.Equal(t, cells[j].(map[string]any)["value"], r["cells.value"])
		}
	}
}

// TestExportErrors: errors before the first byte are GraphQL errors with
// their codes.
func TestExportErrors(t *testing.T) {
	base := laiChauAPI(t, httpapi.Conventions{}, nil)
	get := func(params string) (int, map[string]any) {
		resp, err := http.Get(base + "/export?" + params)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return resp.StatusCode, out["errors"].([]any)[0].(map[string]any)
	}
	q := url.QueryEscape(phongThoQuery)
	status, e := get("format=docx&query=" + q)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, map[string]any{"code": "BAD_REQUEST", "argument": "format"}, e["extensions"])
	require.Contains(t, e["message"], `unknown format "docx"`)
	status, e = get("query=" + q)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "format", e["extensions"].(map[string]any)["argument"])
	status, e = get("format=csv&query=" + url.QueryEscape(`{ dataset { version } }`))
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, e["message"], "selects no list")
	status, e = get("format=csv&query=" + url.QueryEscape(`{ observations { nodes { nope } } }`))
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Equal(t, "GRAPHQL_VALIDATION_FAILED", e["extensions"].(map[string]any)["code"])
	status, e = get("format=csv&query=" + url.QueryEscape(`{ observations(filter: { periodFrom: "20x1" }) { nodes { value } } }`))
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, map[string]any{"code": "INVALID_ARGUMENT", "argument": "filter.periodFrom"}, e["extensions"])
	status, e = get("format=csv&query=" + url.QueryEscape(`{ compare(indicators: ["no_such"], units: { codes: ["vn.lai-chau"] }) { rows { value } } }`))
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, "NOT_FOUND", e["extensions"].(map[string]any)["code"])
	status, e = get("format=csv&query=" + url.QueryEscape(`{ unit(code: "vn.lai-chau") { children { code children { code } } } }`))
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, e["message"], "is a list inside the exported list")
	// A connection answered whole would be its default page (100 of the
	// 1,950 observations, of of units) cut without a word.
	status, e = get("format=csv&query=" + url.QueryEscape(`{ observations { nodes { value unit { parent { code } } } } }`))
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, map[string]any{"code": "BAD_REQUEST", "argument": "first"}, e["extensions"])
	require.Contains(t, e["message"], "observations without first or last would export only its first page (100 rows); give first (at most 1000)")
	require.Contains(t, e["message"], "or leave out unit.parent.code")
	status, e = get("format=csv&query=" + url.QueryEscape(`{ units { edges { node { code } } } }`))
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "first", e["extensions"].(map[string]any)["argument"])
	require.NotContains(t, e["message"], "leave out")
	require.Len(t, exportJSON(t, base, `{ units(first: 3) { nodes { code parent { code } } } }`), 3)
	require.Len(t, exportJSON(t, base, `{ observations(last: 120) { nodes { value unit { parent { code } } } } }`), 120)
	status, e = get("format=sdmx-csv&query=" + url.QueryEscape(`{ observations { nodes { value } } }`))
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, e["message"], "SDMX-CSV needs REF_AREA")
}

// failingEngine fails every observations page after the first.
type failingEngine struct {
	indicator.Engine
	calls atomic.Int32
}

func (f *failingEngine) Observations(ctx context.Context, q indicator.ObservationQuery) ([]indicator.Observation, indicator.PageInfo, error) {
	if f.calls.Add(1) > 1 {
		return nil, indicator.PageInfo{}, errors.New("disk on fire")
	}
	return f.Engine.Observations(ctx, q)
}

// TestExportFailsVisibly: a table that fails after it began is cut off:
// the HTTP client sees the chunked body end without its last chunk, and
// the Parquet file without its footer is refused by DuckDB.
func TestExportFailsVisibly(t *testing.T) {
	f := &failingEngine{}
	base := laiChauAPI(t, httpapi.Conventions{ExportPage: 100}, func(e indicator.Engine) indicator.Engine { f.Engine = e; return f })
	db := duck(t)
	for _, format := range []string{"csv", "parquet"} {
		f.calls.Store(0)
		resp, err := http.PostForm(base+"/export?format="+format, url.Values{"query": {`{ observations { nodes { unitCode value } } }`}})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.ErrorIs(t, err, io.ErrUnexpectedEOF, format)
		require.Empty(t, resp.Trailer.Get("X-Chiso-Export-Rows"))
		if format == "parquet" {
			path := filepath.Join(t.TempDir(), "cut.parquet")
			require.NoError(t, os.WriteFile(path, body, 0o644))
			_, err = db.Exec(`SELECT count(*) FROM read_parquet('` + path + `')`)
			require.Error(t, err)
		}
	}
}

// TestExportSDMX: SDMX-CSV of Phong Thổ's poverty rate: the dataflow, the
// dimensions and SDMX's period forms.
func TestExportSDMX(t *testing.T) {
	base := laiChauAPI(t, httpapi.Conventions{}, nil)
	resp, err := http.Get(base + "/export?format=sdmx-csv&query=" + url.QueryEscape(`{ observations(filter:{units:["vn.lai-chau.phong-tho"], indicators:["poverty_rate"], kinds:[ACTUAL]}) { nodes { unit { code } indicator { code } periodLabel value provenance { line } } } }`))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lines := strings.Split(strings.TrimSpace(string(body)), "\r\n")
	require.Equal(t, "DATAFLOW,REF_AREA,INDICATOR,TIME_PERIOD,OBS_VALUE,PROVENANCE_LINE", lines[0])
	require.Contains(t, lines, "CHISO:OBSERVATIONS_NODES("+resp.Header.Get("X-Chiso-Dataset-Version")[:12]+"),vn.lai-chau.phong-tho,poverty_rate,2023,37.93,175")
}
