package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"chiso/datasets"
	"chiso/graph"
	"chiso/loader"
	"chiso/scripttest"
)

// post posts query and decodes the answer.
func postScript(t *testing.T, s *scripttest.Script, query string) map[string]any {
	t.Helper()
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(s.Post(t, query)), &out))
	return out
}

func dataOf(t *testing.T, out map[string]any) map[string]any {
	t.Helper()
	require.Nil(t, out["errors"])
	return out["data"].(map[string]any)
}

// idsFixture is a small dataset; extra observation rows go first.
func idsFixture(extra string) string {
	return `-- sources.csv
id,title
s1,First source
s2,Second source
-- units.csv
code,name_vi,level,parent
vn,Việt Nam,country,
vn.p,Tỉnh,province,vn
vn.p.d1,Huyện Một,district,vn.p
-- indicators.csv
code,name_vi,measure_unit,rollup
area,Diện tích,ha,SUM
pop,Dân số,people,SUM
-- observations.csv
unit,indicator,period,kind,value,source,line,raw,qualifier
` + extra + `vn.p,pop,2020,actual,100,s1,3,100,
vn.p.d1,pop,2020,actual,40,s1,4,40,
vn.p.d1,pop,2021,actual,45,s1,5,45,
vn.p.d1,pop,2016-2020,target,30,s1,6,30-50,range_min
vn.p.d1,pop,2016-2020,target,50,s1,6,30-50,range_max
`
}

const factsQuery = `{ observations(first: 100) { nodes { id unitCode indicatorCode periodLabel kind value qualifier provenance { line source { id } } } } }`

// facts maps each observation's fact (everything but its id) to its id, and
// lists the facts in the table's order.
func facts(t *testing.T, s *scripttest.Script) (map[string]string, []string) {
	t.Helper()
	nodes := dataOf(t, postScript(t, s, factsQuery))["observations"].(map[string]any)["nodes"].([]any)
	ids := map[string]string{}
	var order []string
	for _, n := range nodes {
		o := n.(map[string]any)
		id := o["id"].(string)
		delete(o, "id")
		b, err := json.Marshal(o)
		require.NoError(t, err)
		require.NotContains(t, ids, string(b), "two observations are one fact")
		ids[string(b)] = id
		order = append(order, string(b))
	}
	return ids, order
}

// TestObservationIDsStable: an observation's id is derived from the fact,
// so loading the dataset again with rows added before it (which moves
// every row number) keeps the id of every fact, and the same figure from
// another source is another fact with another id. node(id:) finds each.
func TestObservationIDsStable(t *testing.T) {
	w, _ := scriptWorld(t, graph.DefaultLimits, graph.DefaultQueryLimits, time.Minute)
	s := scripttest.Serve(t, w)
	ctx := context.Background()
	_, err := w.Loader.Load(ctx, scripttest.WriteFixture(t, idsFixture("")))
	require.NoError(t, err)
	before, order := facts(t, s)
	require.Len(t, before, 5)

	// Rows sorting first (indicator area, an earlier year) and the
	// province's 2020 population again from another source and line.
	_, err = w.Loader.Load(ctx, scripttest.WriteFixture(t, idsFixture(
		"vn.p,area,2020,actual,900,s1,1,900,\nvn.p.d1,pop,2019,actual,38,s1,2,38,\nvn.p,pop,2020,actual,100,s2,9,100,\n")))
	require.NoError(t, err)
	after, order2 := facts(t, s)
	require.Len(t, after, 8)
	require.NotEqual(t, order[0], order2[0], "the new rows come first, so row numbers moved")
	for fact, id := range before {
		require.Equal(t, id, after[fact], "the id of %s changed", fact)
	}
	seen := map[string]bool{}
	for _, id := range after {
		require.False(t, seen[id], "id %s given twice", id)
		seen[id] = true
		require.True(t, strings.HasPrefix(id, "Observation:"), id)
	}
	// The two sources' province figures: one key, two facts, two ids.
	var province []string
	for fact, id := range after {
		if strings.Contains(fact, `"unitCode":"vn.p"`) && strings.Contains(fact, `"indicatorCode":"pop"`) {
			province = append(province, id)
		}
	}
	require.Len(t, province, 2)
	require.NotEqual(t, province[0], province[1])

	// node(id:) resolves every id to its own fact; nodes keeps the order.
	var ids []string
	for _, fact := range order2 {
		id := after[fact]
		ids = append(ids, id)
		q := fmt.Sprintf(`{ node(id: %q) { __typename id ... on Observation { unitCode indicatorCode periodLabel kind value qualifier provenance { line source { id } } } } }`, id)
		n := dataOf(t, postScript(t, s, q))["node"].(map[string]any)
		require.Equal(t, "Observation", n["__typename"])
		require.Equal(t, id, n["id"])
		delete(n, "__typename")
		delete(n, "id")
		b, err := json.Marshal(n)
		require.NoError(t, err)
		require.Equal(t, fact, string(b))
	}
	quoted, _ := json.Marshal(append(ids, "Observation:vn.p:pop:1999:actual:0000000000000000", "Unit:nowhere", "Indicator:pop"))
	got := dataOf(t, postScript(t, s, `{ nodes(ids: `+string(quoted)+`) { __typename id } }`))["nodes"].([]any)
	require.Len(t, got, len(ids)+3)
	for i, id := range ids {
		require.Equal(t, id, got[i].(map[string]any)["id"])
	}
	require.Nil(t, got[len(ids)], "a well-formed id nothing has is null")
	require.Nil(t, got[len(ids)+1])
	require.Equal(t, map[string]any{"__typename": "Indicator", "id": "Indicator:pop"}, got[len(ids)+2])

	// An id chiso never gives is refused, naming the argument.
	for q, arg := range map[string]string{
		`{ node(id: "vn.p") { id } }`:                      "id",
		`{ node(id: "Observation:vn.p:pop:2020") { id } }`: "id",
		`{ nodes(ids: ["Unit:vn", "Thing:x"]) { id } }`:    "ids",
	} {
		out := postScript(t, s, q)
		errs := out["errors"].([]any)
		require.Len(t, errs, 1, q)
		ext := errs[0].(map[string]any)["extensions"].(map[string]any)
		require.Equal(t, "INVALID_ARGUMENT", ext["code"], q)
		require.Equal(t, arg, ext["argument"], q)
	}
}

