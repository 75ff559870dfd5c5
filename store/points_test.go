package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"chiso/datasets"
	"chiso/engine"
	"chiso/indicator"
	"chiso/loader"
	"chiso/store"
	"chiso/synth"
)

// side is one store with the engine over it: the store's own reads and
// the engine's analytics.
type side struct {
	*store.Store
	*engine.Engine
}

// pointStores loads one dataset twice: into a store that answers reads
// from its in-memory index, and into one that asks DuckDB; the engine
// computes over each.
func pointStores(t *testing.T, dir loader.Dir) (pts, sql side) {
	t.Helper()
	ctx := context.Background()
	pst, sst := store.New(store.Options{PointsMax: 1 << 30}), store.New(store.Options{})
	for _, st := range []*store.Store{pst, sst} {
		t.Cleanup(func() { st.Close() })
		_, err := loader.New(st, loader.Options{}).Load(ctx, dir)
		require.NoError(t, err)
	}
	pts, sql = side{pst, engine.New(pst, engine.Options{})}, side{sst, engine.New(sst, engine.Options{})}
	ready, err := pts.WaitPointIndex(ctx)
	require.NoError(t, err)
	require.True(t, ready, "the point index should be built")
	require.Equal(t, "ready", pts.PointIndex())
	require.Equal(t, "off", sql.PointIndex())
	return pts, sql
}

// pointDatasets are the datasets the point index is checked on: the test
// fixture with a second basis (withBases), the Lai Châu data and a
// synthetic dataset (gaps, targets, every rollup rule).
func pointDatasets(t *testing.T) []loader.Dir {
	xs, err := synth.Size("XS")
	require.NoError(t, err)
	synthDir := filepath.Join(t.TempDir(), "xs")
	_, err = synth.Write(context.Background(), synthDir, xs, synth.Parquet)
	require.NoError(t, err)
	return []loader.Dir{withBases(t), {Name: "embedded:laichau", FS: datasets.LaiChau()}, loader.OSDir(synthDir)}
}

// spread keeps about most of xs, evenly spaced (all when there are not
// many more).
func spread(xs []string, most int) []string {
	step := len(xs) / most
	if step < 2 {
		return xs
	}
	var out []string
	for i := 0; i < len(xs); i += step {
		out = append(out, xs[i])
	}
	return out
}

// withBases is the fixture plus a second basis of one period (both rows
// are canonical; the latest value is the one without a basis, and a
// rollup counts both) and an earlier value without a methodology (a
// change from it does not cross a break).
func withBases(t *testing.T) loader.Dir {
	return baseFixture().with("observations", obsHeader+obsRows+
		"vn.lc.mt,population,2024,actual,4700,,,per_year,,doc2,6,,\n"+
		"vn.lc.mt,poverty_rate,2019,actual,55,,,,,doc2,12,55%,\n").write(t)
}

// column returns the distinct values of an SQL expression over the
// observations, as strings.
func column(t *testing.T, st *store.Store, expr string) []string {
	t.Helper()
	rows, err := st.RawQuery(context.Background(), "SELECT DISTINCT "+expr+" FROM observations WHERE "+expr+" IS NOT NULL ORDER BY 1")
	require.NoError(t, err)
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprint(r[0])
	}
	return out
}

