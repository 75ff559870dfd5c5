package engine_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"chiso/engine"
	"chiso/indicator"
	"chiso/loader"
	"chiso/store"
)

// world loads a dataset of one province and its districts, given as
// indicator and observation CSV rows, into a store with the point index
// on or off, and returns the engine over it.
func world(t *testing.T, points bool, districts int, indicators, observations string) *engine.Engine {
	t.Helper()
	var units strings.Builder
	units.WriteString("code,name_vi,level,parent\nvn,Việt Nam,country,\np,Tỉnh,province,vn\n")
	for d := range districts {
		fmt.Fprintf(&units, "p.d%d,Huyện %d,district,p\n", d, d)
	}
	fsys := fstest.MapFS{
		"sources.csv":      {Data: []byte("id,title,date\ndoc,Synthetic,2024\n")},
		"units.csv":        {Data: []byte(units.String())},
		"indicators.csv":   {Data: []byte("code,name_vi,measure_unit,scale,direction,rollup\n" + indicators)},
		"observations.csv": {Data: []byte("unit,indicator,period,kind,value,source,line,raw,flags\n" + observations)},
	}
	opts := store.Options{}
	if points {
		opts.PointsMax = 1 << 20
	}
	st := store.New(opts)
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	_, err := loader.New(st, loader.Options{}).Load(ctx, loader.Dir{Name: "synthetic", FS: fsys})
	require.NoError(t, err)
	ready, err := st.WaitPointIndex(ctx)
	require.NoError(t, err)
	require.Equal(t, points, ready)
	return engine.New(st, engine.Options{})
}

func near(t *testing.T, want, got float64, msg string, args ...any) {
	t.Helper()
	require.LessOrEqual(t, math.Abs(want-got), 1e-9*math.Max(1, math.Abs(want)), fmt.Sprintf(msg, args...)+fmt.Sprintf(": want %v, got %v", want, got))
}

func rollupValue(t *testing.T, e *engine.Engine, ind string) float64 {
	t.Helper()
	rows, err := e.Rollup(context.Background(), indicator.RollupQuery{Indicator: ind, Parents: indicator.UnitSet{Codes: []string{"p"}}})
	require.NoError(t, err)
	require.Len(t, rows, 1, ind)
	require.NotNil(t, rows[0].Value, ind)
	return *rows[0].Value
}

// TestPropertyConvertThenRollUp: rolling up an area given in km² and then
// converting to ha equals rolling up the same areas given in ha; and a
// RATIO rollup equals the ratio of the summed numerator and denominator,
// each converted by its own scale, whatever the scales.
func TestPropertyConvertThenRollUp(t *testing.T) {
	scales := []float64{1, 1e3, 1e6, 1e9}
	for seed := range uint64(6) {
		r := rand.New(rand.NewPCG(seed, 42))
		n := 2 + r.IntN(12)
		sNum, sDen := scales[r.IntN(len(scales))], scales[r.IntN(len(scales))]
		inds := fmt.Sprintf("area_km2,Diện tích km²,km2,1,neutral,SUM\narea_ha,Diện tích ha,ha,1,neutral,SUM\n"+
			"spent,Chi,VND,%g,neutral,SUM\nbudget,Dự toán,VND,%g,neutral,SUM\nshare,Tỷ lệ chi,%%,1,neutral,\"RATIO(spent,budget)\"\n", sNum, sDen)
		var obs strings.Builder
		var sumKm2, sumHa, sumNum, sumDen float64
		for d := range n {
			km2 := math.Round(r.Float64()*1e6) / 100 // two decimals, as a source writes
			ha := km2 * 100
			num, den := float64(1+r.IntN(1000)), float64(1+r.IntN(1000))
			sumKm2, sumHa, sumNum, sumDen = sumKm2+km2, sumHa+ha, sumNum+num, sumDen+den
			for _, x := range []struct {
				ind string
				v   float64
			}{{"area_km2", km2}, {"area_ha", ha}, {"spent", num}, {"budget", den}} {
				fmt.Fprintf(&obs, "p.d%d,%s,2020,actual,%v,doc,%d,%v,\n", d, x.ind, x.v, d+1, x.v)
			}
		}
		km2Ind := indicator.Indicator{Code: "area_km2", MeasureUnit: "km2", Scale: 1}
		haInd := indicator.Indicator{Code: "area_ha", MeasureUnit: "ha", Scale: 1}
		toHa, err := indicator.Factor(km2Ind, haInd)
		require.NoError(t, err)
		require.Equal(t, 100.0, toHa)
		for _, points := range []bool{false, true} {
			e := world(t, points, n, inds, obs.String())
			name := fmt.Sprintf("seed %d, %d districts, scales %g/%g, point index %v", seed, n, sNum, sDen, points)
			inKm2, inHa := rollupValue(t, e, "area_km2"), rollupValue(t, e, "area_ha")
			near(t, sumKm2, inKm2, "%s: km² summed", name)
			near(t, inHa, inKm2*toHa, "%s: rolled up then converted = converted then rolled up", name)
			near(t, sumHa, inHa, "%s: ha summed", name)
			near(t, sumNum*sNum/(sumDen*sDen)*100, rollupValue(t, e, "share"), "%s: RATIO = Σnum/Σden in base units, as %%", name)
		}
	}
}

