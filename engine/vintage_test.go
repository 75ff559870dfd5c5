package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"chiso/indicator"
)

var reform = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)

func share(x float64) *float64 { return &x }

// A small reform: a and b merge into m; c is split into s1 (40%) and s2
// (60%); d is split into t1 and t2 with no share; e is renamed r on
// reform day, and r merged into z a year later (a chain).
var changes = []indicator.UnitChange{
	{Predecessor: "a", Successor: "m", Date: reform, Kind: indicator.ChangeMerge, Locator: "clause 1"},
	{Predecessor: "b", Successor: "m", Date: reform, Kind: indicator.ChangeMerge, Locator: "clause 1"},
	{Predecessor: "c", Successor: "s1", Date: reform, Kind: indicator.ChangeSplit, Share: share(0.4), Locator: "clause 2"},
	{Predecessor: "c", Successor: "s2", Date: reform, Kind: indicator.ChangeSplit, Share: share(0.6), Locator: "clause 2"},
	{Predecessor: "d", Successor: "t1", Date: reform, Kind: indicator.ChangeSplit, Locator: "clause 3"},
	{Predecessor: "d", Successor: "t2", Date: reform, Kind: indicator.ChangeSplit, Locator: "clause 3"},
	{Predecessor: "e", Successor: "r", Date: reform, Kind: indicator.ChangeRename, Locator: "clause 4"},
	{Predecessor: "r", Successor: "z", Date: reform.AddDate(1, 0, 0), Kind: indicator.ChangeMerge, Locator: "clause 5"},
	{Predecessor: "f", Successor: "z", Date: reform.AddDate(1, 0, 0), Kind: indicator.ChangeMerge, Locator: "clause 5"},
	{Predecessor: "g", Date: reform, Kind: indicator.ChangeAbolished},
}

// figures: the old units' own values (id = position + 1); x only.
func figures(vals map[string]float64) ownFunc {
	ids := map[string]int64{}
	n := int64(0)
	for _, u := range []string{"a", "b", "c", "d", "e", "f", "m", "r", "z"} {
		n++
		ids[u] = n
	}
	return func(u string) [3]*Row {
		v, ok := vals[u]
		if !ok {
			return [3]*Row{}
		}
		return [3]*Row{{ID: ids[u], Value: v}}
	}
}

func TestFormation(t *testing.T) {
	f := formedFrom(changes, reform)
	require.Len(t, f["m"], 2, "a and b formed m")
	require.Empty(t, f["z"], "z is formed after the tree's day")
	require.Empty(t, f["g"], "an abolished unit forms nothing")
	own := figures(map[string]float64{"a": 10, "b": 5, "c": 100, "d": 7, "e": 3})

	// A merge sums whole units, exactly: 10 + 5 = 15 from ids 1 and 2.
	v := f.carry(indicator.RuleSum, "m", own, 0)
	require.True(t, v.ok)
	require.Equal(t, 15.0, v.x)
	require.Equal(t, []int64{1, 2}, v.ids[0])
	require.False(t, v.shared)
	require.Equal(t, 2, v.parts)
	require.Equal(t, 2, v.with)

	// A split uses the declared share and says so: 100 × 0.4 = 40.
	v = f.carry(indicator.RuleSum, "s1", own, 0)
	require.True(t, v.ok)
	require.InDelta(t, 40.0, v.x, 1e-9)
	require.True(t, v.shared)

	// A split with no share cannot be carried, with the reason.
	v = f.carry(indicator.RuleSum, "t1", own, 0)
	require.False(t, v.ok)
	require.Equal(t, []string{"d"}, v.missing)
	require.Contains(t, v.reason, "SPLIT_WITHOUT_SHARE: d was split on 2025-07-01 with no share given for t1 (clause 3)")

	// A merge with a predecessor without data is not complete.
	v = f.carry(indicator.RuleSum, "m", figures(map[string]float64{"a": 10}), 0)
	require.False(t, v.ok)
	require.Equal(t, 1, v.with)
	require.Equal(t, []string{"b"}, v.missing)
	require.Zero(t, v.x, "an incomplete composition carries nothing")

	// A unit's own figure comes first: m's own 99 wins over 10 + 5.
	v = f.carry(indicator.RuleSum, "m", figures(map[string]float64{"a": 10, "b": 5, "m": 99}), 0)
	require.Equal(t, 99.0, v.x)
	require.Equal(t, []int64{7}, v.ids[0])

	// A chain: a year after the reform, z is formed from r (renamed from
	// e) and f: 3 + 4 = 7.
	later := formedFrom(changes, reform.AddDate(1, 0, 0))
	v = later.carry(indicator.RuleSum, "z", figures(map[string]float64{"e": 3, "f": 4}), 0)
	require.True(t, v.ok)
	require.Equal(t, 7.0, v.x)
	require.Equal(t, []int64{6, 5}, v.ids[0], "by predecessor: f (id 6), then r (e, id 5)")
}

