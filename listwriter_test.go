package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"chiso/datasets"
	"chiso/graph"
	"chiso/httpapi"
	"chiso/loader"
	"chiso/store"
	"chiso/synth"
)

// The fields the ListWriter writes itself, per type.
const (
	fastPeriod = `__typename label kind start end`
	fastUnit   = `__typename code nameVi nameAscii nameEn level validFrom validTo`
	fastObs    = `__typename id unitCode indicatorCode period { ` + fastPeriod + ` } periodLabel periodStart periodEnd kind value denominator qualifier flags methodology canonical`
	fastChange = `__typename from { ` + fastObs + ` } to { id value } absolute relative years cagr crossesBreak warnings`
	fastRollup = `__typename unit { ` + fastUnit + ` } period { ` + fastPeriod + ` } value coverage { __typename expected withData share weightShare missing }
		reported { ` + fastObs + ` } gap gapRelative`
	fastCompare = `__typename unit { ` + fastUnit + ` } value period { ` + fastPeriod + ` } observation { ` + fastObs + ` } missing alternatives
		rank rankTies rankInParent rankInParentOf parentTies parent { ` + fastObs + ` } shareOfParent diffFromParent setMean diffFromMean
		sinceEarliest { ` + fastChange + ` }`
)

// listCase is one request and whether the ListWriter should write its list.
type listCase struct {
	name  string
	query string
	vars  map[string]any
	fast  bool
}

// TestListWriterAnswersAsGqlgen: every request answers byte for byte the
// same through the ListWriter as through gqlgen's own execution, on the Lai
// Châu data and on a synthetic dataset with every rollup rule, gaps and
// targets. Lists whose selection is all plain fields are written by
// the ListWriter; a selection with a field that looks something up, a
// refused rollup and a bad argument are left to gqlgen.
func TestListWriterAnswersAsGqlgen(t *testing.T) {
	ctx := context.Background()
	xs, err := synth.Size("XS")
	require.NoError(t, err)
	synthDir := filepath.Join(t.TempDir(), "xs")
	_, err = synth.Write(ctx, synthDir, xs, synth.Parquet)
	require.NoError(t, err)
	// Over DuckDB alone and over the point index.
	for _, ds := range []loader.Dir{
		{Name: "embedded:laichau", FS: datasets.LaiChau()},
		loader.OSDir(synthDir),
	} {
		for _, pointsMax := range []int{0, 1 << 30} {
			t.Run(fmt.Sprintf("%s/points-max=%d", ds.Name, pointsMax), func(t *testing.T) {
				st := store.New(store.Options{PointsMax: pointsMax})
				t.Cleanup(func() { st.Close() })
				_, err := loader.New(st, loader.Options{}).Load(ctx, ds)
				require.NoError(t, err)
				ready, err := st.WaitPointIndex(ctx)
				require.NoError(t, err)
				require.Equal(t, pointsMax > 0, ready, "the point index")
				cfg := httpapi.Config{Timeout: time.Minute, Limits: graph.DefaultLimits, QueryLimits: graph.QueryLimits{MaxDepth: 20, MaxCost: 1 << 30},
					Loader: graph.LoaderOptions{Wait: time.Millisecond}, MaxBody: 1 << 20}
				fh := newAPI(cfg, st, slog.New(slog.DiscardHandler))
				fast := fh.Lists
				require.NotNil(t, fast)
				cfg.GqlgenLists = true
				gh := newAPI(cfg, st, slog.New(slog.DiscardHandler))
				require.Nil(t, gh.Lists)
				fs, gs := httptest.NewServer(fh), httptest.NewServer(gh)
				t.Cleanup(fs.Close)
				t.Cleanup(gs.Close)

				cases := listCases(t, st)
				written := 0
				for _, c := range cases {
					before := fast.Written()
					want := postRaw(t, gs.URL, c.query, c.vars)
					got := postRaw(t, fs.URL, c.query, c.vars)
					require.Equal(t, string(want), string(got), "%s: the ListWriter answers differently", c.name)
					if c.fast {
						require.Greater(t, fast.Written(), before, "%s: expected the ListWriter to write the list", c.name)
						require.NotContains(t, string(got), `"errors"`, c.name)
						written++
					} else {
						require.Equal(t, before, fast.Written(), "%s: expected gqlgen to write the list", c.name)
					}
				}
				require.Greater(t, written, 10, "too few lists written by the ListWriter to mean anything")
			})
		}
	}
}

