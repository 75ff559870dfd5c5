package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"chiso/config"
	"chiso/graph"
	"chiso/loader"
	"chiso/scripttest"
	"chiso/store"
)

// served loads what `go run .` serves (Lai Châu and the tree of Việt Nam),
// plus extra folders, into a fresh world served on loopback.
func served(t *testing.T, q graph.QueryLimits, extra ...loader.Dir) (*scripttest.Script, *store.Store) {
	t.Helper()
	w, st := scriptWorld(t, graph.DefaultLimits, q, time.Minute)
	e := scripttest.Serve(t, w)
	_, err := e.Loader.Load(context.Background(), append(dirs(config.Serve{}), extra...)...)
	require.NoError(t, err)
	return e, st
}

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var out struct {
		Data   T
		Errors []any
	}
	require.NoError(t, json.Unmarshal([]byte(body), &out), body)
	require.Empty(t, out.Errors, body)
	return out.Data
}

type code struct{ Code string }

// TestReformServed: what go run . serves holds the tree of Việt Nam before
// the reform and Lai Châu's after it, each new commune with the clauses
// of resolution 1670 that formed it.
func TestReformServed(t *testing.T) {
	e, _ := served(t, graph.DefaultQueryLimits)
	type pred struct {
		Unit    code
		Kind    string
		Source  struct{ ID string }
		Locator string
	}
	data := decode[struct {
		Before, After   struct{ TotalCount int }
		Lc2024, LcAfter struct{ Districts, Communes []code }
		Today           struct{ Districts, Communes []code }
		New             struct {
			Communes []struct {
				Code, OfficialCode, ValidFrom string
				Predecessors                  []pred
			}
		}
		ByOfficial, ByOld struct{ Code string }
	}](t, e.Post(t, `{
	  before: units(level: PROVINCE, asOf: "2025-06-30") { totalCount }
	  after: units(level: PROVINCE, asOf: "2025-07-01") { totalCount }
	  lc2024: unit(code: "vn.lai-chau", asOf: "2024-06-30") { districts: children(level: DISTRICT) { code } communes: descendants(level: COMMUNE) { code } }
	  lcAfter: unit(code: "vn.lai-chau", asOf: "2025-08-01") { districts: children(level: DISTRICT) { code } communes: descendants(level: COMMUNE) { code } }
	  today: unit(code: "vn.lai-chau") { districts: children(level: DISTRICT) { code } communes: children(level: COMMUNE) { code } }
	  new: unit(code: "vn.lai-chau", asOf: "2025-08-01") { communes: children(level: COMMUNE) { code officialCode validFrom predecessors { unit { code } kind source { id } locator } } }
	  byOfficial: unit(code: "12") { code }
	  byOld: unit(code: "03463", asOf: "2024-01-01") { code }
	}`))
	// The register of 2025-03-01: 63 provinces (gso-units-20250301). After
	// the reform only Lai Châu's new tree is held, and Lai Châu is valid on.
	require.Equal(t, 63, data.Before.TotalCount)
	require.Less(t, data.After.TotalCount, 63)
	require.Len(t, data.Lc2024.Districts, 8, "Lai Châu's 7 districts and its city")
	require.Len(t, data.Lc2024.Communes, 106)
	require.Empty(t, data.LcAfter.Districts)
	require.Len(t, data.LcAfter.Communes, 38, "resolution 1670, clause 37: 36 communes and 2 wards")
	require.Len(t, data.Today.Districts, 8, "without asOf: the last tree that had districts")
	require.Len(t, data.Today.Communes, 38)
	require.Len(t, data.New.Communes, 38)
	olds := map[string]bool{}
	for _, c := range data.New.Communes {
		require.NotEmpty(t, c.Predecessors, c.Code)
		require.Equal(t, "2025-07-01", c.ValidFrom, c.Code)
		require.NotEmpty(t, c.OfficialCode, c.Code)
		for _, p := range c.Predecessors {
			require.Equal(t, "1670_NQ-UBTVQH15", p.Source.ID, c.Code)
			require.Contains(t, p.Locator, "khoản", "%s: the clause of resolution 1670", c.Code)
			require.Contains(t, []string{"MERGE", "MOVE"}, p.Kind)
			require.False(t, olds[p.Unit.Code], "%s forms two new communes", p.Unit.Code)
			olds[p.Unit.Code] = true
		}
	}
	require.Len(t, olds, 106, "every old commune went into one new commune")
	for _, c := range data.Lc2024.Communes {
		require.True(t, olds[c.Code], c.Code)
	}
	require.Equal(t, "vn.lai-chau", data.ByOfficial.Code)
	require.Equal(t, "vn.lai-chau.muong-te.ta-tong", data.ByOld.Code, "03463 is Tà Tổng in the register (12/107/03463)")
}

