package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"chiso/engine"
	"chiso/indicator"
	"chiso/loader"
	"chiso/store"
)

// The fixture, loaded through the loader into a real in-memory DuckDB.
const (
	sourcesCSV = `id,title,issuer,number,date,kind
doc1,Báo cáo chính trị huyện Phong Thổ,Ban Chỉ đạo,73/BC-BCĐ,2024-05-27,report
doc2,Kế hoạch Mường Tè,UBND huyện Mường Tè,/KH-UBND,2022-06,plan
`
	unitsCSV = `code,name_vi,name_en,level,parent,valid_from,valid_to
vn,Việt Nam,Viet Nam,country,,,
vn.lc,Lai Châu,Lai Chau Province,province,vn,,
vn.lc.pt,Phong Thổ,Phong Tho District,district,vn.lc,,2025-06-30
vn.lc.mt,Mường Tè,Muong Te District,district,vn.lc,,2025-06-30
vn.lc.th,Thành phố Lai Châu,Lai Chau City,district,vn.lc,,2025-06-30
vn.lc.pt.ms,Mường So,,commune,vn.lc.pt,,2025-06-30
vn.lc.pt.sh,Sì Lở Lầu,,commune,vn.lc.pt,,2025-06-30
vn.lc.mt.mt,Thị trấn Mường Tè,Muong Te Town,commune,vn.lc.mt,,2025-06-30
vn.lc.pt.ms.cc,Căn Câu,Can Cau Village,village,vn.lc.pt.ms,,2025-06-30
vn.nw,Tây Bắc,Northwest,region,vn,,
`
	indicatorsCSV = `code,name_vi,name_en,measure_unit,scale,theme,direction,group,rollup,total,definition
households_total,Tổng số hộ,Households,households,1,population,neutral,all,SUM,,Number of households.
households_poor,Số hộ nghèo,Poor households,households,1,poverty,lower_better,all,SUM,households_total,Poor households.
poverty_rate,Tỷ lệ hộ nghèo,Poverty rate,%,1,poverty,lower_better,all,"RATIO(households_poor,households_total)",,Share of poor households.
population,Dân số,Population,people,1,population,neutral,all,SUM,,
`
	obsHeader = "unit,indicator,period,kind,value,denominator,qualifier,flags,methodology,source,line,raw,note\n"
	obsRows   = `vn.lc.pt,poverty_rate,2020,actual,22.43,,,,poverty_2016_2020,doc1,10,"22,43%",
vn.lc.pt,poverty_rate,2021,actual,48.42,,,,poverty_2021_2025,doc1,10,"48,42%",
vn.lc.pt,poverty_rate,2019,actual,25.64,,,footnote,poverty_2016_2020,doc1,10,"25,64%",
vn.lc.pt,poverty_rate,2024,actual,37.93,,,,poverty_2021_2025,doc1,25,"37,93%",
vn.lc.pt,poverty_rate,2025,target,30,,under,,,doc1,12,dưới 30%,
vn.lc.pt,poverty_rate,2029,target,3,,at_least,,,doc1,12,3%,yearly reduction target
vn.lc.pt,poverty_rate,2021-2025,change,-4,,,per_year,,doc1,13,4%,
vn.lc.mt,poverty_rate,2021,actual,50.1,,about,estimated,poverty_2021_2025,doc2,11,"50,1%",
vn.lc.mt,poverty_rate,2025,target,40,,,,,doc2,20,40%,
vn.lc.pt,households_poor,2016-2020,change,-1200,,,cumulative,,doc1,13,1.200 hộ,
vn.lc.pt.ms,households_total,2024,actual,784,1610,,,,doc1,15,784/1610,
vn.lc.pt,population,2024,actual,85327,,,,,doc1,25,85.327 người,
vn.lc.pt,population,2024H1,actual,85000,,,,,doc1,26,,
vn.lc.pt,population,2024Q3,actual,85100,,,,,doc1,27,,
vn.lc.pt,population,2024-06,actual,85050,,,,,doc1,28,,
vn.lc.pt,population,2024-05-27,actual,85040,,,,,doc1,29,,
vn.lc.pt,population,SY2023-2024,actual,84900,,,,,doc1,30,,
vn.lc.pt,population,2016-2020,actual,80000,,,per_year,,doc1,31,,
vn.lc.mt,population,2024,actual,47000,,,,,doc2,5,,
vn.lc.pt.ms.cc,population,2024,actual,412,,,,,doc1,41,,
`
	nObservations = 20
)

type fixture map[string]string

func baseFixture() fixture {
	return fixture{"sources": sourcesCSV, "units": unitsCSV, "indicators": indicatorsCSV, "observations": obsHeader + obsRows}
}

func (f fixture) with(table, text string) fixture {
	g := fixture{}
	for k, v := range f {
		g[k] = v
	}
	g[table] = text
	return g
}

func (f fixture) write(t testing.TB) loader.Dir {
	t.Helper()
	dir := t.TempDir()
	for table, text := range f {
		require.NoError(t, os.WriteFile(filepath.Join(dir, table+".csv"), []byte(text), 0o644))
	}
	return loader.OSDir(dir)
}

// setup returns a store serving the base fixture, and its loader.
func setup(t testing.TB, opts store.Options) (*store.Store, *loader.Loader) {
	t.Helper()
	st := store.New(opts)
	t.Cleanup(func() { st.Close() })
	ld := loader.New(st, loader.Options{})
	_, err := ld.Load(context.Background(), baseFixture().write(t))
	require.NoError(t, err)
	return st, ld
}

func ids(obs []indicator.Observation) []int64 {
	var out []int64
	for _, o := range obs {
		out = append(out, o.ID)
	}
	return out
}

func labels(ps []indicator.Period) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Label
	}
	return out
}

func codes(us []indicator.Unit) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Code
	}
	return out
}

