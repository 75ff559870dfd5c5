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

// preparedStores loads a synthetic dataset of the named size into two
// stores without a point index (every read is a DuckDB statement): one
// preparing its read statements (the default), one running them
// unprepared.
func preparedStores(t testing.TB, size string) (prepared, unprepared *store.Store) {
	t.Helper()
	spec, err := synth.Size(size)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), size)
	ctx := context.Background()
	_, err = synth.Write(ctx, dir, spec, synth.Parquet)
	require.NoError(t, err)
	prepared, unprepared = store.New(store.Options{}), store.New(store.Options{})
	store.Unprepared(unprepared)
	for _, st := range []*store.Store{prepared, unprepared} {
		t.Cleanup(func() { st.Close() })
		_, err := loader.New(st, loader.Options{}).Load(ctx, loader.OSDir(dir))
		require.NoError(t, err)
	}
	return prepared, unprepared
}

// column lists one column of a small query on st, as text.
func firstColumn(t testing.TB, st *store.Store, q string) []string {
	t.Helper()
	rows, err := st.RawQuery(context.Background(), q)
	require.NoError(t, err)
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r[0].(string)
	}
	return out
}

func allRows(t testing.TB, st *store.Store, q engine.RowQuery) []engine.Row {
	t.Helper()
	var out []engine.Row
	require.NoError(t, st.Rows(context.Background(), q, func(rows []engine.Row) error {
		out = append(out, rows...)
		return nil
	}))
	return out
}

// TestPreparedStatementsAnswerAsUnprepared runs every read statement the
// store prepares, each text with changing arguments (empty lists first,
// where its shape takes a list, then lists of one and many codes, known
// and unknown, then empty again), on a store that prepares them and on
// one that does not, and requires the same answers. It is the guard for
// the DuckDB defect of TestPreparedListInUnevaluatedBranch: a prepared
// statement that answers from its first execution's shape fails here.
func TestPreparedStatementsAnswerAsUnprepared(t *testing.T) {
	prep, plain := preparedStores(t, "XS")
	ctx := context.Background()
	districts := firstColumn(t, prep, `SELECT code FROM units WHERE level = 'district' ORDER BY code`)
	communes := firstColumn(t, prep, `SELECT code FROM units WHERE level = 'commune' ORDER BY code`)
	inds := firstColumn(t, prep, `SELECT code FROM indicators ORDER BY code`)
	require.NotEmpty(t, districts)
	require.Greater(t, len(communes), 70)
	require.Greater(t, len(inds), 3)
	unitLists := [][]string{{}, {districts[0]}, districts, {"no.such.unit"}, append([]string{communes[5]}, districts[1:3]...), communes[:70], {}}
	indLists := [][]string{nil, {inds[0]}, {inds[1]}, {inds[2], inds[0]}, {"no_such_indicator"}}
	kinds := []indicator.ObservationKind{"", indicator.KindActual, indicator.KindTarget}

	// Engine rows: one text per shape, its unit list a parameter.
	n := 0
	for _, units := range unitLists {
		for _, is := range indLists {
			for _, k := range kinds {
				q := engine.RowQuery{Units: units, Indicators: is, Kind: k, Canonical: n%2 == 0}
				n++
				require.Equal(t, allRows(t, plain, q), allRows(t, prep, q), "rows of %+v", q)
			}
		}
	}

	// Series: one key (equalities) and batches (lists), with and without kinds.
	keyLists := [][]indicator.SeriesKey{
		{{Unit: districts[0], Indicator: inds[0]}},
		{{Unit: districts[1], Indicator: inds[1]}},
		{{Unit: "no.such.unit", Indicator: inds[0]}},
		{{Unit: districts[0], Indicator: inds[0]}, {Unit: communes[0], Indicator: inds[0]}},
		{{Unit: districts[2], Indicator: inds[1]}, {Unit: communes[3], Indicator: inds[2]}},
	}
	for _, keys := range keyLists {
		for _, ks := range [][]indicator.ObservationKind{nil, {indicator.KindActual}, {indicator.KindTarget}, {indicator.KindActual, indicator.KindTarget}} {
			want, err := plain.Series(ctx, keys, ks)
			require.NoError(t, err)
			got, err := prep.Series(ctx, keys, ks)
			require.NoError(t, err)
			require.Equal(t, want, got, "series %v %v", keys, ks)
		}
	}

	// Pages of the observations table: each filter absent, one value
	// (an equality) and several (a range and a list), pages after pages.
	pageQueries := []indicator.ObservationQuery{
		{Page: indicator.Page{First: 20}},
		{Indicators: []string{inds[0]}, Page: indicator.Page{First: 20}},
		{Indicators: []string{inds[1]}, Page: indicator.Page{First: 5}},
		{Indicators: []string{inds[0], inds[2]}, Units: districts[:3], Page: indicator.Page{First: 20}},
		{Indicators: []string{inds[1], inds[2]}, Units: districts[2:4], Page: indicator.Page{First: 7}},
		{Units: communes[:70], Page: indicator.Page{First: 30}},
		{Units: communes[5:75], Page: indicator.Page{First: 30}},
		{Kinds: []indicator.ObservationKind{indicator.KindTarget}, Page: indicator.Page{First: 10}},
		{Kinds: []indicator.ObservationKind{indicator.KindTarget, indicator.KindActual}, Indicators: []string{inds[0]}, Page: indicator.Page{First: 10}},
		{Units: []string{"no.such.unit", districts[0]}, Page: indicator.Page{First: 10}},
	}
	var ids []int64
	for _, q := range pageQueries {
		for range 3 {
			want, wantInfo, err := plain.Observations(ctx, q)
			require.NoError(t, err)
			got, gotInfo, err := prep.Observations(ctx, q)
			require.NoError(t, err)
			require.Equal(t, want, got, "page %+v", q)
			require.Equal(t, wantInfo, gotInfo, "page info %+v", q)
			for _, o := range got {
				ids = append(ids, o.ID)
			}
			if !gotInfo.HasNextPage {
				break
			}
			q.After = gotInfo.EndCursor
		}
	}
	require.Greater(t, len(ids), 50)

	// By id, alternatives, a unit's indicators, coverage: lists of
	// changing length, empty first.
	idLists := [][]int64{{}, ids[:1], ids[3:40], {ids[7], ids[2], 1 << 40}, ids[10:11], {}}
	for _, l := range idLists {
		want, err := plain.ObservationsByID(ctx, l)
		require.NoError(t, err)
		got, err := prep.ObservationsByID(ctx, l)
		require.NoError(t, err)
		require.Equal(t, want, got, "by id %v", l)
		wantAlt, err := plain.Alternatives(ctx, l)
		require.NoError(t, err)
		gotAlt, err := prep.Alternatives(ctx, l)
		require.NoError(t, err)
		require.Equal(t, wantAlt, gotAlt, "alternatives %v", l)
	}
	for _, units := range unitLists {
		want, err := plain.UnitIndicators(ctx, units)
		require.NoError(t, err)
		got, err := prep.UnitIndicators(ctx, units)
		require.NoError(t, err)
		require.Equal(t, want, got, "unit indicators %v", units)
	}
	for _, is := range append(indLists[1:], inds) {
		want, err := plain.Coverage(ctx, is)
		require.NoError(t, err)
		got, err := prep.Coverage(ctx, is)
		require.NoError(t, err)
		require.Equal(t, want, got, "coverage %v", is)
	}
}

