package datasets

import (
	"sort"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"chiso/indicator"
)

// catalogOf reads the Lai Châu indicators the way the loader does (code,
// measure unit, scale, rule).
func catalogOf(t *testing.T) map[string]indicator.Indicator {
	rows, err := readTable(LaiChau(), "indicators.csv")
	require.NoError(t, err)
	out := map[string]indicator.Indicator{}
	for _, r := range rows {
		x := indicator.Indicator{Code: r.get("code"), MeasureUnit: r.get("measure_unit"), Scale: 1}
		if s := r.get("scale"); s != "" {
			x.Scale, err = strconv.ParseFloat(s, 64)
			require.NoError(t, err)
		}
		x.Rollup, err = indicator.ParseRule(r.get("rollup"))
		require.NoError(t, err)
		out[x.Code] = x
	}
	return out
}

// TestLaiChauRulesFit: every rule of the real catalog passes CheckRule,
// and the two RATIO rules whose operands differ in unit get the
// conversions a statistician would write by hand.
func TestLaiChauRulesFit(t *testing.T) {
	cat := catalogOf(t)
	lookup := func(code string) (indicator.Indicator, bool) { x, ok := cat[code]; return x, ok }
	for _, x := range cat {
		require.NoError(t, indicator.CheckRule(x, lookup), x.Code)
	}
	for _, tc := range []struct {
		code string
		want float64
	}{
		{"forest_cover_rate", 1},                         // ha / (km2 × 100 ha/km2) × 100 %
		{"grdp_per_capita", 1000},                        // billion VND / people in million VND/person
		{"agricultural_land_allocated_per_household", 1}, // ha / households in ha/household
		{"poverty_rate", 100},                            // households / households in %
		{"budget_revenue_to_expenditure_ratio", 100},     // billion VND / billion VND in %
		{"rural_roads_paved_rate", 100},                  // km / km in %
		{"households_poor_ethnic_minority_rate", 100},    // households / households in %
		{"communes_child_friendly_rate", 100},            // units / units in %
		{"cultural_households_rate", 100},                // households / households in %
		{"schools_national_standard_rate", 100},          // units / units in %
		{"health_stations_solid_rate", 100},              // units / units in %
		{"villages_car_road_rate", 100},                  // units / units in %
		{"new_rural_communes_rate", 100},                 // units / units in %
		{"near_poverty_rate", 100},                       // households / households in %
		{"households_electricity_rate", 100},             // households / households in %
		{"communes_national_grid_rate", 100},             // units / units in %
		{"communes_health_standard_rate", 100},           // units / units in %
		{"communes_paved_road_to_center_rate", 100},      // units / units in %
	} {
		x := cat[tc.code]
		require.Equal(t, indicator.RuleRatio, x.Rollup.Kind, tc.code)
		m, err := indicator.RatioFactor(cat[x.Rollup.Numerator], cat[x.Rollup.Denominator], x)
		require.NoError(t, err, tc.code)
		require.InDelta(t, tc.want, m, 1e-9*tc.want, tc.code)
	}
}

// TestLaiChauForestCoverRollup is the figure the rollup of
// forest_cover_rate over Lai Châu's districts must give (issue 12,
// defect 1), from the observations as loaded. Only Phong Thổ has both
// figures, in document 002_216ab9d5d6ee3cb7 (2024, to_date):
//
//	line 25:  "diện tích tự nhiên là 1.029,31km²"          area_natural 1029.31 km2
//	line 135: "Tổng diện tích 46.467,34 ha rừng hiện có"   forest_area 46467.34 ha
//	line 147: "Toàn huyện có 1.029,31km" (roads footnote)  the same natural area again
//
// A unit counts once however many documents or lines repeat its figure:
// 46,467.34 ha / (1,029.31 km2 × 100 ha/km2) = 46,467.34 / 102,931
// = 0.451442… → 45.144 %. (The old rollup answered 46,467.34 / 1,029.31
// × 100 = 4,514.4 %; the document itself states the cover as 44,3 %.)
func TestLaiChauForestCoverRollup(t *testing.T) {
	cat := catalogOf(t)
	units, err := readTable(LaiChau(), "units.csv")
	require.NoError(t, err)
	district := map[string]bool{}
	for _, u := range units {
		if u.get("parent") == "vn.lai-chau" && u.get("level") == "district" {
			district[u.get("code")] = true
		}
	}
	obs, err := readTable(LaiChau(), "observations.csv")
	require.NoError(t, err)
	// period -> indicator -> district -> value
	vals := map[string]map[string]map[string]float64{}
	for _, o := range obs {
		ind, unit := o.get("indicator"), o.get("unit")
		if (ind != "forest_area" && ind != "area_natural") || !district[unit] || o.get("kind") != "actual" {
			continue
		}
		v, err := strconv.ParseFloat(o.get("value"), 64)
		require.NoError(t, err)
		p := o.get("period")
		if vals[p] == nil {
			vals[p] = map[string]map[string]float64{}
		}
		if vals[p][ind] == nil {
			vals[p][ind] = map[string]float64{}
		}
		if old, seen := vals[p][ind][unit]; seen {
			require.Equal(t, old, v, "%s %s %s restated with another value", unit, ind, p)
		}
		vals[p][ind][unit] = v
	}
	var periods []string
	for p, byInd := range vals {
		if len(byInd["forest_area"]) > 0 && len(byInd["area_natural"]) > 0 {
			periods = append(periods, p)
		}
	}
	sort.Strings(periods)
	require.Equal(t, []string{"2024"}, periods, "the periods with both figures for some district")
	forest, area := vals["2024"]["forest_area"], vals["2024"]["area_natural"]
	require.Equal(t, map[string]float64{"vn.lai-chau.phong-tho": 46467.34}, forest)
	require.Equal(t, map[string]float64{"vn.lai-chau.phong-tho": 1029.31}, area)
	var num, den float64
	for _, v := range forest {
		num += v
	}
	for _, v := range area {
		den += v
	}
	m, err := indicator.RatioFactor(cat["forest_area"], cat["area_natural"], cat["forest_cover_rate"])
	require.NoError(t, err)
	require.InDelta(t, 45.1442, num/den*m, 0.00005)
}