func TestEmptyStore(t *testing.T) {
	ctx := context.Background()
	st := store.New(store.Options{})
	defer st.Close()
	_, err := st.Dataset(ctx)
	require.ErrorIs(t, err, indicator.ErrUnavailable)
	_, err = st.Series(ctx, []indicator.SeriesKey{{Unit: "vn", Indicator: "x"}}, nil)
	require.ErrorIs(t, err, indicator.ErrUnavailable)
	_, _, err = st.Observations(ctx, indicator.ObservationQuery{Page: indicator.Page{First: 10}})
	require.Equal(t, indicator.CodeUnavailable, indicator.CodeOf(err))
	_, err = st.Units(ctx, []string{"vn"})
	require.ErrorIs(t, err, indicator.ErrUnavailable)
}

func TestObservationsPagination(t *testing.T) {
	ctx := context.Background()
	st, _ := setup(t, store.Options{})

	all, info, err := st.Observations(ctx, indicator.ObservationQuery{Page: indicator.Page{First: 1000}})
	require.NoError(t, err)
	require.Len(t, all, nObservations)
	require.Equal(t, nObservations, info.TotalCount)
	require.False(t, info.HasNextPage)
	require.Len(t, info.Cursors, nObservations)
	require.Equal(t, info.Cursors[nObservations-1], info.EndCursor)
	// Ordered by id: indicator, unit, then period.
	for i := 1; i < len(all); i++ {
		require.Less(t, all[i-1].ID, all[i].ID)
		a, b := all[i-1], all[i]
		require.True(t, a.Indicator < b.Indicator || a.Indicator == b.Indicator && (a.Unit < b.Unit ||
			a.Unit == b.Unit && !b.Period.Start.Before(a.Period.Start)), "%v before %v", a, b)
	}

	// Pages of 2 yield every row once, in the same order.
	var got []int64
	after := ""
	pages := 0
	for {
		page, pi, err := st.Observations(ctx, indicator.ObservationQuery{Page: indicator.Page{First: 2, After: after}})
		require.NoError(t, err)
		pages++
		require.Equal(t, nObservations, pi.TotalCount, "every page reports the total")
		require.Len(t, pi.Cursors, len(page))
		require.LessOrEqual(t, len(page), 2)
		got = append(got, ids(page)...)
		if !pi.HasNextPage {
			break
		}
		require.Len(t, page, 2)
		require.Equal(t, pi.Cursors[1], pi.EndCursor)
		after = pi.EndCursor
		require.Less(t, pages, 100)
	}
	require.Equal(t, ids(all), got)
	require.Equal(t, nObservations/2, pages)

	// Any item's cursor continues right after it.
	for i, c := range info.Cursors {
		page, pi, err := st.Observations(ctx, indicator.ObservationQuery{Page: indicator.Page{First: 3, After: c}})
		require.NoError(t, err)
		want := ids(all[i+1 : min(i+4, len(all))])
		require.Equal(t, want, ids(page))
		require.Equal(t, i+4 < len(all), pi.HasNextPage)
	}

	// Past the end: an empty page that still has the total.
	page, pi, err := st.Observations(ctx, indicator.ObservationQuery{Page: indicator.Page{First: 2, After: info.EndCursor}})
	require.NoError(t, err)
	require.Empty(t, page)
	require.Equal(t, nObservations, pi.TotalCount)
	require.False(t, pi.HasNextPage)
	require.Equal(t, "", pi.EndCursor)

	// First 0 counts without rows.
	page, pi, err = st.Observations(ctx, indicator.ObservationQuery{Page: indicator.Page{First: 0}})
	require.NoError(t, err)
	require.Empty(t, page)
	require.Equal(t, nObservations, pi.TotalCount)
	require.True(t, pi.HasNextPage)
}

func TestObservationsFilters(t *testing.T) {
	ctx := context.Background()
	st, _ := setup(t, store.Options{})
	from, err := indicator.ParsePeriod("2021")
	require.NoError(t, err)
	to, err := indicator.ParsePeriod("2024")
	require.NoError(t, err)
	for _, tc := range []struct {
		name  string
		q     indicator.ObservationQuery
		total int
	}{
		{"unit", indicator.ObservationQuery{Units: []string{"vn.lc.mt"}}, 3},
		{"units", indicator.ObservationQuery{Units: []string{"vn.lc.mt", "vn.lc.pt.ms.cc"}}, 4},
		{"indicator", indicator.ObservationQuery{Indicators: []string{"population"}}, 9},
		{"kind", indicator.ObservationQuery{Kinds: []indicator.ObservationKind{indicator.KindTarget}}, 3},
		{"kinds", indicator.ObservationQuery{Kinds: []indicator.ObservationKind{indicator.KindTarget, indicator.KindChange}}, 5},
		{"source", indicator.ObservationQuery{Sources: []string{"doc2"}}, 3},
		{"from", indicator.ObservationQuery{Indicators: []string{"poverty_rate"}, From: &from}, 7},
		{"from to", indicator.ObservationQuery{Indicators: []string{"poverty_rate"}, From: &from, To: &to}, 3},
		{"to", indicator.ObservationQuery{Units: []string{"vn.lc.pt"}, Indicators: []string{"population"}, To: &to}, 7},
		{"nothing", indicator.ObservationQuery{Units: []string{"nowhere"}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.First = 1000
			all, info, err := st.Observations(ctx, q)
			require.NoError(t, err)
			require.Equal(t, tc.total, info.TotalCount)
			require.Len(t, all, tc.total)
			// Paged one at a time, the filtered set comes out the same.
			var got []int64
			for {
				q.First = 1
				page, pi, err := st.Observations(ctx, q)
				require.NoError(t, err)
				require.Equal(t, tc.total, pi.TotalCount)
				got = append(got, ids(page)...)
				if !pi.HasNextPage {
					break
				}
				q.After = pi.EndCursor
			}
			require.Equal(t, ids(all), got)
		})
	}
}

