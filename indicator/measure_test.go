package indicator_test

import (
	"errors"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"chiso/indicator"
)

func ind(code, unit string, scale float64) indicator.Indicator {
	return indicator.Indicator{Code: code, MeasureUnit: unit, Scale: scale}
}

func TestMeasureOf(t *testing.T) {
	for _, tc := range []struct {
		unit   string
		want   indicator.Measure
		errHas string
	}{
		{unit: "ha", want: indicator.Measure{Unit: "ha", Dimension: indicator.DimArea, Factor: 1}},
		{unit: "km2", want: indicator.Measure{Unit: "km2", Dimension: indicator.DimArea, Factor: 100}},
		{unit: "km²", want: indicator.Measure{Unit: "km2", Dimension: indicator.DimArea, Factor: 100}},
		{unit: " m2 ", want: indicator.Measure{Unit: "m2", Dimension: indicator.DimArea, Factor: 0.0001}},
		{unit: "km", want: indicator.Measure{Unit: "km", Dimension: indicator.DimLength, Factor: 1000}},
		{unit: "VND", want: indicator.Measure{Unit: "VND", Dimension: indicator.DimMoneyVND, Factor: 1}},
		{unit: "million VND", want: indicator.Measure{Unit: "million VND", Dimension: indicator.DimMoneyVND, Factor: 1e6}},
		{unit: "tỷ đồng", want: indicator.Measure{Unit: "billion VND", Dimension: indicator.DimMoneyVND, Factor: 1e9}},
		{unit: "USD", want: indicator.Measure{Unit: "USD", Dimension: indicator.DimMoneyUSD, Factor: 1}},
		{unit: "tonnes", want: indicator.Measure{Unit: "tonnes", Dimension: indicator.DimMass, Factor: 1000}},
		{unit: "people", want: indicator.Measure{Unit: "people", Dimension: indicator.DimPeople, Factor: 1}},
		{unit: "households", want: indicator.Measure{Unit: "households", Dimension: indicator.DimHouseholds, Factor: 1}},
		{unit: "beds", want: indicator.Measure{Unit: "units", Dimension: indicator.DimCount, Factor: 1}},
		{unit: "%", want: indicator.Measure{Unit: "%", Dimension: indicator.DimRatio, Factor: 0.01}},
		{unit: "per_100", want: indicator.Measure{Unit: "%", Dimension: indicator.DimRatio, Factor: 0.01}},
		{unit: "‰", want: indicator.Measure{Unit: "‰", Dimension: indicator.DimRatio, Factor: 0.001}},
		{unit: "per_10000", want: indicator.Measure{Unit: "per_10000", Dimension: indicator.DimRatio, Factor: 0.0001}},
		{unit: "times", want: indicator.Measure{Unit: "times", Dimension: indicator.DimRatio, Factor: 1}},
		{unit: "years", want: indicator.Measure{Unit: "years", Dimension: indicator.DimTime, Factor: 365.25}},
		{unit: "MW", want: indicator.Measure{Unit: "MW", Dimension: indicator.DimPower, Factor: 1000}},
		{unit: "kVA", want: indicator.Measure{Unit: "kVA", Dimension: indicator.DimApparentPower, Factor: 1}},
		{unit: "VND/person", want: indicator.Measure{Unit: "VND/people", Dimension: "money_vnd/people", Factor: 1}},
		{unit: "million VND/person/month", want: indicator.Measure{Unit: "million VND/people/months", Dimension: "money_vnd/people/time", Factor: 1e6 / (365.25 / 12)}},
		{unit: "ha/household", want: indicator.Measure{Unit: "ha/households", Dimension: "area/households", Factor: 1}},
		{unit: "tonnes/day", want: indicator.Measure{Unit: "tonnes/days", Dimension: "mass/time", Factor: 1000}},
		{unit: "km2/people", want: indicator.Measure{Unit: "km2/people", Dimension: "area/people", Factor: 100}},
		{unit: "", errHas: `unknown measure unit ""`},
		{unit: "furlongs", errHas: `unknown measure unit "furlongs": want one of ha, km2`},
		{unit: "mw", errHas: `unknown measure unit "mw"`},
		{unit: "VND/furlong", errHas: `measure unit "VND/furlong": unknown part "furlong"`},
		{unit: "%/year", errHas: `"%" (ratio) cannot be part of a quotient unit`},
		{unit: "VND/", errHas: `unknown part ""`},
	} {
		t.Run(tc.unit, func(t *testing.T) {
			got, err := indicator.MeasureOf(tc.unit)
			if tc.errHas != "" {
				require.ErrorIs(t, err, indicator.ErrInvalid)
				require.ErrorContains(t, err, tc.errHas)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want.Unit, got.Unit)
			require.Equal(t, tc.want.Dimension, got.Dimension)
			require.InDelta(t, tc.want.Factor, got.Factor, 1e-12*tc.want.Factor)
		})
	}
}