// TestPointIndexAnswersAsDuckDB: series, latest values, observation pages
// and observations by id read from the in-memory index equal DuckDB's
// answers, on the test fixture, the Lai Châu data and a synthetic dataset
// (gaps, targets, every rollup rule); and they run no statement.
func TestPointIndexAnswersAsDuckDB(t *testing.T) {
	ctx := context.Background()
	for _, dir := range pointDatasets(t) {
		t.Run(filepath.Base(dir.Name), func(t *testing.T) {
			pts, sql := pointStores(t, dir)
			before := pts.Statements()
			units, inds := column(t, sql.Store, "unit"), column(t, sql.Store, "indicator")
			kinds, srcs, pers := column(t, sql.Store, "kind"), column(t, sql.Store, "source"), column(t, sql.Store, "period")
			require.NotEmpty(t, units)

			var keys []indicator.SeriesKey
			for _, u := range units {
				for _, x := range inds {
					keys = append(keys, indicator.SeriesKey{Unit: u, Indicator: x})
				}
			}
			keys = append(keys, indicator.SeriesKey{Unit: "nowhere", Indicator: inds[0]}, indicator.SeriesKey{Unit: units[0], Indicator: "nothing"})
			for _, ks := range [][]indicator.ObservationKind{nil, {indicator.KindActual}, {indicator.KindTarget, indicator.KindActual}} {
				want, err := sql.Series(ctx, keys, ks)
				require.NoError(t, err)
				got, err := pts.Series(ctx, keys, ks)
				require.NoError(t, err)
				require.Equal(t, want, got, "series of kinds %v", ks)
				one, err := pts.Series(ctx, keys[:1], ks)
				require.NoError(t, err)
				require.Equal(t, want[keys[0]], one[keys[0]])
			}
			for _, k := range append([]string{""}, kinds...) {
				want, err := sql.Latest(ctx, keys, indicator.ObservationKind(k))
				require.NoError(t, err)
				if k == "" {
					require.NotEmpty(t, want, "latest actual values")
				}
				got, err := pts.Latest(ctx, keys, indicator.ObservationKind(k))
				require.NoError(t, err)
				require.Equal(t, want, got, "latest of kind %q", k)
			}

			wantInds, err := sql.UnitIndicators(ctx, append(units, "nowhere"))
			require.NoError(t, err)
			gotInds, err := pts.UnitIndicators(ctx, append(units, "nowhere"))
			require.NoError(t, err)
			require.Equal(t, wantInds, gotInds)
			wantCov, err := sql.Coverage(ctx, append(inds, "nothing"))
			require.NoError(t, err)
			gotCov, err := pts.Coverage(ctx, append(inds, "nothing"))
			require.NoError(t, err)
			require.Equal(t, wantCov, gotCov)
			// Matrices by period: each indicator for the children of a
			// unit, every single period or a few given ones, both kinds.
			parents := column(t, sql.Store, "parent FROM units WHERE parent IS NOT NULL --")
			for i, x := range spread(inds, 40) {
				m := indicator.MatrixQuery{Indicators: []string{x}, Units: indicator.UnitSet{ChildrenOf: parents[i%len(parents)]},
					Kind: []indicator.ObservationKind{"", indicator.KindTarget}[i%2]}
				for _, labels := range [][]string{nil, {pers[0], pers[len(pers)-1], "1999"}} {
					m.Periods = nil
					for _, l := range labels {
						p, err := indicator.ParsePeriod(l)
						require.NoError(t, err)
						m.Periods = append(m.Periods, p)
					}
					want, err := sql.Matrix(ctx, m)
					require.NoError(t, err)
					got, err := pts.Matrix(ctx, m)
					require.NoError(t, err)
					require.Equal(t, want, got, "%+v", m)
				}
			}

			// Trends: every series with data (up to 300), whole, bounded
			// and indexed, and through ranges.
			withData, err := sql.RawQuery(ctx, `SELECT DISTINCT unit, indicator FROM observations ORDER BY ALL`)
			require.NoError(t, err)
			for i := 0; i < len(withData); i += max(1, len(withData)/300) {
				tq := indicator.TrendQuery{Unit: withData[i][0].(string), Indicator: withData[i][1].(string)}
				series, err := sql.Series(ctx, []indicator.SeriesKey{{Unit: tq.Unit, Indicator: tq.Indicator}}, nil)
				require.NoError(t, err)
				obs := series[indicator.SeriesKey{Unit: tq.Unit, Indicator: tq.Indicator}]
				first, last := obs[0].Period, obs[len(obs)-1].Period
				for _, v := range []indicator.TrendQuery{tq, {From: &last}, {To: &first, Base: &last}, {Base: &first, Kind: obs[0].Kind},
					{From: &first, To: &last, Kind: obs[len(obs)-1].Kind}} {
					v.Unit, v.Indicator = tq.Unit, tq.Indicator
					want, werr := sql.Trend(ctx, v)
					got, gerr := pts.Trend(ctx, v)
					require.Equal(t, fmt.Sprint(werr), fmt.Sprint(gerr), "%+v", v)
					require.Equal(t, want, got, "%+v", v)
				}
			}

			n := int64(len(column(t, sql.Store, "id")))
			all := []int64{0, n + 1}
			for id := int64(1); id <= n; id++ {
				all = append(all, id)
			}
			want, err := sql.ObservationsByID(ctx, all)
			require.NoError(t, err)
			require.Len(t, want, int(n))
			got, err := pts.ObservationsByID(ctx, all)
			require.NoError(t, err)
			require.Equal(t, want, got)

			first, last := pers[0], pers[len(pers)-1]
			period := func(label string) *indicator.Period {
				p, err := indicator.ParsePeriod(label)
				require.NoError(t, err)
				return &p
			}
			filters := []indicator.ObservationQuery{
				{},
				{Indicators: inds[:1]},
				{Indicators: []string{inds[len(inds)-1], inds[0], "nothing"}},
				{Units: units[:1]},
				{Units: []string{units[len(units)-1], units[0], units[0]}, Indicators: inds[:1]},
				{Kinds: []indicator.ObservationKind{indicator.KindTarget}},
				{Indicators: inds[:1], Kinds: []indicator.ObservationKind{indicator.KindActual}},
				{Sources: srcs[:1]},
				{From: period(last)},
				{To: period(first), Indicators: inds[len(inds)-1:]},
				{Units: []string{"nowhere"}},
			}
			for _, f := range filters {
				var mid []string // the cursors of the walk by 7, in order
				for _, size := range []int{0, 7, 1000} {
					f.First, f.After = size, ""
					for page := 0; page < 200; page++ {
						wo, wi, err := sql.Observations(ctx, f)
						require.NoError(t, err)
						go_, gi, err := pts.Observations(ctx, f)
						require.NoError(t, err)
						require.Equal(t, wo, go_, "%+v", f)
						require.Equal(t, wi, gi, "%+v", f)
						if size == 7 {
							mid = append(mid, wi.Cursors...)
						}
						if !wi.HasNextPage || size == 0 {
							break
						}
						f.After = wi.EndCursor
					}
				}
				// Backward from the end, then a window between two cursors.
				for _, size := range []int{0, 7, 1000} {
					f.Page = indicator.Page{Last: size, Backward: true}
					for page := 0; page < 200; page++ {
						wo, wi, err := sql.Observations(ctx, f)
						require.NoError(t, err)
						go_, gi, err := pts.Observations(ctx, f)
						require.NoError(t, err)
						require.Equal(t, wo, go_, "%+v", f)
						require.Equal(t, wi, gi, "%+v", f)
						if !wi.HasPreviousPage || size == 0 {
							break
						}
						f.Before = wi.StartCursor
					}
				}
				if len(mid) > 2 {
					for _, back := range []bool{false, true} {
						f.Page = indicator.Page{First: 3, Last: 3, Backward: back, After: mid[0], Before: mid[len(mid)-1]}
						wo, wi, err := sql.Observations(ctx, f)
						require.NoError(t, err)
						go_, gi, err := pts.Observations(ctx, f)
						require.NoError(t, err)
						require.Equal(t, wo, go_, "%+v", f)
						require.Equal(t, wi, gi, "%+v", f)
					}
				}
			}
			require.Equal(t, before, pts.Statements(), "point reads should run no statement")
		})
	}
}