func TestCursorVersion(t *testing.T) {
	ctx := context.Background()
	st, ld := setup(t, store.Options{})
	_, info, err := st.Observations(ctx, indicator.ObservationQuery{Page: indicator.Page{First: 2}})
	require.NoError(t, err)
	cursor := info.EndCursor
	_, uinfo, err := st.ListUnits(ctx, indicator.UnitQuery{Page: indicator.Page{First: 2}})
	require.NoError(t, err)
	ucursor := uinfo.EndCursor

	// A cursor of another list, or no cursor at all, is refused.
	for _, bad := range []string{ucursor, "!!!", "bm90IGEgY3Vyc29y", cursor + "x"} {
		_, _, err = st.Observations(ctx, indicator.ObservationQuery{Page: indicator.Page{First: 2, After: bad}})
		require.ErrorIs(t, err, indicator.ErrInvalid, bad)
		require.Equal(t, indicator.CodeInvalidArgument, indicator.CodeOf(err))
	}
	_, _, err = st.ListUnits(ctx, indicator.UnitQuery{Page: indicator.Page{First: 2, After: cursor}})
	require.ErrorIs(t, err, indicator.ErrInvalid)
	_, _, err = st.ListIndicators(ctx, indicator.IndicatorQuery{Page: indicator.Page{First: 2, After: ucursor}})
	require.ErrorIs(t, err, indicator.ErrInvalid)

	// Reloading identical files keeps the version, so cursors stay valid.
	_, err = ld.Load(ctx, baseFixture().write(t))
	require.NoError(t, err)
	_, _, err = st.Observations(ctx, indicator.ObservationQuery{Page: indicator.Page{First: 2, After: cursor}})
	require.NoError(t, err)

	// Another dataset version refuses the old cursors.
	_, err = ld.Load(ctx, baseFixture().with("observations", obsHeader+obsRows+"vn.lc.th,population,2024,actual,42000,,,,,doc1,50,,\n").write(t))
	require.NoError(t, err)
	_, _, err = st.Observations(ctx, indicator.ObservationQuery{Page: indicator.Page{First: 2, After: cursor}})
	require.ErrorIs(t, err, indicator.ErrInvalid)
	require.Equal(t, indicator.CodeInvalidArgument, indicator.CodeOf(err))
	require.Contains(t, err.Error(), "cursor is from dataset version")
	var ae *indicator.ArgError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "after", ae.Arg)
	_, _, err = st.ListUnits(ctx, indicator.UnitQuery{Page: indicator.Page{First: 2, After: ucursor}})
	require.ErrorIs(t, err, indicator.ErrInvalid)
}

func TestSeriesKinds(t *testing.T) {
	ctx := context.Background()
	st, _ := setup(t, store.Options{})
	pt := indicator.SeriesKey{Unit: "vn.lc.pt", Indicator: "poverty_rate"}
	mt := indicator.SeriesKey{Unit: "vn.lc.mt", Indicator: "poverty_rate"}
	none := indicator.SeriesKey{Unit: "vn.lc.th", Indicator: "poverty_rate"}
	unknown := indicator.SeriesKey{Unit: "nowhere", Indicator: "nothing"}
	keys := []indicator.SeriesKey{pt, mt, none, unknown}

	kindsOf := func(obs []indicator.Observation) []string {
		var out []string
		for _, o := range obs {
			out = append(out, o.Period.Label+":"+string(o.Kind))
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		kinds  []indicator.ObservationKind
		pt, mt []string
	}{
		{"all", nil, []string{"2019:actual", "2020:actual", "2021:actual", "2021-2025:change", "2024:actual", "2025:target", "2029:target"}, []string{"2021:actual", "2025:target"}},
		{"empty list is all", []indicator.ObservationKind{}, []string{"2019:actual", "2020:actual", "2021:actual", "2021-2025:change", "2024:actual", "2025:target", "2029:target"}, []string{"2021:actual", "2025:target"}},
		{"actual", []indicator.ObservationKind{indicator.KindActual}, []string{"2019:actual", "2020:actual", "2021:actual", "2024:actual"}, []string{"2021:actual"}},
		{"target", []indicator.ObservationKind{indicator.KindTarget}, []string{"2025:target", "2029:target"}, []string{"2025:target"}},
		{"target and change", []indicator.ObservationKind{indicator.KindTarget, indicator.KindChange}, []string{"2021-2025:change", "2025:target", "2029:target"}, []string{"2025:target"}},
		{"share", []indicator.ObservationKind{indicator.KindShare}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := st.Statements()
			got, err := st.Series(ctx, keys, tc.kinds)
			require.NoError(t, err)
			require.Equal(t, int64(1), st.Statements()-before, "one statement for every key")
			require.Len(t, got, len(keys))
			require.Equal(t, tc.pt, kindsOf(got[pt]))
			require.Equal(t, tc.mt, kindsOf(got[mt]))
			for _, k := range []indicator.SeriesKey{none, unknown} {
				require.NotNil(t, got[k], "a key without data maps to an empty series")
				require.Empty(t, got[k])
			}
		})
	}
}

func TestCoverage(t *testing.T) {
	ctx := context.Background()
	st, _ := setup(t, store.Options{})
	cov, err := st.Coverage(ctx, []string{"population", "poverty_rate", "households_total", "nothing"})
	require.NoError(t, err)
	require.Len(t, cov, 4)

	pop := cov["population"]
	require.Equal(t, 9, pop.Observations)
	require.Equal(t, []string{"vn.lc.mt", "vn.lc.pt", "vn.lc.pt.ms.cc"}, pop.Units)
	// Distinct periods ordered by start, then end.
	require.Equal(t, []string{"2016-2020", "SY2023-2024", "2024H1", "2024", "2024-05-27", "2024-06", "2024Q3"}, labels(pop.Periods))
	for i := 1; i < len(pop.Periods); i++ {
		a, b := pop.Periods[i-1], pop.Periods[i]
		require.True(t, a.Start.Before(b.Start) || a.Start.Equal(b.Start) && !b.End.Before(a.End))
	}
	require.Equal(t, indicator.PeriodSchoolYear, pop.Periods[1].Kind)

	pr := cov["poverty_rate"]
	require.Equal(t, 9, pr.Observations)
	require.Equal(t, []string{"vn.lc.mt", "vn.lc.pt"}, pr.Units)
	require.Equal(t, []string{"2019", "2020", "2021", "2021-2025", "2024", "2025", "2029"}, labels(pr.Periods))

	require.Equal(t, 1, cov["households_total"].Observations)
	require.Equal(t, indicator.Coverage{Units: []string{}, Periods: []indicator.Period{}}, cov["nothing"])
}