// TestMeasureUnitsResolve: every listed unit and alias resolves to itself.
func TestMeasureUnitsResolve(t *testing.T) {
	units := indicator.MeasureUnits()
	require.GreaterOrEqual(t, len(units), 30)
	for _, m := range units {
		for _, name := range append([]string{m.Unit}, indicator.Aliases(m.Unit)...) {
			got, err := indicator.MeasureOf(name)
			require.NoError(t, err, name)
			require.Equal(t, m, got, name)
		}
		require.Positive(t, m.Factor, m.Unit)
	}
}

func TestRatioMultiplierUnchanged(t *testing.T) {
	for _, tc := range []struct {
		unit string
		want float64
	}{{"%", 100}, {"per_100", 100}, {"‰", 1000}, {"per_10000", 10000}, {"people", 1}, {"ha", 1}, {"times", 1}, {"nonsense", 1}} {
		require.Equal(t, tc.want, indicator.RatioMultiplier(tc.unit), tc.unit)
	}
}

func TestFactor(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to indicator.Indicator
		want     float64
		errHas   []string
	}{
		{name: "km2 to ha", from: ind("a", "km2", 1), to: ind("b", "ha", 1), want: 100},
		{name: "ha to km2", from: ind("a", "ha", 1), to: ind("b", "km2", 1), want: 0.01},
		{name: "m2 to ha", from: ind("a", "m2", 1), to: ind("b", "ha", 1), want: 1e-4},
		{name: "million to billion VND by scale", from: ind("a", "VND", 1e6), to: ind("b", "VND", 1e9), want: 1e-3},
		{name: "named million VND to scaled VND", from: ind("a", "million VND", 1), to: ind("b", "VND", 1e9), want: 1e-3},
		{name: "triệu đồng to VND", from: ind("a", "triệu đồng", 1), to: ind("b", "VND", 1), want: 1e6},
		{name: "km to m", from: ind("a", "km", 1), to: ind("b", "m", 1), want: 1000},
		{name: "tonnes to kg", from: ind("a", "tonnes", 1), to: ind("b", "kg", 1), want: 1000},
		{name: "% to ‰", from: ind("a", "%", 1), to: ind("b", "‰", 1), want: 10},
		{name: "per_10000 to %", from: ind("a", "per_10000", 1), to: ind("b", "%", 1), want: 0.01},
		{name: "years to months", from: ind("a", "years", 1), to: ind("b", "months", 1), want: 12},
		{name: "unscaled zero scale is 1", from: ind("a", "km2", 0), to: ind("b", "ha", 1), want: 100},
		{name: "thousand m3", from: ind("a", "m3", 1000), to: ind("b", "m3", 1), want: 1000},
		{name: "people are not households", from: ind("pop", "people", 1), to: ind("hh", "households", 1),
			errHas: []string{"cannot convert pop (people, people) into hh (households, households): different dimensions"}},
		{name: "USD is not VND", from: ind("exports", "USD", 1e6), to: ind("revenue", "VND", 1e9),
			errHas: []string{"exports (million USD, money_usd)", "revenue (billion VND, money_vnd)"}},
		{name: "area is not length", from: ind("a", "ha", 1), to: ind("b", "km", 1), errHas: []string{"a (ha, area)", "b (km, length)"}},
		{name: "unknown unit", from: ind("a", "acres", 1), to: ind("b", "ha", 1), errHas: []string{`indicator a: unknown measure unit "acres"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := indicator.Factor(tc.from, tc.to)
			if tc.errHas != nil {
				require.ErrorIs(t, err, indicator.ErrInvalid)
				for _, s := range tc.errHas {
					require.ErrorContains(t, err, s)
				}
				return
			}
			require.NoError(t, err)
			require.InDelta(t, tc.want, got, 1e-12*tc.want)
		})
	}
}

func TestRatioFactor(t *testing.T) {
	for _, tc := range []struct {
		name             string
		num, den, result indicator.Indicator
		want             float64
		errHas           []string
	}{
		{name: "ha over km2 in %", num: ind("forest_area", "ha", 1), den: ind("area_natural", "km2", 1), result: ind("forest_cover_rate", "%", 1), want: 1},
		{name: "ha over ha in %", num: ind("forest_area", "ha", 1), den: ind("area", "ha", 1), result: ind("cover", "%", 1), want: 100},
		{name: "households in %", num: ind("poor", "households", 1), den: ind("hh", "households", 1), result: ind("rate", "%", 1), want: 100},
		{name: "people in ‰", num: ind("births", "people", 1), den: ind("pop", "people", 1), result: ind("rate", "‰", 1), want: 1000},
		{name: "per 10000", num: ind("doctors", "people", 1), den: ind("pop", "people", 1), result: ind("rate", "per_10000", 1), want: 10000},
		{name: "billion over billion VND in %", num: ind("rev", "VND", 1e9), den: ind("exp", "VND", 1e9), result: ind("r", "%", 1), want: 100},
		{name: "million over billion VND in times", num: ind("a", "VND", 1e6), den: ind("b", "VND", 1e9), result: ind("r", "times", 1), want: 1e-3},
		{name: "km over km", num: ind("paved", "km", 1), den: ind("roads", "km", 1), result: ind("r", "%", 1), want: 100},
		{name: "billion VND per person in million VND/person", num: ind("grdp", "VND", 1e9), den: ind("population", "people", 1), result: ind("grdp_per_capita", "VND/person", 1e6), want: 1000},
		{name: "ha per household", num: ind("land", "ha", 1), den: ind("hh", "households", 1), result: ind("land_per_hh", "ha/household", 1), want: 1},
		{name: "m2 per household", num: ind("land", "ha", 1), den: ind("hh", "households", 1), result: ind("land_per_hh", "m2/household", 1), want: 1e4},
		{name: "people per household", num: ind("pop", "people", 1), den: ind("hh", "households", 1), result: ind("size", "people/households", 1), want: 1},
		{name: "ha over km2 as a plain area is wrong", num: ind("forest_area", "ha", 1), den: ind("area_natural", "km2", 1), result: ind("cover", "ha", 1),
			errHas: []string{"forest_area (ha, area) over area_natural (km2, area) is a dimensionless ratio, but cover is in ha (area): want a ratio unit"}},
		{name: "households over people in %", num: ind("poor", "households", 1), den: ind("pop", "people", 1), result: ind("rate", "%", 1),
			errHas: []string{"is households/people, but rate is in % (ratio): want a unit of households/people such as households/people"}},
		{name: "VND over people needs a per-person unit", num: ind("grdp", "VND", 1e9), den: ind("population", "people", 1), result: ind("gpc", "VND", 1e6),
			errHas: []string{"is money_vnd/people, but gpc is in million VND (money_vnd): want a unit of money_vnd/people such as VND/people"}},
		{name: "inverted quotient", num: ind("hh", "households", 1), den: ind("land", "ha", 1), result: ind("x", "ha/household", 1),
			errHas: []string{"is households/area"}},
		{name: "a rate is not a numerator", num: ind("rate", "%", 1), den: ind("pop", "people", 1), result: ind("x", "%", 1),
			errHas: []string{"rate (%, ratio) is not a quantity that sums across units"}},
		{name: "a per-capita figure is not a denominator", num: ind("grdp", "VND", 1), den: ind("income", "VND/person", 1), result: ind("x", "times", 1),
			errHas: []string{"income (VND/person, money_vnd/people) is not a quantity"}},
		{name: "unknown result unit", num: ind("a", "ha", 1), den: ind("b", "ha", 1), result: ind("c", "percent-ish", 1),
			errHas: []string{`indicator c: unknown measure unit "percent-ish"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := indicator.RatioFactor(tc.num, tc.den, tc.result)
			if tc.errHas != nil {
				require.ErrorIs(t, err, indicator.ErrInvalid)
				for _, s := range tc.errHas {
					require.ErrorContains(t, err, s)
				}
				return
			}
			require.NoError(t, err)
			require.InDelta(t, tc.want, got, 1e-12*tc.want)
		})
	}
}