// TestReformRollupReal rolls a real commune figure into the new commune
// it went into. Bình Lư had 3 craft villages in 2017 (000_5cc38ccd1b5ce870
// line 62, "03 làng nghề"); by resolution 1670 clause 10 (line 70), the
// new xã Bình Lư is Bình Lư, Sơn Bình and thị trấn Tam Đường, which state
// no figure: the sum is 3, from 1 of the 3 units.
func TestReformRollupReal(t *testing.T) {
	e, _ := served(t, graph.DefaultQueryLimits)
	data := decode[struct {
		Rollup []struct {
			Unit     code
			Value    *float64
			Shares   bool
			Coverage struct {
				Expected, WithData int
				Missing            []string
			}
			Inputs []struct {
				Value      float64
				Provenance struct {
					Line int
					Raw  string
				}
			}
		}
	}](t, e.Post(t, `{ rollup(indicator: "craft_villages", units: { codes: ["vn.lai-chau.xa-binh-lu"] }, periods: ["2017"], tree: "2025-07-01") {
	  unit { code } value shares coverage { expected withData missing } inputs { value provenance { line raw } } } }`))
	require.Len(t, data.Rollup, 1)
	r := data.Rollup[0]
	require.NotNil(t, r.Value)
	require.Equal(t, 3.0, *r.Value)
	require.False(t, r.Shares, "whole-unit merges")
	require.Equal(t, 3, r.Coverage.Expected)
	require.Equal(t, 1, r.Coverage.WithData)
	require.ElementsMatch(t, []string{"vn.lai-chau.tam-duong.son-binh", "vn.lai-chau.tam-duong.tam-duong"}, r.Coverage.Missing)
	require.Len(t, r.Inputs, 1)
	require.Equal(t, 62, r.Inputs[0].Provenance.Line)
	require.Equal(t, "03 làng nghề", r.Inputs[0].Provenance.Raw)
}

// TestCountryTreeStatementCount: the whole country's 10,047 communes of
// 2025-06-30, each with its latest value, cost a bounded number of
// statements, as a tree (provinces → districts → communes) or as one list
// of descendants. The values are a test fixture (one made-up figure per
// commune), loaded beside the served datasets.
func TestCountryTreeStatementCount(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the whole register")
	}
	dir := t.TempDir()
	obs := []string{"unit,indicator,period,kind,value,source,line,raw"}
	for _, file := range []string{"datasets/laichau/units.csv", "datasets/vietnam/units.csv"} {
		f, err := os.Open(file)
		require.NoError(t, err)
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		require.NoError(t, err)
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		for _, r := range rows[1:] {
			if r[col["level"]] == "commune" && r[col["valid_to"]] == "2025-06-30" {
				n := len(obs)
				obs = append(obs, fmt.Sprintf("%s,fixture_count,2024,actual,%d,fixture,%d,%d", r[col["code"]], n, n, n))
			}
		}
	}
	write := func(name string, lines ...string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	}
	write("sources.csv", "id,title", "fixture,Test fixture (made-up figures)")
	write("indicators.csv", "code,name_vi,measure_unit,rollup", "fixture_count,Fixture count,units,SUM")
	write("units.csv", "code,name_vi,level,parent")
	write("observations.csv", obs...)
	e, st := served(t, graph.QueryLimits{MaxDepth: 15, MaxCost: 100_000_000, MaxRootFields: 50, MaxAliases: 200, MaxResponseBytes: 64 << 20}, loader.OSDir(dir))

	for name, query := range map[string]string{
		"tree":        `{ unit(code: "vn", asOf: "2025-06-30") { children(level: PROVINCE) { code children { code children { code latest(indicator: "fixture_count") { value } } } } } }`,
		"descendants": `{ unit(code: "vn", asOf: "2025-06-30") { descendants(level: COMMUNE) { code latest(indicator: "fixture_count") { value } } } }`,
	} {
		before := st.Statements()
		out := e.Post(t, query)
		n := st.Statements() - before
		require.NotContains(t, out, `"errors"`, name)
		require.Equal(t, 10_047, strings.Count(out, `"value"`), "%s: every commune of the register, with its value", name)
		t.Logf("%s: %d statements for 10,047 communes", name, n)
		// The latest values come in batches of at most 5,000 keys (the
		// look-ahead gives up above that), each batch one read of rows and
		// one of the observations picked: 3 batches, 6 statements.
		require.LessOrEqual(t, n, int64(8), name)
	}
}

// TestReformSeriesReal asks a new commune's series in the tree of
// 2025-07-01 on real figures. Tà Tổng established 2 party cells in 2016
// (laichau/observations.csv line 98, "2 chi bộ"); by resolution 1670
// clause 37 (line 162) it moved whole under the province as xã Tà Tổng, so
// the new commune carries 2, exactly. The new xã Bình Lư was formed from
// three communes of which only Bình Lư states its craft villages: no
// complete figure, INCOMPLETE.
func TestReformSeriesReal(t *testing.T) {
	e, _ := served(t, graph.DefaultQueryLimits)
	type val struct {
		Period      struct{ Label string }
		Value       *float64
		CarriedFrom []string
		Shares      bool
		Observation *struct{ ID string }
		ValueReason *string
	}
	data := decode[struct {
		TaTong, BinhLu struct{ InTree []val }
	}](t, e.Post(t, `{ taTong: series(unit: "vn.lai-chau.xa-ta-tong", indicator: "party_cells_established", tree: "2025-07-01") {
	    inTree { period { label } value carriedFrom shares observation { id } valueReason } }
	  binhLu: series(unit: "vn.lai-chau.xa-binh-lu", indicator: "craft_villages", tree: "2025-07-01") {
	    inTree { period { label } value carriedFrom shares observation { id } valueReason } } }`))
	require.Len(t, data.TaTong.InTree, 1)
	v := data.TaTong.InTree[0]
	require.Equal(t, "2016", v.Period.Label)
	require.NotNil(t, v.Value)
	require.Equal(t, 2.0, *v.Value)
	require.Equal(t, []string{"vn.lai-chau.muong-te.ta-tong"}, v.CarriedFrom)
	require.False(t, v.Shares)
	require.Nil(t, v.Observation, "carried, not the new commune's own")
	require.NotEmpty(t, data.BinhLu.InTree)
	for _, b := range data.BinhLu.InTree {
		require.Nil(t, b.Value, b.Period.Label)
		require.NotNil(t, b.ValueReason)
		require.Contains(t, *b.ValueReason, "INCOMPLETE: 1 of the 3 units")
	}
}