func TestListUnitsSearch(t *testing.T) {
	ctx := context.Background()
	st, _ := setup(t, store.Options{})
	for _, tc := range []struct {
		search string
		level  indicator.Level
		want   []string
	}{
		{"phong tho", "", []string{"vn.lc.pt"}},
		{"Phong Thổ", "", []string{"vn.lc.pt"}},
		{"PHONG THỔ", "", []string{"vn.lc.pt"}},
		{"tho", "", []string{"vn.lc.pt"}},
		{"Tho\u0302\u0309", "", []string{"vn.lc.pt"}}, // decomposed
		{"  phong    tho ", "", []string{"vn.lc.pt"}},
		{"muong", "", []string{"vn.lc.mt", "vn.lc.mt.mt", "vn.lc.pt.ms"}},
		{"Mường", indicator.LevelCommune, []string{"vn.lc.mt.mt", "vn.lc.pt.ms"}},
		{"muong te", "", []string{"vn.lc.mt", "vn.lc.mt.mt"}},
		{"te muong", "", []string{"vn.lc.mt", "vn.lc.mt.mt"}}, // every word, any order
		{"lai chau", "", []string{"vn.lc", "vn.lc.th"}},
		{"city", "", []string{"vn.lc.th"}},                             // English name
		{"vn.lc.pt.ms", "", []string{"vn.lc.pt.ms", "vn.lc.pt.ms.cc"}}, // code
		{"đ", "", []string{"vn.lc.mt", "vn.lc.pt"}},                    // đ folds to d, as in "District"
		{"tay bac", "", []string{"vn.nw"}},
		{"si lo lau", "", []string{"vn.lc.pt.sh"}},
		{"", indicator.LevelDistrict, []string{"vn.lc.mt", "vn.lc.pt", "vn.lc.th"}},
		{"", "", []string{"vn", "vn.lc", "vn.lc.mt", "vn.lc.pt", "vn.lc.th", "vn.lc.mt.mt", "vn.lc.pt.ms", "vn.lc.pt.sh", "vn.lc.pt.ms.cc", "vn.nw"}},
		{"nowhere at all", "", nil},
	} {
		t.Run(tc.search+"/"+string(tc.level), func(t *testing.T) {
			units, info, err := st.ListUnits(ctx, indicator.UnitQuery{Search: tc.search, Level: tc.level, Page: indicator.Page{First: 100}})
			require.NoError(t, err)
			if tc.want == nil {
				require.Empty(t, units)
			} else {
				require.Equal(t, tc.want, codes(units))
			}
			require.Equal(t, len(tc.want), info.TotalCount)
		})
	}

	// Parent filter and paging one at a time.
	var got []string
	q := indicator.UnitQuery{Parent: "vn.lc", Page: indicator.Page{First: 1}}
	for {
		units, info, err := st.ListUnits(ctx, q)
		require.NoError(t, err)
		require.Equal(t, 3, info.TotalCount)
		got = append(got, codes(units)...)
		if !info.HasNextPage {
			break
		}
		q.After = info.EndCursor
	}
	require.Equal(t, []string{"vn.lc.mt", "vn.lc.pt", "vn.lc.th"}, got)

	// Indicators are searched the same way.
	inds, _, err := st.ListIndicators(ctx, indicator.IndicatorQuery{Search: "HỘ NGHÈO", Page: indicator.Page{First: 10}})
	require.NoError(t, err)
	var ic []string
	for _, x := range inds {
		ic = append(ic, x.Code)
	}
	require.Equal(t, []string{"households_poor", "poverty_rate"}, ic)
}

func TestMaxRows(t *testing.T) {
	ctx := context.Background()
	st, _ := setup(t, store.Options{MaxRows: 3})
	pt := indicator.SeriesKey{Unit: "vn.lc.pt", Indicator: "poverty_rate"}
	mt := indicator.SeriesKey{Unit: "vn.lc.mt", Indicator: "poverty_rate"}

	// At the cap is fine.
	got, err := st.Series(ctx, []indicator.SeriesKey{mt}, nil)
	require.NoError(t, err)
	require.Len(t, got[mt], 2)
	got, err = st.Series(ctx, []indicator.SeriesKey{pt}, []indicator.ObservationKind{indicator.KindTarget, indicator.KindChange})
	require.NoError(t, err)
	require.Len(t, got[pt], 3)

	// Over it is TOO_LARGE, with a message for clients.
	_, err = st.Series(ctx, []indicator.SeriesKey{pt}, nil)
	require.ErrorIs(t, err, indicator.ErrTooLarge)
	require.Equal(t, indicator.CodeTooLarge, indicator.CodeOf(err))
	require.EqualError(t, err, "the answer has more than 3 rows: narrow the request")

	_, err = st.Series(ctx, []indicator.SeriesKey{mt, pt}, []indicator.ObservationKind{indicator.KindActual})
	require.ErrorIs(t, err, indicator.ErrTooLarge)

	_, _, err = st.Observations(ctx, indicator.ObservationQuery{Page: indicator.Page{First: 10}})
	require.ErrorIs(t, err, indicator.ErrTooLarge)
	page, _, err := st.Observations(ctx, indicator.ObservationQuery{Page: indicator.Page{First: 2}})
	require.NoError(t, err)
	require.Len(t, page, 2)

	_, err = st.Descendants(ctx, []string{"vn"}, "", nil)
	require.ErrorIs(t, err, indicator.ErrTooLarge)
	d, err := st.Descendants(ctx, []string{"vn.lc.pt"}, "", nil)
	require.NoError(t, err)
	require.Equal(t, []string{"vn.lc.pt.ms", "vn.lc.pt.sh", "vn.lc.pt.ms.cc"}, codes(d["vn.lc.pt"]))

	ui, err := st.UnitIndicators(ctx, []string{"vn.lc.pt"})
	require.NoError(t, err)
	require.Len(t, ui["vn.lc.pt"], 3)
	_, err = st.UnitIndicators(ctx, []string{"vn.lc.pt", "vn.lc.mt"})
	require.ErrorIs(t, err, indicator.ErrTooLarge)

	t.Run("engine", testEngineMaxRows)
}