func TestCheckRule(t *testing.T) {
	cat := map[string]indicator.Indicator{}
	for _, x := range []indicator.Indicator{
		ind("population", "people", 1), ind("households_total", "households", 1), ind("households_poor", "households", 1),
		ind("forest_area", "ha", 1), ind("area_natural", "km2", 1), ind("schools", "units", 1), ind("poverty_rate", "%", 1),
		ind("income_per_capita", "VND/person", 1e6), ind("pci_rank", "rank", 1), ind("water_capacity", "m3/day", 1),
	} {
		cat[x.Code] = x
	}
	lookup := func(code string) (indicator.Indicator, bool) { x, ok := cat[code]; return x, ok }
	rule := func(s string) indicator.Rule {
		r, err := indicator.ParseRule(s)
		require.NoError(t, err)
		return r
	}
	for _, tc := range []struct {
		ind    indicator.Indicator
		rule   string
		errHas string
	}{
		{ind: ind("forest_cover_rate", "%", 1), rule: "RATIO(forest_area,area_natural)"},
		{ind: ind("poverty_rate", "%", 1), rule: "RATIO(households_poor,households_total)"},
		{ind: ind("household_size", "people/household", 1), rule: "RATIO(population,households_total)"},
		{ind: ind("bad_rate", "%", 1), rule: "RATIO(households_poor,population)", errHas: "RATIO(households_poor,population) of bad_rate: households_poor (households, households) over population (people, people) is households/people"},
		{ind: ind("bad_cover", "km2", 1), rule: "RATIO(forest_area,area_natural)", errHas: "want a ratio unit"},
		{ind: ind("x", "%", 1), rule: "RATIO(nope,population)", errHas: `RATIO(nope,population) of x: "nope" is not an indicator`},
		{ind: ind("literacy", "%", 1), rule: "WEIGHTED_MEAN(population)"},
		{ind: ind("income", "VND/person", 1e6), rule: "WEIGHTED_MEAN(population)"},
		{ind: ind("cover", "%", 1), rule: "WEIGHTED_MEAN(area_natural)"},
		{ind: ind("x", "%", 1), rule: "WEIGHTED_MEAN(poverty_rate)", errHas: "the weight poverty_rate (%, ratio) is not a size that sums across units"},
		{ind: ind("x", "%", 1), rule: "WEIGHTED_MEAN(income_per_capita)", errHas: "the weight income_per_capita (million VND/person, money_vnd/people)"},
		{ind: ind("x", "%", 1), rule: "WEIGHTED_MEAN(pci_rank)", errHas: "the weight pci_rank (rank, rank)"},
		{ind: ind("x", "%", 1), rule: "WEIGHTED_MEAN(nope)", errHas: `"nope" is not an indicator`},
		{ind: ind("rank", "rank", 1), rule: "WEIGHTED_MEAN(population)", errHas: "a mean of ranks is not a rank"},
		{ind: ind("roads", "km", 1), rule: "SUM"},
		{ind: ind("capacity", "m3/day", 1), rule: "SUM"},
		{ind: ind("rate", "%", 1), rule: "SUM", errHas: "SUM of rate: rate (%, ratio) does not sum across units"},
		{ind: ind("income", "VND/person", 1e6), rule: "SUM", errHas: "income (million VND/person, money_vnd/people) does not sum"},
		{ind: ind("score", "index", 1), rule: "SUM", errHas: "does not sum across units"},
		{ind: ind("score", "index", 1), rule: "MEAN"},
		{ind: ind("rank", "rank", 1), rule: "MEAN", errHas: "a mean of ranks"},
		{ind: ind("rank", "rank", 1), rule: "NONE"},
		{ind: ind("rate", "%", 1), rule: "LAST"},
		{ind: ind("x", "furlongs", 1), rule: "NONE", errHas: `indicator x: unknown measure unit "furlongs"`},
		{ind: ind("x", "furlongs", 1), rule: "SUM", errHas: `unknown measure unit "furlongs"`},
	} {
		t.Run(tc.ind.Code+" "+tc.rule, func(t *testing.T) {
			x := tc.ind
			x.Rollup = rule(tc.rule)
			err := indicator.CheckRule(x, lookup)
			if tc.errHas == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, indicator.ErrInvalid)
			require.ErrorContains(t, err, tc.errHas)
		})
	}
}