// TestPropertyAlternativesSameBasis: a comparison row's alternatives are
// the other observations of its key of the same basis only: a yearly
// average and a total over the same range are never alternatives of each
// other, whichever basis is compared.
func TestPropertyAlternativesSameBasis(t *testing.T) {
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 7))
		n := 1 + r.IntN(6)
		var obs strings.Builder
		want := map[string]map[indicator.Basis]int{} // unit → basis → rows
		line := 0
		for d := range n {
			u := fmt.Sprintf("p.d%d", d)
			want[u] = map[indicator.Basis]int{}
			for _, b := range []indicator.Basis{indicator.BasisPerYear, indicator.BasisCumulative} {
				k := r.IntN(3) // 0, 1 or 2 rows of this basis
				for range k {
					line++
					fmt.Fprintf(&obs, "%s,jobs,2016-2020,actual,%d,doc,%d,%d,%s\n", u, 100+line, line, 100+line, b)
				}
				want[u][b] = k
			}
		}
		inds := "jobs,Việc làm,people,1,higher_better,SUM\n"
		for _, points := range []bool{false, true} {
			e := world(t, points, n, inds, obs.String())
			for _, b := range []indicator.Basis{indicator.BasisPerYear, indicator.BasisCumulative} {
				c, err := e.Compare(context.Background(), indicator.CompareQuery{Indicators: []string{"jobs"},
					Units: indicator.UnitSet{ChildrenOf: "p"}, Period: indicator.PeriodChoice{Mode: indicator.PeriodExact, Period: period(t, "2016-2020")}, Basis: &b})
				require.NoError(t, err)
				var ids []int64
				for _, row := range c.Rows {
					if row.Obs != nil {
						require.Equal(t, b, row.Obs.Basis, "the pick is of the basis compared")
						ids = append(ids, row.Obs.ID)
					} else if want[row.Unit][b] == 0 && want[row.Unit][other(b)] > 0 {
						require.Equal(t, "OTHER_BASIS", row.Missing)
					}
				}
				alts, err := e.Alternatives(context.Background(), ids)
				require.NoError(t, err)
				for _, row := range c.Rows {
					if row.Obs == nil {
						continue
					}
					require.Len(t, alts[row.Obs.ID], want[row.Unit][b]-1, "seed %d, %s, basis %q, point index %v", seed, row.Unit, b, points)
					for _, a := range alts[row.Obs.ID] {
						require.Equal(t, b, a.Basis, "an alternative of another basis")
					}
				}
			}
		}
	}
}

func other(b indicator.Basis) indicator.Basis {
	if b == indicator.BasisPerYear {
		return indicator.BasisCumulative
	}
	return indicator.BasisPerYear
}

func period(t *testing.T, label string) *indicator.Period {
	p, err := indicator.ParsePeriod(label)
	require.NoError(t, err)
	return &p
}