func TestCancelledContext(t *testing.T) {
	st, _ := setup(t, store.Options{})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	key := []indicator.SeriesKey{{Unit: "vn.lc.pt", Indicator: "poverty_rate"}}

	queries := map[string]func(ctx context.Context) error{
		"series": func(ctx context.Context) error { _, err := st.Series(ctx, key, nil); return err },
		"observations": func(ctx context.Context) error {
			_, _, err := st.Observations(ctx, indicator.ObservationQuery{Page: indicator.Page{First: 10}})
			return err
		},
		"coverage":        func(ctx context.Context) error { _, err := st.Coverage(ctx, []string{"population"}); return err },
		"unit indicators": func(ctx context.Context) error { _, err := st.UnitIndicators(ctx, []string{"vn.lc.pt"}); return err },
		"unit search": func(ctx context.Context) error {
			_, _, err := st.ListUnits(ctx, indicator.UnitQuery{Search: "phong tho", Page: indicator.Page{First: 10}})
			return err
		},
		"indicator search": func(ctx context.Context) error {
			_, _, err := st.ListIndicators(ctx, indicator.IndicatorQuery{Search: "ho ngheo", Page: indicator.Page{First: 10}})
			return err
		},
	}
	for name, q := range queries {
		t.Run(name, func(t *testing.T) {
			err := q(cancelled)
			require.Error(t, err)
			require.Contains(t, []indicator.Code{indicator.CodeTimeout, indicator.CodeUnavailable}, indicator.CodeOf(err), "%v", err)
			require.ErrorIs(t, err, context.Canceled)

			err = q(expired)
			require.Error(t, err)
			require.Equal(t, indicator.CodeTimeout, indicator.CodeOf(err), "%v", err)
			require.ErrorIs(t, err, indicator.ErrTimeout)

			// The store is unharmed.
			require.NoError(t, q(context.Background()))
		})
	}
	t.Run("engine", testEngineCancelledContext)
}

func TestDimensions(t *testing.T) {
	ctx := context.Background()
	st, _ := setup(t, store.Options{})
	anc, err := st.Ancestors(ctx, []string{"vn.lc.pt.ms.cc", "vn", "nowhere"})
	require.NoError(t, err)
	require.Equal(t, []string{"vn", "vn.lc", "vn.lc.pt", "vn.lc.pt.ms"}, codes(anc["vn.lc.pt.ms.cc"]))
	require.Empty(t, anc["vn"])
	require.Empty(t, anc["nowhere"])

	kids, err := st.Children(ctx, []string{"vn", "vn.lc.pt", "vn.lc.pt.ms.cc"}, "", nil)
	require.NoError(t, err)
	require.Equal(t, []string{"vn.lc", "vn.nw"}, codes(kids["vn"]))
	require.Equal(t, []string{"vn.lc.pt.ms", "vn.lc.pt.sh"}, codes(kids["vn.lc.pt"]))
	require.NotNil(t, kids["vn.lc.pt.ms.cc"])
	require.Empty(t, kids["vn.lc.pt.ms.cc"])

	desc, err := st.Descendants(ctx, []string{"vn.lc"}, indicator.LevelCommune, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"vn.lc.mt.mt", "vn.lc.pt.ms", "vn.lc.pt.sh"}, codes(desc["vn.lc"]))

	ui, err := st.UnitIndicators(ctx, []string{"vn.lc.pt", "vn.lc.th"})
	require.NoError(t, err)
	require.Equal(t, []string{"households_poor", "population", "poverty_rate"}, ui["vn.lc.pt"])
	require.Equal(t, []string{}, ui["vn.lc.th"])

	inds, _, err := st.ListIndicators(ctx, indicator.IndicatorQuery{HasDataFor: "vn.lc.mt", Page: indicator.Page{First: 10}})
	require.NoError(t, err)
	require.Len(t, inds, 2)
	inds, info, err := st.ListIndicators(ctx, indicator.IndicatorQuery{Theme: "poverty", Page: indicator.Page{First: 1}})
	require.NoError(t, err)
	require.Equal(t, 2, info.TotalCount)
	require.True(t, info.HasNextPage)
	require.Equal(t, "households_poor", inds[0].Code)
}