// listCases builds requests over what the loaded dataset holds: every
// indicator's rollup into the root, comparisons of every level in three
// period modes, pages and series, with aliases, fragments and @skip.
func listCases(t *testing.T, st *store.Store) []listCase {
	ctx := context.Background()
	col := func(q string) []string {
		rows, err := st.RawQuery(ctx, q)
		require.NoError(t, err)
		var out []string
		for _, r := range rows {
			out = append(out, fmt.Sprint(r[0]))
		}
		require.NotEmpty(t, out, q)
		return out
	}
	root := col(`SELECT code FROM units WHERE parent IS NULL ORDER BY code`)[0]
	levels := col(`SELECT DISTINCT upper(level) FROM units WHERE parent IS NOT NULL`)
	// Per rollup rule, the three indicators with the most observations.
	aggregatable := col(`SELECT code FROM (SELECT i.code, count(o.id) AS n, row_number() OVER (PARTITION BY split_part(i.rollup, '(', 1) ORDER BY count(o.id) DESC, i.code) AS k
		FROM indicators i LEFT JOIN observations o ON o.indicator = i.code WHERE i.rollup NOT IN ('NONE', 'LAST') GROUP BY i.code, i.rollup) WHERE k <= 3 ORDER BY code`)
	refused := col(`SELECT code FROM indicators ORDER BY rollup IN ('NONE', 'LAST') DESC, code LIMIT 1`)[0]
	busiest := col(`SELECT indicator FROM observations GROUP BY indicator ORDER BY count(*) DESC, indicator LIMIT 10`)
	series := col(`SELECT unit || ' ' || indicator FROM (SELECT unit, indicator, count(*) n FROM observations GROUP BY ALL) ORDER BY n DESC, unit, indicator LIMIT 3`)
	label := col(`SELECT period FROM observations WHERE period_kind = 'YEAR' GROUP BY period ORDER BY count(*) DESC, period LIMIT 1`)[0]

	var cs []listCase
	for _, i := range aggregatable {
		for _, units := range []string{`{ codes: [$root] }`, `{ childrenOf: $root }`} {
			cs = append(cs, listCase{name: "rollup " + i + " " + units, fast: true,
				query: `query($i: ID!, $root: ID!) { rollup(indicator: $i, units: ` + units + `) { ` + fastRollup + ` } }`,
				vars:  map[string]any{"i": i, "root": root}})
		}
		cs = append(cs, listCase{name: "rollup with inputs " + i,
			query: `query($i: ID!, $root: ID!) { rollup(indicator: $i, units: { codes: [$root] }) { value rule { kind expression } inputs { id unit { code } } } }`,
			vars:  map[string]any{"i": i, "root": root}})
	}
	cs = append(cs, listCase{name: "refused rollup " + refused,
		query: `query($i: ID!, $root: ID!) { rollup(indicator: $i, units: { codes: [$root] }) { ` + fastRollup + ` } }`,
		vars:  map[string]any{"i": refused, "root": root}})
	pair := busiest[:min(2, len(busiest))]
	for _, lvl := range levels {
		for _, period := range []string{`{ mode: LATEST }`, `{ mode: COMMON }`, `{ mode: EXACT, label: "` + label + `" }`} {
			for _, rankBy := range []string{"VALUE", "GROWTH"} {
				cs = append(cs, listCase{name: "compare " + lvl + " " + period + " " + rankBy, fast: true,
					query: `query($is: [ID!]!, $root: ID!) { compare(indicators: $is, units: { under: $root, level: ` + lvl + ` }, period: ` + period + `, rankBy: ` + rankBy + `) {
						unitsInSet mixedPeriods rows { ` + fastCompare + ` } } }`,
					vars: map[string]any{"is": pair, "root": root}})
			}
		}
		for by, inds := range map[string][]string{"PERIOD": pair[:1], "INDICATOR": pair} {
			cs = append(cs, listCase{name: "matrix " + lvl + " by " + by, fast: true,
				query: `query($is: [ID!]!, $root: ID!) { matrix(indicators: $is, units: { under: $root, level: ` + lvl + ` }, by: ` + by + `) {
					columns rows { ` + fastUnit + ` } cells { __typename value observation { ` + fastObs + ` } } } }`,
				vars: map[string]any{"is": inds, "root": root}})
		}
		cs = append(cs, listCase{name: "matrix with units " + lvl,
			query: `query($is: [ID!]!, $root: ID!) { matrix(indicators: $is, units: { under: $root, level: ` + lvl + ` }) { cells { observation { unit { code } } } } }`,
			vars:  map[string]any{"is": pair[:1], "root": root}})
		cs = append(cs, listCase{name: "compare with indicator " + lvl,
			query: `query($is: [ID!]!, $root: ID!) { compare(indicators: $is, units: { under: $root, level: ` + lvl + ` }) { rows { value indicator { code } } } }`,
			vars:  map[string]any{"is": pair, "root": root}})
	}
	for _, i := range busiest {
		cs = append(cs, listCase{name: "observations " + i, fast: true,
			query: `query($i: ID!) { observations(filter: { indicators: [$i] }, first: 300) { totalCount nodes { ` + fastObs + ` } pageInfo { hasNextPage endCursor }
				edges { __typename cursor node { id value periodLabel } } } }`,
			vars: map[string]any{"i": i}})
	}
	cs = append(cs, listCase{name: "units", fast: true,
		query: `query($root: ID!) { unit(code: $root) { code children { ` + fastUnit + ` } descendants { ` + fastUnit + ` } ancestors { code } }
			units(first: 500) { totalCount nodes { ` + fastUnit + ` } edges { cursor node { code level } } } }`,
		vars: map[string]any{"root": root}})
	cs = append(cs, listCase{name: "units with their latest value",
		query: `query($root: ID!, $i: ID!) { unit(code: $root) { children { code latest(indicator: $i) { value } } } }`,
		vars:  map[string]any{"root": root, "i": busiest[0]}})
	cs = append(cs, listCase{name: "observations with unit",
		query: `{ observations(first: 50) { nodes { value unit { code } } edges { node { indicator { code } } } } }`})
	for _, s := range series {
		var u, i string
		fmt.Sscan(s, &u, &i)
		cs = append(cs, listCase{name: "series " + s, fast: true,
			query: `query($u: ID!, $i: ID!) { series(unit: $u, indicator: $i) { observations { ` + fastObs + ` } } }`,
			vars:  map[string]any{"u": u, "i": i}})
	}
	// Aliases, fragments, inline fragments and directives, as gqlgen
	// collects them.
	for _, skip := range []bool{true, false} {
		cs = append(cs, listCase{name: fmt.Sprintf("shapes skip=%v", skip), fast: true,
			query: `query($i: ID!, $root: ID!, $skip: Boolean!) {
				a: rollup(indicator: $i, units: { codes: [$root] }) { ...R v2: value @skip(if: $skip) u: unit { c: code ... on Unit { nameVi } } }
				b: rollup(indicator: $i, units: { childrenOf: $root }) { ... on RollupRow { __typename p: period { l: label } } value @include(if: $skip) }
			}
			fragment R on RollupRow { value period { label } coverage { share } }`,
			vars: map[string]any{"i": aggregatable[0], "root": root, "skip": skip}})
	}
	cs = append(cs, listCase{name: "unknown indicator",
		query: `{ rollup(indicator: "no-such-indicator", units: { codes: ["x"] }) { value } }`})
	return cs
}

// postRaw posts a GraphQL request and returns the response body as is.
func postRaw(t *testing.T, url, query string, vars map[string]any) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	resp, err := http.Post(url+"/graphql", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return out
}