// TestForestCoverHandCheck is defect 1 of issue 12 on the real figures.
// The Lai Châu rollup over districts has one district with both figures,
// Phong Thổ, in document 002_216ab9d5d6ee3cb7 (datasets/laichau
// observations for 2024, flagged to_date):
//
//	line 25:  "diện tích tự nhiên là 1.029,31km²"  → area_natural = 1029.31 km2
//	line 135: "Tổng diện tích 46.467,34 ha rừng hiện có" → forest_area = 46467.34 ha
//
// (line 147 repeats 1.029,31 "km" in the roads footnote; it is the same
// figure and does not change the sum.)
//
// By hand: 1029.31 km2 × 100 ha/km2 = 102,931 ha of natural area;
// 46,467.34 ha / 102,931 ha = 0.451442… = 45.144 %. Without the conversion
// the rollup divided 46,467.34 by 1,029.31 and answered 4,514.4 %.
// The same line 135 states the cover itself as 44,3 %: the official rate
// counts only forest that meets the canopy criteria, so a ratio of areas
// lands near it, not on it.
//
// The province's own figures check the same way: document
// 000_5cc38ccd1b5ce870 line 8 gives 9.068 km2 natural area and line 56
// 446.412 ha of forest (stated cover 48,16 %): 446,412 / 906,800 = 49.23 %.
func TestForestCoverHandCheck(t *testing.T) {
	forest := ind("forest_area", "ha", 1)
	natural := ind("area_natural", "km2", 1)
	cover := ind("forest_cover_rate", "%", 1)
	m, err := indicator.RatioFactor(forest, natural, cover)
	require.NoError(t, err)
	for _, tc := range []struct {
		name             string
		forestHa, areaKm []float64
		want             float64
	}{
		{"Phong Thổ, the only district with both", []float64{46467.34}, []float64{1029.31}, 45.1442},
		{"Lai Châu province 2018", []float64{446412}, []float64{9068}, 49.2294},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var num, den float64
			for _, v := range tc.forestHa {
				num += v
			}
			for _, v := range tc.areaKm {
				den += v
			}
			require.InDelta(t, tc.want, num/den*m, 0.00005)
			require.Greater(t, num/den*indicator.RatioMultiplier("%"), 1000.0, "the old multiplier is two orders off")
		})
	}
}