// TestConcurrentReads: requests pinned while loads swap snapshots each
// see one consistent dataset. Run with -race.
func TestConcurrentReads(t *testing.T) {
	ctx := context.Background()
	st, ld := setup(t, store.Options{})
	// Two datasets with different observation counts.
	extra := baseFixture().with("observations", obsHeader+obsRows+"vn.lc.th,population,2024,actual,42000,,,,,doc1,50,,\n")
	dirs := []loader.Dir{baseFixture().write(t), extra.write(t)}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				pctx, release := st.Pin(ctx)
				info, err := st.Dataset(pctx)
				if err == nil {
					var pi indicator.PageInfo
					_, pi, err = st.Observations(pctx, indicator.ObservationQuery{Page: indicator.Page{First: 5}})
					if err == nil && pi.TotalCount != info.Observations {
						err = fmt.Errorf("worker %d: snapshot of %d observations counted %d", w, info.Observations, pi.TotalCount)
					}
				}
				if err == nil {
					var got map[indicator.SeriesKey][]indicator.Observation
					k := indicator.SeriesKey{Unit: "vn.lc.th", Indicator: "population"}
					got, err = st.Series(pctx, []indicator.SeriesKey{k}, nil)
					if err == nil && (len(got[k]) == 1) != (info.Observations == nObservations+1) {
						err = fmt.Errorf("worker %d: series does not match the pinned dataset", w)
					}
				}
				release()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range 6 {
		_, err := ld.Load(ctx, dirs[i%2])
		require.NoError(t, err)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	info, err := st.Dataset(ctx)
	require.NoError(t, err)
	require.Equal(t, nObservations+1, info.Observations, "the last load was the extra dataset")
}

// TestCloseWhilePinned: closing the store retires the snapshot but a
// pinned request finishes on it.
func TestCloseWhilePinned(t *testing.T) {
	ctx := context.Background()
	st, _ := setup(t, store.Options{})
	pctx, release := st.Pin(ctx)
	require.NoError(t, st.Close())
	_, err := st.Dataset(ctx)
	require.ErrorIs(t, err, indicator.ErrUnavailable)
	info, err := st.Dataset(pctx)
	require.NoError(t, err)
	require.Equal(t, nObservations, info.Observations)
	page, _, err := st.Observations(pctx, indicator.ObservationQuery{Page: indicator.Page{First: 100}})
	require.NoError(t, err)
	require.Len(t, page, nObservations)
	release()
	// Using the context after release is a caller's bug; it must not panic.
	require.NotPanics(t, func() {
		_, _, err = st.Observations(pctx, indicator.ObservationQuery{Page: indicator.Page{First: 100}})
	})
	t.Logf("query after release: %v", err)
}

// TestPhysicalOrder loads enough shuffled rows for DuckDB to sort them in
// parallel, and checks what the queries rely on: ids run 1..n in the order
// (indicator, level, unit, period), with each row's level_rank its
// unit's, and every group has exactly one canonical row, the preferred
// one (the latest statement: here the source with the later date).
func TestPhysicalOrder(t *testing.T) {
	ctx := context.Background()
	const communes = 400 // 240,600 rows: more than one row group
	units := unitsCSV
	for c := 0; c < communes; c++ {
		units += fmt.Sprintf("vn.lc.pt.c%03d,Xã %d,,commune,vn.lc.pt,,2025-06-30\n", c, c)
	}
	var rows []string
	// A district whose code sorts after the communes': by level, its rows
	// still come first.
	for _, ind := range []string{"population", "households_total", "households_poor"} {
		for y := 1900; y < 2100; y++ {
			rows = append(rows, fmt.Sprintf("vn.lc.th,%s,%d,actual,%d,,,,,doc2,%d,,", ind, y, y, y-1899))
		}
	}
	for c := 0; c < communes; c++ {
		for _, ind := range []string{"population", "households_total", "households_poor"} {
			for y := 1900; y < 2100; y++ {
				rows = append(rows, fmt.Sprintf("vn.lc.pt.c%03d,%s,%d,actual,%d,,,,,doc2,%d,,", c, ind, y, y, y-1899))
				if y%50 == 0 { // a second, more recent source for the same figure
					rows = append(rows, fmt.Sprintf("vn.lc.pt.c%03d,%s,%d,actual,%d,,,,,doc1,%d,,", c, ind, y, y+1, y-1899))
				}
			}
		}
	}
	// A deterministic shuffle, so the input is far from the served order.
	for i := range rows {
		j := (i*7919 + 13) % len(rows)
		rows[i], rows[j] = rows[j], rows[i]
	}
	st := store.New(store.Options{})
	t.Cleanup(func() { st.Close() })
	ld := loader.New(st, loader.Options{})
	fix := baseFixture().with("units", units).with("observations", obsHeader+strings.Join(rows, "\n")+"\n")
	_, err := ld.Load(ctx, fix.write(t))
	require.NoError(t, err)
	n := int64(len(rows))

	got, err := st.RawQuery(ctx, `SELECT count(*), min(id), max(id), count(DISTINCT id) FROM observations`)
	require.NoError(t, err)
	require.Equal(t, []any{n, int64(1), n, n}, got[0])
	got, err = st.RawQuery(ctx, `SELECT count(*) FROM (
		SELECT (indicator, level_rank, unit, period_start) AS k, lag((indicator, level_rank, unit, period_start)) OVER (ORDER BY id) AS pk
		FROM observations) WHERE pk > k`)
	require.NoError(t, err)
	require.Equal(t, int64(0), got[0][0], "rows out of (indicator, level, unit, period) order")
	got, err = st.RawQuery(ctx, `SELECT count(*) FILTER (WHERE o.level_rank <> u.level_rank), count(*) FILTER (WHERE u.level = 'district'),
		min(o.id) FILTER (WHERE u.level = 'district' AND o.indicator = 'population') < min(o.id) FILTER (WHERE u.level = 'commune' AND o.indicator = 'population')
		FROM observations o JOIN units u ON u.code = o.unit`)
	require.NoError(t, err)
	require.Equal(t, []any{int64(0), int64(600), true}, got[0], "rows whose level_rank is not their unit's; district rows; district before communes")

	got, err = st.RawQuery(ctx, `SELECT count(*) FILTER (WHERE c <> 1), count(*) FILTER (WHERE n > 1) FROM (
		SELECT count(*) FILTER (WHERE canonical) AS c, count(*) AS n FROM observations GROUP BY unit, indicator, period, kind, basis)`)
	require.NoError(t, err)
	require.Equal(t, []any{int64(0), int64(communes * 3 * 4)}, got[0], "groups without exactly one canonical row; groups with two rows")
	got, err = st.RawQuery(ctx, `SELECT count(*) FROM observations WHERE canonical AND period IN ('1900', '1950', '2000', '2050') AND unit <> 'vn.lc.th' AND source <> 'doc1'`)
	require.NoError(t, err)
	require.Equal(t, int64(0), got[0][0], "the more recent source should be canonical")

	// Pages of the observations table read rows in the table's order
	// without sorting them (see compactSQL): walking every page gives the
	// matching ids in ascending order, the same as sorting them, whether
	// the filter is one value, a list, or a long unit list (a join).
	y2000, err := indicator.ParsePeriod("2000")
	require.NoError(t, err)
	var many []string
	for c := 0; c < 100; c++ {
		many = append(many, fmt.Sprintf("vn.lc.pt.c%03d", c*3))
	}
	for _, tc := range []struct {
		name  string
		q     indicator.ObservationQuery
		where string
	}{
		{"one indicator", indicator.ObservationQuery{Indicators: []string{"households_total"}}, `indicator = 'households_total'`},
		{"two indicators, one kind", indicator.ObservationQuery{Indicators: []string{"population", "households_poor"}, Kinds: []indicator.ObservationKind{indicator.KindActual}},
			`indicator IN ('population', 'households_poor') AND kind = 'actual'`},
		{"a source from a year", indicator.ObservationQuery{Sources: []string{"doc1"}, From: &y2000},
			`source = 'doc1' AND period_start >= DATE '2000-01-01'`},
		{"a long unit list", indicator.ObservationQuery{Units: many, Indicators: []string{"population"}},
			`indicator = 'population' AND unit IN (SELECT unnest(?::VARCHAR[]))`},
	} {
		var args []any
		if strings.Contains(tc.where, "?") {
			args = append(args, many)
		}
		want, err := st.RawQuery(ctx, `SELECT id FROM observations WHERE `+tc.where+` ORDER BY id`, args...)
		require.NoError(t, err, tc.name)
		require.NotEmpty(t, want, tc.name)
		var ids []any
		q := tc.q
		q.First = 7000
		for {
			page, info, err := st.Observations(ctx, q)
			require.NoError(t, err, tc.name)
			require.Equal(t, len(want), info.TotalCount, tc.name)
			for _, o := range page {
				ids = append(ids, o.ID)
			}
			if !info.HasNextPage {
				break
			}
			q.After = info.EndCursor
		}
		require.Equal(t, len(want), len(ids), tc.name)
		for i := range want {
			require.Equal(t, want[i][0], ids[i], "%s: row %d", tc.name, i)
		}
	}
}

// TestRollupSkip: leaving out what a request does not read changes nothing
// else: values and coverage are the same, and gaps too unless they are
// left out as well.
func TestRollupSkip(t *testing.T) {
	ctx := context.Background()
	db, _ := setup(t, store.Options{})
	st := engine.New(db, engine.Options{})
	for _, q := range []indicator.RollupQuery{
		// Districts from their communes: children without data.
		{Indicator: "households_total", Parents: indicator.UnitSet{ChildrenOf: "vn.lc"}},
		// Phong Thổ from its villages: the district reports its own value.
		{Indicator: "population", Parents: indicator.UnitSet{Codes: []string{"vn.lc.pt"}}, ChildLevel: indicator.LevelVillage},
	} {
		full, err := st.Rollup(ctx, q)
		require.NoError(t, err)
		for _, gap := range []bool{false, true} {
			q.Skip = indicator.RollupSkip{Inputs: true, Missing: true, Reported: true, Gap: gap}
			lean, err := st.Rollup(ctx, q)
			require.NoError(t, err)
			require.Len(t, lean, len(full))
			inputs, missing, gaps := 0, 0, 0
			for i := range full {
				f, l := full[i], lean[i]
				inputs += len(f.Inputs)
				missing += len(f.Missing)
				require.Empty(t, l.Inputs)
				require.Empty(t, l.Missing)
				require.Nil(t, l.Reported)
				f.Inputs, f.Missing, f.Reported = l.Inputs, l.Missing, nil
				if f.Gap != nil {
					gaps++
				}
				if gap {
					require.Nil(t, l.Gap)
					require.Nil(t, l.GapRelative)
					f.Gap, f.GapRelative = nil, nil
				}
				require.Equal(t, f, l)
			}
			require.Positive(t, inputs, "%s: the full rollup should list its inputs", q.Indicator)
			if q.ChildLevel == "" {
				require.Positive(t, missing, "the full rollup should list children without data")
			} else {
				require.Positive(t, gaps, "Phong Thổ reports its own population: the full rollup should have a gap")
			}
		}
	}
}

// TestCompareSkipEarliestObservation: without the earliest observation,
// a change keeps everything it computed and the observation's id.
func TestCompareSkipEarliestObservation(t *testing.T) {
	ctx := context.Background()
	db, _ := setup(t, store.Options{})
	st := engine.New(db, engine.Options{})
	q := indicator.CompareQuery{Indicators: []string{"poverty_rate"}, Units: indicator.UnitSet{Codes: []string{"vn.lc.pt", "vn.lc.mt"}}}
	full, err := st.Compare(ctx, q)
	require.NoError(t, err)
	q.Skip.EarliestObservation = true
	lean, err := st.Compare(ctx, q)
	require.NoError(t, err)
	require.Len(t, lean.Rows, len(full.Rows))
	changes := 0
	for i := range full.Rows {
		f, l := full.Rows[i], lean.Rows[i]
		require.Equal(t, f.Obs, l.Obs)
		if f.Earliest == nil {
			require.Nil(t, l.Earliest)
			continue
		}
		changes++
		require.Equal(t, f.Earliest.From.ID, l.Earliest.From.ID)
		require.Empty(t, l.Earliest.From.Period.Label)
		fc, lc := *f.Earliest, *l.Earliest
		fc.From, lc.From = indicator.Observation{}, indicator.Observation{}
		require.Equal(t, fc, lc)
	}
	require.Positive(t, changes, "the fixture should have a change since earliest")
}

// engineSides loads f into a store answering from its point index and
// into one answering from DuckDB, each with the engine over it, both
// capped at maxRows (as main.go configures them: the same cap for the
// store's statements and the engine's reads; 0 is the default).
func engineSides(t *testing.T, f fixture, maxRows int) map[string]*engine.Engine {
	t.Helper()
	ctx := context.Background()
	dir := f.write(t)
	out := map[string]*engine.Engine{}
	for name, opts := range map[string]store.Options{"index": {MaxRows: maxRows, PointsMax: 1 << 30}, "duckdb": {MaxRows: maxRows}} {
		st := store.New(opts)
		t.Cleanup(func() { st.Close() })
		_, err := loader.New(st, loader.Options{}).Load(ctx, dir)
		require.NoError(t, err)
		ready, err := st.WaitPointIndex(ctx)
		require.NoError(t, err)
		require.Equal(t, name == "index", ready)
		out[name] = engine.New(st, engine.Options{MaxRows: maxRows})
	}
	return out
}

// partsFixture is the fixture with population broken down by sex, so
// that a reconciliation has parts to add.
func partsFixture() fixture {
	var inds []string
	for i, line := range strings.Split(strings.TrimSuffix(indicatorsCSV, "\n"), "\n") {
		k := strings.LastIndex(line, ",")
		if i == 0 {
			line = line[:k] + ",breakdown" + line[k:]
		} else {
			line = line[:k] + "," + line[k:]
		}
		inds = append(inds, line)
	}
	inds = append(inds, "pop_male,Nam,Male,people,1,population,neutral,male,SUM,population,sex,",
		"pop_female,Nữ,Female,people,1,population,neutral,female,SUM,population,sex,")
	return baseFixture().with("indicators", strings.Join(inds, "\n")+"\n").with("observations", obsHeader+obsRows+
		"vn.lc.pt,pop_male,2024,actual,42000,,,,,doc1,60,,\nvn.lc.pt,pop_female,2024,actual,43327,,,,,doc1,61,,\n")
}

// analytics asks every analytic one question of the fixture, each
// reading more than 3 rows.
func analytics() map[string]func(context.Context, *engine.Engine) error {
	y := func(label string) *indicator.Period {
		p, err := indicator.ParsePeriod(label)
		if err != nil {
			panic(err)
		}
		return &p
	}
	districts := indicator.UnitSet{ChildrenOf: "vn.lc"}
	return map[string]func(context.Context, *engine.Engine) error{
		"compare": func(ctx context.Context, e *engine.Engine) error {
			_, err := e.Compare(ctx, indicator.CompareQuery{Indicators: []string{"poverty_rate"}, Units: districts})
			return err
		},
		"trend": func(ctx context.Context, e *engine.Engine) error {
			_, err := e.Trend(ctx, indicator.TrendQuery{Unit: "vn.lc.pt", Indicator: "poverty_rate"})
			return err
		},
		"change": func(ctx context.Context, e *engine.Engine) error {
			_, err := e.ChangeBetween(ctx, indicator.TrendQuery{Unit: "vn.lc.pt", Indicator: "poverty_rate", From: y("2019"), To: y("2024")})
			return err
		},
		"rollup": func(ctx context.Context, e *engine.Engine) error {
			_, err := e.Rollup(ctx, indicator.RollupQuery{Indicator: "population", Parents: indicator.UnitSet{Codes: []string{"vn.lc"}}})
			return err
		},
		"rollup over time": func(ctx context.Context, e *engine.Engine) error {
			_, err := e.Rollup(ctx, indicator.RollupQuery{Indicator: "population", Parents: indicator.UnitSet{Codes: []string{"vn.lc.pt"}}, Over: y("2016-2020")})
			return err
		},
		"progress": func(ctx context.Context, e *engine.Engine) error {
			_, err := e.Progress(ctx, indicator.ProgressQuery{Units: []string{"vn.lc.pt"}})
			return err
		},
		"reconcile": func(ctx context.Context, e *engine.Engine) error {
			_, err := e.Reconcile(ctx, indicator.ReconcileQuery{Total: "population"})
			return err
		},
		"matrix": func(ctx context.Context, e *engine.Engine) error {
			_, err := e.Matrix(ctx, indicator.MatrixQuery{Indicators: []string{"population"}, Units: districts})
			return err
		},
		"matrix by indicator": func(ctx context.Context, e *engine.Engine) error {
			_, err := e.Matrix(ctx, indicator.MatrixQuery{Indicators: []string{"poverty_rate", "population"}, Units: districts, ByIndicator: true})
			return err
		},
	}
}

// testEngineMaxRows (TestMaxRows): whichever source answers, an analytic
// reading more rows than the cap is TOO_LARGE, and one within it is
// answered.
func testEngineMaxRows(t *testing.T) {
	ctx := context.Background()
	for name, e := range engineSides(t, partsFixture(), 3) {
		t.Run(name, func(t *testing.T) {
			for q, ask := range analytics() {
				err := ask(ctx, e)
				require.ErrorIs(t, err, indicator.ErrTooLarge, q)
				require.Equal(t, indicator.CodeTooLarge, indicator.CodeOf(err), q)
			}
			c, err := e.Compare(ctx, indicator.CompareQuery{Indicators: []string{"households_total"}, Units: indicator.UnitSet{ChildrenOf: "vn.lc.pt"}})
			require.NoError(t, err, "one row is within the cap")
			require.Equal(t, 2, c.UnitsInSet)
			require.NotNil(t, c.Rows[0].Obs)
			_, err = e.Trend(ctx, indicator.TrendQuery{Unit: "vn.lc.mt", Indicator: "poverty_rate"})
			require.NoError(t, err)
		})
	}
	// Without the cap every question is answered.
	for name, e := range engineSides(t, partsFixture(), 0) {
		for q, ask := range analytics() {
			require.NoError(t, ask(ctx, e), "%s: %s", name, q)
		}
	}
}

// testEngineCancelledContext (TestCancelledContext): whichever source
// answers, every analytic asked with a cancelled or expired context fails
// with the context's error, and the engine is unharmed.
func testEngineCancelledContext(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	qs := analytics()
	qs["latest"] = func(ctx context.Context, e *engine.Engine) error {
		_, err := e.Latest(ctx, []indicator.SeriesKey{{Unit: "vn.lc.pt", Indicator: "poverty_rate"}}, "")
		return err
	}
	for name, e := range engineSides(t, partsFixture(), 0) {
		t.Run(name, func(t *testing.T) {
			for q, ask := range qs {
				err := ask(cancelled, e)
				require.Error(t, err, q)
				require.Contains(t, []indicator.Code{indicator.CodeTimeout, indicator.CodeUnavailable}, indicator.CodeOf(err), "%s: %v", q, err)
				require.ErrorIs(t, err, context.Canceled, q)
				err = ask(expired, e)
				require.Error(t, err, q)
				require.Equal(t, indicator.CodeTimeout, indicator.CodeOf(err), "%s: %v", q, err)
				require.ErrorIs(t, err, indicator.ErrTimeout, q)
				require.NoError(t, ask(context.Background(), e), q)
			}
		})
	}
}