// TestPointIndexLimits: a dataset over PointsMax has no point index and
// is answered by DuckDB; a reload builds the new snapshot's own index.
func TestPointIndexLimits(t *testing.T) {
	ctx := context.Background()
	for name, opts := range map[string]store.Options{
		"too big": {PointsMax: nObservations - 1},
		"off":     {},
	} {
		t.Run(name, func(t *testing.T) {
			st, _ := setup(t, opts)
			ready, err := st.WaitPointIndex(ctx)
			require.NoError(t, err)
			require.False(t, ready)
			require.Equal(t, "off", st.PointIndex())
			before := st.Statements()
			s, err := st.Series(ctx, []indicator.SeriesKey{{Unit: "vn.lc.pt", Indicator: "poverty_rate"}}, nil)
			require.NoError(t, err)
			require.Len(t, s[indicator.SeriesKey{Unit: "vn.lc.pt", Indicator: "poverty_rate"}], 7)
			require.Equal(t, before+1, st.Statements(), "DuckDB should answer")
		})
	}
	st, ld := setup(t, store.Options{PointsMax: nObservations})
	ready, err := st.WaitPointIndex(ctx)
	require.NoError(t, err)
	require.True(t, ready)
	fewer := baseFixture().with("observations", obsHeader+"vn.lc.pt,population,2024,actual,85327,,,,,doc1,25,85.327 người,\n")
	_, err = ld.Load(ctx, fewer.write(t))
	require.NoError(t, err)
	ready, err = st.WaitPointIndex(ctx)
	require.NoError(t, err)
	require.True(t, ready)
	page, info, err := st.Observations(ctx, indicator.ObservationQuery{Page: indicator.Page{First: 10}})
	require.NoError(t, err)
	require.Equal(t, 1, info.TotalCount)
	require.Equal(t, "85.327 người", page[0].Raw)
}