func randomOf(r *rand.Rand, d indicator.Dimension) indicator.Indicator {
	var units []string
	for _, m := range indicator.MeasureUnits() {
		if m.Dimension == d {
			units = append(units, m.Unit)
			units = append(units, indicator.Aliases(m.Unit)...)
		}
	}
	scales := []float64{1, 1e3, 1e6, 1e9, 0.5, 7, 1e-3}
	return ind("x", units[r.Intn(len(units))], scales[r.Intn(len(scales))])
}

func relClose(t *testing.T, want, got float64, msg ...any) {
	t.Helper()
	require.LessOrEqual(t, math.Abs(want-got), 1e-9*math.Max(math.Abs(want), math.Abs(got)), msg...)
}

// TestMeasureProperties checks over random units and scales: converting
// then summing equals summing then converting; a ratio of sums computed
// with RatioFactor equals the ratio of the sums after converting both to
// base units; Factor(a,b)·Factor(b,a) = 1; conversions compose.
func TestMeasureProperties(t *testing.T) {
	r := rand.New(rand.NewSource(12))
	dims := []indicator.Dimension{indicator.DimArea, indicator.DimLength, indicator.DimVolume, indicator.DimMass, indicator.DimTime,
		indicator.DimMoneyVND, indicator.DimMoneyUSD, indicator.DimPower, indicator.DimEnergy, indicator.DimPeople, indicator.DimHouseholds, indicator.DimCount}
	base := func(x indicator.Indicator) float64 {
		m, err := indicator.MeasureOf(x.MeasureUnit)
		require.NoError(t, err)
		return m.Factor * x.Scale
	}
	for i := 0; i < 2000; i++ {
		d := dims[r.Intn(len(dims))]
		a, b, c := randomOf(r, d), randomOf(r, d), randomOf(r, d)
		vals := make([]float64, 1+r.Intn(8))
		for j := range vals {
			vals[j] = r.Float64() * math.Pow(10, float64(r.Intn(9)))
		}
		ab, err := indicator.Factor(a, b)
		require.NoError(t, err)
		ba, err := indicator.Factor(b, a)
		require.NoError(t, err)
		relClose(t, 1, ab*ba, "%v %v", a, b)
		bc, err := indicator.Factor(b, c)
		require.NoError(t, err)
		ac, err := indicator.Factor(a, c)
		require.NoError(t, err)
		relClose(t, ac, ab*bc, "%v %v %v", a, b, c)

		sumThenConvert, convertThenSum := 0.0, 0.0
		for _, v := range vals {
			sumThenConvert += v
			convertThenSum += v * ab
		}
		relClose(t, sumThenConvert*ab, convertThenSum)

		// A ratio: numerator and denominator of one random dimension
		// (a dimensionless result) or of two (a quotient result).
		dn, dd := d, d
		if r.Intn(2) == 0 {
			dd = dims[r.Intn(len(dims))]
		}
		num, den := randomOf(r, dn), randomOf(r, dd)
		var result indicator.Indicator
		if dn == dd {
			result = randomOf(r, indicator.DimRatio)
		} else {
			result = randomOf(r, dn)
			q := randomOf(r, dd)
			result.MeasureUnit += "/" + q.MeasureUnit
		}
		m, err := indicator.RatioFactor(num, den, result)
		require.NoError(t, err, "%v / %v in %v", num, den, result)
		nums := make([]float64, len(vals))
		dens := make([]float64, len(vals))
		var sn, sd, bn, bd float64
		for j := range vals {
			nums[j], dens[j] = r.Float64()*1e4, 1+r.Float64()*1e4
			sn, sd = sn+nums[j], sd+dens[j]
			bn, bd = bn+nums[j]*base(num), bd+dens[j]*base(den)
		}
		relClose(t, bn/bd/base(result), sn/sd*m, "%v / %v in %v", num, den, result)
	}
}

// TestFactorErrorsAreInvalid: every dimension pair that differs refuses.
func TestFactorErrorsAreInvalid(t *testing.T) {
	seen := map[indicator.Dimension]indicator.Measure{}
	for _, m := range indicator.MeasureUnits() {
		if _, ok := seen[m.Dimension]; !ok {
			seen[m.Dimension] = m
		}
	}
	require.Len(t, seen, 16)
	for da, a := range seen {
		for db, b := range seen {
			_, err := indicator.Factor(ind("a", a.Unit, 1), ind("b", b.Unit, 1))
			if da == db {
				require.NoError(t, err)
			} else {
				require.True(t, errors.Is(err, indicator.ErrInvalid), "%s → %s", da, db)
			}
		}
	}
}