// BenchmarkReads times the store's hot read statements (no point index:
// how L, served on disk, is answered), prepared and unprepared. The size
// is CHISO_BENCH_SIZE (default XS): go test ./store -run ^$ -bench Reads.
func BenchmarkReads(b *testing.B) {
	size := os.Getenv("CHISO_BENCH_SIZE")
	if size == "" {
		size = "XS"
	}
	prep, plain := preparedStores(b, size)
	ctx := context.Background()
	districts := firstColumn(b, prep, `SELECT code FROM units WHERE level = 'district' ORDER BY code`)
	inds := firstColumn(b, prep, `SELECT code FROM indicators ORDER BY code`)
	reads := []struct {
		name string
		run  func(st *store.Store, i int) error
	}{
		{"series", func(st *store.Store, i int) error {
			_, err := st.Series(ctx, []indicator.SeriesKey{{Unit: districts[i%len(districts)], Indicator: inds[i%len(inds)]}}, nil)
			return err
		}},
		{"rows-districts", func(st *store.Store, i int) error {
			return st.Rows(ctx, engine.RowQuery{Units: districts, Indicators: []string{inds[i%len(inds)]}, Kind: indicator.KindActual, Canonical: true},
				func([]engine.Row) error { return nil })
		}},
		{"page", func(st *store.Store, i int) error {
			_, _, err := st.Observations(ctx, indicator.ObservationQuery{Indicators: []string{inds[i%len(inds)]}, Page: indicator.Page{First: 100}})
			return err
		}},
		{"by-id", func(st *store.Store, i int) error {
			_, err := st.ObservationsByID(ctx, []int64{int64(1 + i%1000), int64(2000 + i%1000)})
			return err
		}},
	}
	for _, r := range reads {
		for _, side := range []struct {
			name string
			st   *store.Store
		}{{"prepared", prep}, {"unprepared", plain}} {
			b.Run(r.name+"/"+side.name, func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					if err := r.run(side.st, i); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