// TestPointIndexOnDisk: an on-disk snapshot keeps its point index in a
// mapped file beside its database file, unlinked as soon as it is mapped
// (nothing is left behind, even by a crash), and answers point reads from
// it without a statement.
func TestPointIndexOnDisk(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	st, _ := setup(t, store.Options{PointsMax: nObservations, OnDisk: true, TempDir: tmp})
	ready, err := st.WaitPointIndex(ctx)
	require.NoError(t, err)
	require.True(t, ready)
	require.Equal(t, "ready", st.PointIndex())
	files, err := filepath.Glob(filepath.Join(tmp, "*"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files { // the database file and its write-ahead log
		require.Regexp(t, `/snapshot-\d+\.duckdb(\.wal)?$`, f)
	}
	if maps, err := os.ReadFile("/proc/self/maps"); err == nil { // Linux
		require.Regexp(t, regexp.QuoteMeta(tmp)+`/points-\d+\.bin \(deleted\)`, string(maps), "the index is a mapping of an unlinked file in the temp dir")
	}
	before := st.Statements()
	key := indicator.SeriesKey{Unit: "vn.lc.pt", Indicator: "poverty_rate"}
	s, err := st.Series(ctx, []indicator.SeriesKey{key}, nil)
	require.NoError(t, err)
	require.Len(t, s[key], 7)
	require.Equal(t, before, st.Statements(), "the point index should answer")
}

// TestPointIndexRollsUpAsDuckDB: rollups computed from the point index
// equal the rollup statement's, for every indicator (every rule, and the
// refusals), parents at each level with their children or deeper
// descendants, every period or a given few, over time into ranges, both
// kinds and with parts skipped; and they run no statement.
func TestPointIndexRollsUpAsDuckDB(t *testing.T) {
	ctx := context.Background()
	for _, dir := range pointDatasets(t) {
		t.Run(filepath.Base(dir.Name), func(t *testing.T) {
			pts, sql := pointStores(t, dir)
			before := pts.Statements()
			inds := column(t, sql.Store, "code FROM indicators --")
			pers := column(t, sql.Store, "period")
			ranges := column(t, sql.Store, "period FROM observations WHERE period_kind = 'RANGE' --")
			rows, err := sql.RawQuery(ctx, `SELECT u.code, u.level FROM units u WHERE EXISTS (SELECT 1 FROM units c WHERE c.parent = u.code) ORDER BY u.level_rank, u.code`)
			require.NoError(t, err)
			var sets []indicator.UnitSet
			levels := []indicator.Level{indicator.LevelCommune, indicator.LevelVillage}
			for i, r := range rows {
				if i%max(1, len(rows)/6) == 0 {
					sets = append(sets, indicator.UnitSet{Codes: []string{r[0].(string)}})
				}
			}
			sets = append(sets, indicator.UnitSet{ChildrenOf: rows[0][0].(string)})
			period := func(label string) indicator.Period {
				p, err := indicator.ParsePeriod(label)
				require.NoError(t, err)
				return p
			}
			if len(ranges) > 2 {
				ranges = ranges[:2]
			}
			inds = spread(inds, 100) // of Lai Châu's ~1,200 indicators
			// Each indicator with two of the parent sets, in turn.
			var qs []indicator.RollupQuery
			for i, x := range inds {
				set, other := sets[i%len(sets)], sets[(i+1)%len(sets)]
				qs = append(qs, indicator.RollupQuery{Indicator: x, Parents: set},
					indicator.RollupQuery{Indicator: x, Parents: other},
					indicator.RollupQuery{Indicator: x, Parents: set, Kind: indicator.KindTarget},
					indicator.RollupQuery{Indicator: x, Parents: other, Periods: []indicator.Period{period(pers[0]), period(pers[len(pers)-1]), period("1999")},
						Skip: indicator.RollupSkip{Inputs: true, Missing: true, Reported: true, Gap: true}},
					indicator.RollupQuery{Indicator: x, Parents: set, Skip: indicator.RollupSkip{Reported: true}})
				for _, l := range levels {
					qs = append(qs, indicator.RollupQuery{Indicator: x, Parents: other, ChildLevel: l})
				}
				for _, r := range append(ranges, "2000-2030", "1900-1905") {
					over := period(r)
					qs = append(qs, indicator.RollupQuery{Indicator: x, Parents: set, Over: &over})
				}
			}
			computed := 0
			for _, q := range qs {
				want, werr := sql.Rollup(ctx, q)
				got, gerr := pts.Rollup(ctx, q)
				if werr != nil {
					require.Equal(t, werr.Error(), fmt.Sprint(gerr), "%+v", q)
					continue
				}
				require.NoError(t, gerr, "%+v", q)
				require.Equal(t, comparableRollup(want), comparableRollup(got), "%+v", q)
				for _, r := range want {
					if r.Value != nil {
						computed++
					}
				}
			}
			t.Logf("%d rollups, %d values", len(qs), computed)
			require.Positive(t, computed, "some rollups should have values")
			require.Equal(t, before, pts.Statements(), "rollups from the index should run no statement")
		})
	}
}

// comparableRollup rounds a rollup's computed numbers to 12 significant
// digits (the two sides may add floats in a different order) and orders
// rows that share a unit and period (one per reported value) by it.
func comparableRollup(rows []indicator.RollupRow) []indicator.RollupRow {
	round := func(v *float64) *float64 {
		if v == nil {
			return nil
		}
		x, _ := strconv.ParseFloat(strconv.FormatFloat(*v, 'g', 12, 64), 64)
		return &x
	}
	out := make([]indicator.RollupRow, len(rows))
	for i, r := range rows {
		r.Value, r.WeightShare, r.Gap, r.GapRelative = round(r.Value), round(r.WeightShare), round(r.Gap), round(r.GapRelative)
		out[i] = r
	}
	slices.SortStableFunc(out, func(a, b indicator.RollupRow) int {
		if a.Unit != b.Unit || a.Period.Label != b.Period.Label || a.Reported == nil || b.Reported == nil {
			return 0
		}
		return int(a.Reported.ID - b.Reported.ID)
	})
	return out
}

// TestPointIndexComparesAsDuckDB: comparisons computed from the point
// index equal the comparison statement's, for sets of units at each level,
// one and several indicators, every period mode (exact years, ranges and
// absent labels, latest with and without an age limit, common periods at
// two coverages), each ranking, both kinds and with parts skipped; and
// they run no statement.
func TestPointIndexComparesAsDuckDB(t *testing.T) {
	ctx := context.Background()
	for _, dir := range pointDatasets(t) {
		t.Run(filepath.Base(dir.Name), func(t *testing.T) {
			pts, sql := pointStores(t, dir)
			before := pts.Statements()
			inds := column(t, sql.Store, "indicator")
			inds = spread(inds, 30)
			pers := column(t, sql.Store, "period")
			ranges := column(t, sql.Store, "period FROM observations WHERE period_kind = 'RANGE' --")
			rows, err := sql.RawQuery(ctx, `SELECT u.code FROM units u WHERE EXISTS (SELECT 1 FROM units c WHERE c.parent = u.code) ORDER BY u.level_rank, u.code`)
			require.NoError(t, err)
			root := rows[0][0].(string)
			sets := []indicator.UnitSet{{ChildrenOf: root}, {Under: root, Level: indicator.LevelDistrict},
				{Under: root, Level: indicator.LevelCommune}, {ChildrenOf: rows[len(rows)/2][0].(string)}}
			period := func(label string) *indicator.Period {
				p, err := indicator.ParsePeriod(label)
				require.NoError(t, err)
				return &p
			}
			choices := []indicator.PeriodChoice{{}, {MaxAgeYears: 1}, {MaxAgeYears: 3},
				{Mode: indicator.PeriodCommon}, {Mode: indicator.PeriodCommon, MinCoverage: 0.3},
				{Mode: indicator.PeriodExact, Period: period(pers[len(pers)/2])}, {Mode: indicator.PeriodExact, Period: period(pers[len(pers)-1])},
				{Mode: indicator.PeriodExact, Period: period("1999")}}
			if len(ranges) > 0 {
				choices = append(choices, indicator.PeriodChoice{Mode: indicator.PeriodExact, Period: period(ranges[0])})
			}
			skips := []indicator.CompareSkip{{}, {Parent: true, Earliest: true}, {EarliestObservation: true}}
			var qs []indicator.CompareQuery
			for i, x := range inds {
				several := []string{x, inds[(i+1)%len(inds)], inds[(i+7)%len(inds)]}
				for j, c := range choices {
					set := sets[(i+j)%len(sets)]
					rank := []indicator.RankBy{"", indicator.RankByChange, indicator.RankByGrowth}[(i+j)%3]
					qs = append(qs, indicator.CompareQuery{Indicators: []string{x}, Units: set, Period: c, RankBy: rank, Skip: skips[j%len(skips)]},
						indicator.CompareQuery{Indicators: several, Units: sets[(i+j+1)%len(sets)], Period: c, RankBy: rank, Kind: []indicator.ObservationKind{"", indicator.KindTarget}[j%2]})
				}
			}
			picked := 0
			for _, q := range qs {
				want, werr := sql.Compare(ctx, q)
				got, gerr := pts.Compare(ctx, q)
				if werr != nil {
					require.Equal(t, werr.Error(), fmt.Sprint(gerr), "%+v", q)
					continue
				}
				require.NoError(t, gerr, "%+v", q)
				require.Equal(t, want, got, "%+v", q)
				for _, r := range want.Rows {
					if r.Obs != nil {
						picked++
					}
				}
			}
			t.Logf("%d comparisons, %d rows picked", len(qs), picked)
			require.Positive(t, picked)
			require.Equal(t, before, pts.Statements(), "comparisons from the index should run no statement")
		})
	}
}