// TestFormationRules: WEIGHTED_MEAN carries the weighted value and its
// weight, RATIO its numerator and denominator; MEAN and LAST are refused.
func TestFormationRules(t *testing.T) {
	f := formedFrom(changes, reform)
	rows := map[string][3]*Row{
		"a": {{ID: 1, Value: 20}, {ID: 2, Value: 100}, {ID: 3, Value: 400}},
		"b": {{ID: 4, Value: 50}, {ID: 5, Value: 300}, {ID: 6, Value: 600}},
		"c": {{ID: 7, Value: 10}, {ID: 8, Value: 1000}, {ID: 9, Value: 2000}},
	}
	own := func(u string) [3]*Row { return rows[u] }
	// Weighted mean of m: (20×100 + 50×300) / (100 + 300) = 17000/400 = 42.5.
	v := f.carry(indicator.RuleWeightedMean, "m", own, 0)
	require.True(t, v.ok)
	cell := v.rows(indicator.RuleWeightedMean)
	require.InDelta(t, 42.5, cell[0].Value, 1e-9)
	require.Equal(t, 400.0, cell[1].Value)
	// Ratio of m: (100 + 300) / (400 + 600) = 0.4, from summed counts.
	v = f.carry(indicator.RuleRatio, "m", own, 0)
	cell = v.rows(indicator.RuleRatio)
	require.Equal(t, 400.0, cell[1].Value)
	require.Equal(t, 1000.0, cell[2].Value)
	require.Equal(t, []int64{2, 5}, v.ids[1])
	require.Equal(t, []int64{3, 6}, v.ids[2])
	// Ratio of s2, 60% of c: 600 / 1200, the ratio of c, flagged shared.
	v = f.carry(indicator.RuleRatio, "s2", own, 0)
	cell = v.rows(indicator.RuleRatio)
	require.InDelta(t, 600.0, cell[1].Value, 1e-9)
	require.InDelta(t, 1200.0, cell[2].Value, 1e-9)
	require.True(t, v.shared)

	require.ErrorIs(t, carriable(indicator.Indicator{Code: "m", Rollup: indicator.Rule{Kind: indicator.RuleMean}}), indicator.ErrInvalid)
	require.ErrorIs(t, carriable(indicator.Indicator{Code: "l", Rollup: indicator.Rule{Kind: indicator.RuleLast}}), indicator.ErrInvalid)
	require.NoError(t, carriable(indicator.Indicator{Code: "s", Rollup: indicator.Rule{Kind: indicator.RuleSum}}))
}

func day(s string) *time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// TestTreeDay: today within the unit's lifetime, else the last tree that
// had units below it of the kind asked.
func TestTreeDay(t *testing.T) {
	today := *day("2026-12-03")
	province := indicator.Unit{Code: "p"}
	district := indicator.Unit{Code: "d", ValidTo: day("2025-06-30")}
	oldCommune := indicator.Unit{Code: "c", ValidTo: day("2025-06-30")}
	newCommune := indicator.Unit{Code: "n", ValidFrom: day("2025-07-01")}
	region := indicator.Unit{Code: "r"}
	at := func(u indicator.Unit, below ...indicator.Unit) string {
		return indicator.TreeDay(u, below, today).Format(time.DateOnly)
	}
	require.Equal(t, "2026-12-03", at(province, oldCommune, newCommune), "communes valid today")
	require.Equal(t, "2025-06-30", at(province, district), "districts: the last day there were some")
	require.Equal(t, "2026-12-03", at(province, district, region), "a region is valid today")
	require.Equal(t, "2025-06-30", at(district, oldCommune), "a district that ended lists its last tree")
	require.Equal(t, "2026-12-03", at(province), "nothing below")
	future := indicator.Unit{Code: "f", ValidFrom: day("2027-01-01")}
	require.Equal(t, "2027-01-01", at(province, future), "only a later tree has some")
	require.Equal(t, []indicator.Unit{newCommune}, indicator.ValidOn([]indicator.Unit{oldCommune, newCommune}, today))
}