// cache is a normalized client cache as Apollo's InMemoryCache and urql's
// graphcache build one by default: every object with __typename and id is
// stored once under "__typename:id", its fields merged from every answer
// it appears in.
type cache map[string]map[string]any

// add normalizes an answer into the cache and fails on an object whose
// fields disagree with what the cache holds for it.
func (c cache) add(t *testing.T, v any) {
	t.Helper()
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			c.add(t, e)
		}
	case map[string]any:
		typ, _ := x["__typename"].(string)
		id, _ := x["id"].(string)
		if typ != "" && id != "" {
			key := typ + ":" + id
			if c[key] == nil {
				c[key] = map[string]any{}
			}
			for f, fv := range x {
				switch fv.(type) {
				case map[string]any, []any:
				default:
					if old, ok := c[key][f]; ok {
						require.Equal(t, old, fv, "%s.%s", key, f)
					}
					c[key][f] = fv
				}
			}
		}
		for _, fv := range x {
			c.add(t, fv)
		}
	}
}

func (c cache) keys(prefix string) []string {
	var out []string
	for k := range c {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// TestNormalizedCache: a client with a default normalized cache keys
// every unit, indicator and observation it is given, and a district
// fetched through different paths (a province's children, the units
// list, node) is one typed entry, not three copies.
func TestNormalizedCache(t *testing.T) {
	w, _ := scriptWorld(t, graph.DefaultLimits, graph.DefaultQueryLimits, time.Minute)
	s := scripttest.Serve(t, w)
	_, err := w.Loader.Load(context.Background(), loader.Dir{Name: "embedded:laichau", FS: datasets.LaiChau()})
	require.NoError(t, err)
	c := cache{}
	counts := dataOf(t, postScript(t, s, `{ dataset { units indicators } }`))["dataset"].(map[string]any)

	tree := dataOf(t, postScript(t, s, `{ unit(code: "vn.lai-chau") { __typename id code children(level: DISTRICT) { __typename id code nameVi } } }`))
	c.add(t, tree)
	districts := c.keys("Unit:Unit:vn.lai-chau.")
	require.Len(t, districts, 8, "Lai Châu has 8 districts")
	require.Contains(t, districts, "Unit:Unit:vn.lai-chau.phong-tho")

	// The same districts from the units list: no new entry, same fields.
	list := dataOf(t, postScript(t, s, `{ units(level: DISTRICT, first: 100) { nodes { __typename id code nameVi level } } }`))
	c.add(t, list)
	require.Equal(t, districts, c.keys("Unit:Unit:vn.lai-chau."))
	pt := c["Unit:Unit:vn.lai-chau.phong-tho"]
	require.Equal(t, "Phong Thổ", pt["nameVi"])
	require.Equal(t, "DISTRICT", pt["level"], "the list's fields merged into the entry the tree made")

	// And by node: the same entry again.
	c.add(t, dataOf(t, postScript(t, s, `{ node(id: "Unit:vn.lai-chau.phong-tho") { __typename id ... on Unit { code nameVi parent { __typename id code } } } }`)))
	require.Equal(t, districts, c.keys("Unit:Unit:vn.lai-chau."))
	require.Equal(t, "vn.lai-chau.phong-tho", pt["code"])

	// Every unit and indicator gets an entry of its own.
	// (units lists one day's tree: today's and two earlier ones hold them all)
	for _, asOf := range []string{"", `, asOf: "2024-12-31"`, `, asOf: "2018-01-01"`} {
		c.add(t, dataOf(t, postScript(t, s, `{ units(first: 1000`+asOf+`) { nodes { __typename id } } }`)))
	}
	for after := ""; ; {
		page := dataOf(t, postScript(t, s, `{ indicators(first: 1000, after: "`+after+`") { pageInfo { hasNextPage endCursor } nodes { __typename id } } }`))
		c.add(t, page)
		pi := page["indicators"].(map[string]any)["pageInfo"].(map[string]any)
		if !pi["hasNextPage"].(bool) {
			break
		}
		after = pi["endCursor"].(string)
	}
	require.Equal(t, int(counts["units"].(float64)), len(c.keys("Unit:")))
	require.Equal(t, int(counts["indicators"].(float64)), len(c.keys("Indicator:")))

	// A series read through a unit and the same rows from the table are
	// the same observation entries.
	c.add(t, dataOf(t, postScript(t, s, `{ unit(code: "vn.lai-chau.phong-tho") { series(indicator: "poverty_rate") { observations { __typename id value } } } }`)))
	series := c.keys("Observation:")
	require.NotEmpty(t, series)
	c.add(t, dataOf(t, postScript(t, s, `{ observations(filter: { units: ["vn.lai-chau.phong-tho"], indicators: ["poverty_rate"] }, first: 100) { nodes { __typename id value periodLabel } } }`)))
	require.Equal(t, series, c.keys("Observation:"))
	for _, k := range series {
		require.NotNil(t, c[k]["periodLabel"], "%s got the table's fields", k)
	}
}
