package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"chiso/engine"
	"chiso/indicator"
	"chiso/loader"
	"chiso/store"
	"chiso/synth"
)

// BenchmarkEngine times the analytics of the benchmark questions q2–q5
// (bench/questions.go) through the engine over the point index, the path
// that answers them at M: the latest values of a province's communes, a
// comparison of every district in one year, a rollup of every province
// and a growth ranking of a province's communes. Each reads one
// indicator's rows of many series, so its cost is per row and per series
// as at M, on synth size S (M's units, over eight years instead of
// twenty; about a million rows, loaded in seconds). CHISO_BENCH_SIZE
// names another synth size:
//
//	go test ./store -run '^$' -bench Engine
func BenchmarkEngine(b *testing.B) {
	size := "S"
	if s := os.Getenv("CHISO_BENCH_SIZE"); s != "" {
		size = s
	}
	spec, err := synth.Size(size)
	require.NoError(b, err)
	dir := filepath.Join(b.TempDir(), "data")
	ctx := context.Background()
	_, err = synth.Write(ctx, dir, spec, synth.Parquet)
	require.NoError(b, err)
	st := store.New(store.Options{PointsMax: 1 << 30})
	b.Cleanup(func() { st.Close() })
	_, err = loader.New(st, loader.Options{}).Load(ctx, loader.OSDir(dir))
	require.NoError(b, err)
	built, err := st.WaitPointIndex(ctx)
	require.NoError(b, err)
	require.True(b, built)
	eng := engine.New(st, engine.Options{})

	provinces := firstColumn(b, st, `SELECT code FROM units WHERE level = 'province' ORDER BY code`)
	years := firstColumn(b, st, `SELECT DISTINCT period FROM observations WHERE kind = 'actual' ORDER BY 1`)
	inds := []string{"pop", "hh", "poor"}[:min(3, spec.Indicators)]
	communes, err := st.Descendants(ctx, provinces, indicator.LevelCommune, nil)
	require.NoError(b, err)
	cat, err := st.Catalog(ctx)
	require.NoError(b, err)
	period := func(i int) *indicator.Period {
		p, ok := cat.Period(years[i%len(years)])
		require.True(b, ok)
		return p
	}
	questions := []struct {
		name string
		run  func(i int) (rows int, err error)
	}{
		{"q2-latest-communes", func(i int) (int, error) {
			var keys []indicator.SeriesKey
			for _, c := range communes[provinces[i%len(provinces)]] {
				keys = append(keys, indicator.SeriesKey{Unit: c.Code, Indicator: inds[i%len(inds)]})
			}
			m, err := eng.Latest(ctx, keys, indicator.KindActual)
			return len(m), err
		}},
		{"q3-compare-districts", func(i int) (int, error) {
			c, err := eng.Compare(ctx, indicator.CompareQuery{Indicators: []string{inds[i%len(inds)]},
				Units:  indicator.UnitSet{Under: "vn", Level: indicator.LevelDistrict},
				Period: indicator.PeriodChoice{Mode: indicator.PeriodExact, Period: period(i)}})
			return len(c.Rows), err
		}},
		{"q4-rollup-provinces", func(i int) (int, error) {
			r, err := eng.Rollup(ctx, indicator.RollupQuery{Indicator: inds[i%len(inds)],
				Parents: indicator.UnitSet{Under: "vn", Level: indicator.LevelProvince}})
			return len(r), err
		}},
		{"q5-growth-communes", func(i int) (int, error) {
			c, err := eng.Compare(ctx, indicator.CompareQuery{Indicators: []string{inds[i%len(inds)]},
				Units:  indicator.UnitSet{Under: provinces[i%len(provinces)], Level: indicator.LevelCommune},
				RankBy: indicator.RankByGrowth})
			return len(c.Rows), err
		}},
	}
	for _, q := range questions {
		b.Run(q.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				n, err := q.run(i)
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					b.Fatal("no rows")
				}
			}
		})
	}
}
