package loader_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"chiso/engine"
	"chiso/indicator"
	"chiso/loader"
	"chiso/store"
)

// The fixture: a small dataset with every period form, kinds, qualifiers,
// flags, a denominator and an observation without a line.
const (
	sourcesCSV = `id,title,issuer,number,date,kind
doc1,Báo cáo chính trị huyện Phong Thổ,Ban Chỉ đạo,73/BC-BCĐ,2024-05-27,report
doc2,Kế hoạch Mường Tè,UBND huyện Mường Tè,/KH-UBND,2022-06,plan
`
	unitsCSV = `code,name_vi,name_en,level,parent,valid_from,valid_to
vn,Việt Nam,Viet Nam,country,,,
vn.lc,Lai Châu,Lai Chau Province,province,vn,,
vn.lc.pt,Phong Thổ,Phong Tho District,district,vn.lc,,2025-06-30
vn.lc.mt,Mường Tè,Muong Te District,district,vn.lc,2004-10-07,2025-06-30
vn.lc.pt.ms,Mường So,,commune,vn.lc.pt,,2025-06-30
vn.lc.pt.ms.cc,Căn Câu,Can Cau Village,village,vn.lc.pt.ms,,2025-06-30
`
	indicatorsCSV = `code,name_vi,name_en,measure_unit,scale,theme,direction,group,rollup,total,definition
households_total,Tổng số hộ,Households,households,1,population,neutral,all,SUM,,Number of households.
households_poor,Số hộ nghèo,Poor households,households,1,poverty,lower_better,all,SUM,households_total,Poor households.
poverty_rate,Tỷ lệ hộ nghèo,Poverty rate,%,1,poverty,lower_better,all,"RATIO(households_poor,households_total)",,Share of poor households.
population,Dân số,Population,people,1,population,neutral,all,SUM,,
income_per_capita,Thu nhập bình quân đầu người,Income per capita,VND,1000000,economy,higher_better,all,WEIGHTED_MEAN(population),,
budget_revenue,Thu ngân sách,Budget revenue,VND,1000000000,budget,higher_better,all,SUM,,
`
	obsHeader = "unit,indicator,period,kind,value,denominator,qualifier,flags,methodology,source,line,raw,note\n"
	obsRows   = `vn.lc.pt,poverty_rate,2020,actual,22.43,,,,poverty_2016_2020,doc1,10,"22,43%",
vn.lc.pt,poverty_rate,2021,actual,48.42,,,,poverty_2021_2025,doc1,10,"48,42%",
vn.lc.pt,poverty_rate,2019,actual,25.64,,,footnote,poverty_2016_2020,doc1,10,"25,64%",
vn.lc.pt,poverty_rate,2024,actual,37.93,,,,poverty_2021_2025,doc1,25,"37,93%",stated as the 2024 rate
vn.lc.pt,poverty_rate,2029,target,3,,at_least,,,doc1,12,3%,yearly reduction target
vn.lc.mt,poverty_rate,2021,actual,50.1,,about,estimated;provisional,poverty_2021_2025,doc2,11,"50,1%",
vn.lc.pt,households_poor,2016-2020,change,-1200,,,cumulative,,doc1,13,1.200 hộ,
vn.lc,budget_revenue,SY2023-2024,actual,1029.31,,,,,doc1,14,"1.029,31 tỷ",
vn.lc.pt.ms,households_total,2024,actual,784,1610,,,,doc1,15,784/1610,
vn.lc.pt,population,2024,actual,85327,,,,,doc1,25,85.327 người,
vn.lc.pt,income_per_capita,2024H1,actual,30.5,,over,,,doc1,30,"30,5 triệu đồng",
vn.lc.pt,households_total,2024Q3,actual,21000,,,,,doc2,,,no line
vn.lc.pt,households_total,2024-06,share,12.5,,,,,doc2,40,"12,5%",
vn.lc.pt.ms.cc,population,2024-05-27,actual,412,,,to_date,,doc1,41,412 người,
`
	observationsCSV = obsHeader + obsRows
	nObservations   = 14
)

// fixture is the dataset's tables as CSV text, by table name.
type fixture map[string]string

func baseFixture() fixture {
	return fixture{"sources": sourcesCSV, "units": unitsCSV, "indicators": indicatorsCSV, "observations": observationsCSV}
}

func (f fixture) with(table, text string) fixture {
	g := fixture{}
	for k, v := range f {
		g[k] = v
	}
	g[table] = text
	return g
}

// write writes the fixture into a new folder named name, every table in
// format (csv, parquet, arrow or arrows), and returns the folder.
func (f fixture) write(t testing.TB, name, format string) loader.Dir {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.Mkdir(dir, 0o755))
	for table, text := range f {
		writeTable(t, dir, table, format, text)
	}
	return loader.OSDir(dir)
}

// writeTable writes one table, given as CSV text, as dir/table.format.
// Columnar files type their columns as columnar does, but textCols as utf8.
func writeTable(t testing.TB, dir, table, format, text string, textCols ...string) {
	t.Helper()
	file := filepath.Join(dir, table+"."+format)
	if format == "csv" {
		require.NoError(t, os.WriteFile(file, []byte(text), 0o644))
		return
	}
	require.NoError(t, os.WriteFile(file, columnar(t, format, text, textCols...), 0o644))
}

// columnar renders CSV text as a Parquet file, an Arrow IPC file or an
// Arrow IPC stream: value and denominator as float64, line as int32, the
// rest (and textCols) as utf8, empty fields as nulls, in batches (row
// groups) of 4 rows.
func columnar(t testing.TB, format, text string, textCols ...string) []byte {
	t.Helper()
	r := csv.NewReader(strings.NewReader(text))
	recs, err := r.ReadAll()
	require.NoError(t, err)
	header, rows := recs[0], recs[1:]
	fields := make([]arrow.Field, len(header))
	for i, h := range header {
		var typ arrow.DataType = arrow.BinaryTypes.String
		switch {
		case slices.Contains(textCols, h):
		case h == "value" || h == "denominator":
			typ = arrow.PrimitiveTypes.Float64
		case h == "line":
			typ = arrow.PrimitiveTypes.Int32
		}
		fields[i] = arrow.Field{Name: h, Type: typ, Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	var batches []arrow.RecordBatch
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for start := 0; start == 0 || start < len(rows); start += 4 {
		for _, row := range rows[start:min(start+4, len(rows))] {
			for i, v := range row {
				switch fb := b.Field(i).(type) {
				case *array.StringBuilder:
					if v == "" {
						fb.AppendNull()
					} else {
						fb.Append(v)
					}
				case *array.Float64Builder:
					if v == "" {
						fb.AppendNull()
						continue
					}
					x, err := strconv.ParseFloat(v, 64)
					require.NoError(t, err)
					fb.Append(x)
				case *array.Int32Builder:
					if v == "" {
						fb.AppendNull()
						continue
					}
					x, err := strconv.ParseInt(v, 10, 32)
					require.NoError(t, err)
					fb.Append(int32(x))
				}
			}
		}
		batches = append(batches, b.NewRecordBatch())
	}
	defer func() {
		for _, rec := range batches {
			rec.Release()
		}
	}()
	var buf bytes.Buffer
	switch format {
	case "parquet":
		w, err := pqarrow.NewFileWriter(schema, &buf, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
		require.NoError(t, err)
		for _, rec := range batches {
			require.NoError(t, w.Write(rec)) // one row group per batch
		}
		require.NoError(t, w.Close())
	case "arrow":
		w, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema))
		require.NoError(t, err)
		for _, rec := range batches {
			require.NoError(t, w.Write(rec))
		}
		require.NoError(t, w.Close())
	case "arrows":
		w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
		for _, rec := range batches {
			require.NoError(t, w.Write(rec))
		}
		require.NoError(t, w.Close())
	default:
		t.Fatalf("unknown format %q", format)
	}
	return buf.Bytes()
}

func newStore(t testing.TB, opts store.Options) *store.Store {
	st := store.New(opts)
	t.Cleanup(func() { st.Close() })
	return st
}

// loadError asserts that err is a *loader.LoadError and returns it.
func loadError(t testing.TB, err error) *loader.LoadError {
	t.Helper()
	require.Error(t, err)
	var le *loader.LoadError
	require.ErrorAs(t, err, &le, "%v", err)
	require.ErrorIs(t, err, indicator.ErrInvalid)
	require.Equal(t, indicator.CodeInvalidArgument, indicator.CodeOf(err))
	return le
}

// messages renders each problem of a load error.
func messages(le *loader.LoadError) []string {
	out := make([]string, len(le.Errors))
	for i, e := range le.Errors {
		out[i] = e.Error()
	}
	return out
}

// allKeys lists every (unit, indicator) series of the fixture.
func allKeys() []indicator.SeriesKey {
	seen := map[indicator.SeriesKey]bool{}
	var keys []indicator.SeriesKey
	for _, line := range strings.Split(strings.TrimSpace(obsRows), "\n") {
		f := strings.SplitN(line, ",", 3)
		k := indicator.SeriesKey{Unit: f[0], Indicator: f[1]}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// snapshot is what a loaded dataset serves, for comparing loads.
type snapshot struct {
	Series     map[indicator.SeriesKey][]indicator.Observation
	Units      map[string]indicator.Unit
	Indicators map[string]indicator.Indicator
	Sources    []indicator.Source
}

func served(t testing.TB, ctx context.Context, st *store.Store) snapshot {
	t.Helper()
	series, err := st.Series(ctx, allKeys(), nil)
	require.NoError(t, err)
	units, err := st.Units(ctx, []string{"vn", "vn.lc", "vn.lc.pt", "vn.lc.mt", "vn.lc.pt.ms", "vn.lc.pt.ms.cc"})
	require.NoError(t, err)
	inds, err := st.Indicators(ctx, []string{"households_total", "households_poor", "poverty_rate", "population", "income_per_capita", "budget_revenue"})
	require.NoError(t, err)
	srcs, err := st.ListSources(ctx)
	require.NoError(t, err)
	return snapshot{series, units, inds, srcs}
}

func TestLoadCSV(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, store.Options{})
	dir := baseFixture().write(t, "laichau", "csv")
	info, err := loader.New(st, loader.Options{}).Load(ctx, dir)
	require.NoError(t, err)
	require.Equal(t, 2, info.Sources)
	require.Equal(t, 6, info.Units)
	require.Equal(t, 6, info.Indicators)
	require.Equal(t, nObservations, info.Observations)
	require.Equal(t, []string{dir.Name}, info.Origins)
	require.Len(t, info.Version, 64)
	require.False(t, info.LoadedAt.IsZero())

	got, err := st.Dataset(ctx)
	require.NoError(t, err)
	require.Equal(t, info, got)

	// Units, with folding and validity.
	units, err := st.Units(ctx, []string{"vn.lc.pt", "vn.lc.mt", "vn.lc.pt.ms", "nowhere"})
	require.NoError(t, err)
	require.Len(t, units, 3)
	pt := units["vn.lc.pt"]
	require.Equal(t, "Phong Thổ", pt.NameVI)
	require.Equal(t, "phong tho", pt.NameASCII)
	require.Equal(t, "Phong Tho District", pt.NameEN)
	require.Equal(t, indicator.LevelDistrict, pt.Level)
	require.Equal(t, "vn.lc", pt.Parent)
	require.Nil(t, pt.ValidFrom)
	require.NotNil(t, pt.ValidTo)
	require.Equal(t, "2025-06-30", pt.ValidTo.Format("2006-01-02"))
	require.Equal(t, "2004-10-07", units["vn.lc.mt"].ValidFrom.Format("2006-01-02"))
	require.Equal(t, "", units["vn.lc.pt.ms"].NameEN)

	// Indicators, with rollup rules and defaults.
	inds, err := st.Indicators(ctx, []string{"poverty_rate", "income_per_capita", "budget_revenue", "population"})
	require.NoError(t, err)
	require.Equal(t, indicator.Rule{Kind: indicator.RuleRatio, Numerator: "households_poor", Denominator: "households_total"}, inds["poverty_rate"].Rollup)
	require.Equal(t, indicator.Rule{Kind: indicator.RuleWeightedMean, Weight: "population"}, inds["income_per_capita"].Rollup)
	require.Equal(t, 1e9, inds["budget_revenue"].Scale)
	require.Equal(t, indicator.LowerBetter, inds["poverty_rate"].Direction)
	require.Equal(t, "all", inds["population"].Group)
	require.Equal(t, "dan so", inds["population"].NameASCII)
	parts, err := st.Parts(ctx, []string{"households_total"})
	require.NoError(t, err)
	require.Len(t, parts["households_total"], 1)
	require.Equal(t, "households_poor", parts["households_total"][0].Code)

	// Sources.
	srcs, err := st.Sources(ctx, []string{"doc1", "doc2"})
	require.NoError(t, err)
	require.Equal(t, indicator.Source{ID: "doc2", Title: "Kế hoạch Mường Tè", Issuer: "UBND huyện Mường Tè", Number: "/KH-UBND", Date: "2022-06", Kind: "plan"}, srcs["doc2"])

	// Observations with their provenance, ordered by period.
	series, err := st.Series(ctx, []indicator.SeriesKey{
		{Unit: "vn.lc.pt", Indicator: "poverty_rate"},
		{Unit: "vn.lc.mt", Indicator: "poverty_rate"},
		{Unit: "vn.lc.pt.ms", Indicator: "households_total"},
		{Unit: "vn.lc.pt", Indicator: "households_total"},
	}, nil)
	require.NoError(t, err)
	pr := series[indicator.SeriesKey{Unit: "vn.lc.pt", Indicator: "poverty_rate"}]
	require.Len(t, pr, 5)
	var labels []string
	for _, o := range pr {
		labels = append(labels, o.Period.Label)
	}
	require.Equal(t, []string{"2019", "2020", "2021", "2024", "2029"}, labels)
	o := pr[0]
	require.Equal(t, 25.64, o.Value)
	require.Equal(t, "25,64%", o.Raw)
	require.Equal(t, "doc1", o.Source)
	require.Equal(t, 10, o.Line)
	require.Equal(t, []string{"footnote"}, o.Flags)
	require.Equal(t, "poverty_2016_2020", o.Methodology)
	require.Equal(t, indicator.KindActual, o.Kind)
	require.Equal(t, indicator.PeriodYear, o.Period.Kind)
	require.Nil(t, o.Denominator)
	require.Equal(t, "stated as the 2024 rate", pr[3].Note)
	require.Equal(t, indicator.KindTarget, pr[4].Kind)
	require.Equal(t, "at_least", pr[4].Qualifier)

	mt := series[indicator.SeriesKey{Unit: "vn.lc.mt", Indicator: "poverty_rate"}]
	require.Len(t, mt, 1)
	require.Equal(t, []string{"estimated", "provisional"}, mt[0].Flags)
	require.Equal(t, "about", mt[0].Qualifier)

	ms := series[indicator.SeriesKey{Unit: "vn.lc.pt.ms", Indicator: "households_total"}]
	require.Len(t, ms, 1)
	require.NotNil(t, ms[0].Denominator)
	require.Equal(t, 1610.0, *ms[0].Denominator)
	require.Equal(t, "784/1610", ms[0].Raw)

	ht := series[indicator.SeriesKey{Unit: "vn.lc.pt", Indicator: "households_total"}]
	require.Len(t, ht, 2)
	require.Equal(t, "2024-06", ht[0].Period.Label)
	require.Equal(t, indicator.KindShare, ht[0].Kind)
	require.Equal(t, "2024Q3", ht[1].Period.Label)
	require.Equal(t, 0, ht[1].Line, "an empty line is 0")
	require.Equal(t, "", ht[1].Raw)
	require.Equal(t, "no line", ht[1].Note)
}

// TestLoadFormats loads the fixture written as Parquet, Arrow IPC file and
// Arrow IPC stream, and as a mix, and expects exactly what CSV serves.
func TestLoadFormats(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, store.Options{})
	ld := loader.New(st, loader.Options{})
	_, err := ld.Load(ctx, baseFixture().write(t, "csv", "csv"))
	require.NoError(t, err)
	want := served(t, ctx, st)
	require.Len(t, want.Series, len(allKeys()))

	for _, format := range []string{"parquet", "arrow", "arrows"} {
		t.Run(format, func(t *testing.T) {
			dir := baseFixture().write(t, format, format)
			info, err := ld.Load(ctx, dir)
			require.NoError(t, err)
			require.Equal(t, nObservations, info.Observations)
			require.Equal(t, 6, info.Units)
			require.Equal(t, 6, info.Indicators)
			require.Equal(t, 2, info.Sources)
			require.Equal(t, want, served(t, ctx, st))
		})
	}
	t.Run("mixed", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "mixed")
		require.NoError(t, os.Mkdir(dir, 0o755))
		writeTable(t, dir, "sources", "arrows", sourcesCSV)
		writeTable(t, dir, "units", "parquet", unitsCSV)
		writeTable(t, dir, "indicators", "csv", indicatorsCSV)
		writeTable(t, dir, "observations", "arrow", observationsCSV)
		_, err := ld.Load(ctx, loader.OSDir(dir))
		require.NoError(t, err)
		require.Equal(t, want, served(t, ctx, st))
	})
	t.Run("embedded parquet", func(t *testing.T) {
		// A folder that is not on disk: Parquet is copied out to be read.
		fsys := fstest.MapFS{}
		for table, text := range baseFixture() {
			fsys[table+".parquet"] = &fstest.MapFile{Data: columnar(t, "parquet", text)}
		}
		_, err := ld.Load(ctx, loader.Dir{Name: "embedded:test", FS: fsys})
		require.NoError(t, err)
		require.Equal(t, want, served(t, ctx, st))
	})
}

// TestLoadParquetBadValues checks how problems in a columnar observations
// file are positioned: by 1-based row (across row groups) and column.
func TestLoadParquetBadValues(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, store.Options{})
	ld := loader.New(st, loader.Options{})
	rows := strings.Split(strings.TrimSpace(obsRows), "\n")
	rows[2] = strings.Replace(rows[2], "25.64", "NaN", 1)           // row 3
	rows[5] = strings.Replace(rows[5], "50.1", "+Inf", 1)           // row 6, second row group
	rows[8] = strings.Replace(rows[8], "vn.lc.pt.ms", "nowhere", 1) // row 9, third row group
	rows[10] = strings.Replace(rows[10], "2024H1", "2024H3", 1)     // row 11
	obs := obsHeader + strings.Join(rows, "\n") + "\n"
	fix := baseFixture()
	delete(fix, "observations")
	dirPath := fix.write(t, "bad", "csv").OSPath
	writeTable(t, dirPath, "observations", "parquet", obs)

	_, err := ld.Load(ctx, loader.OSDir(dirPath))
	le := loadError(t, err)
	f := dirPath + "/observations.parquet"
	want := []string{
		f + `: row 3: column 5 "value": expected a finite number with '.' as decimal point, got "nan"`,
		f + `: row 6: column 5 "value": expected a finite number with '.' as decimal point, got "inf"`,
		f + `: row 9: column 1 "unit": expected the code of a unit in units, got "nowhere"`,
		f + `: row 11: column 3 "period": half must be H1 or H2 (expected a period like 2020, 2016-2020, SY2023-2024, 2024-05-27, 2024-06, 2024H1 or 2024Q3), got "2024H3"`,
	}
	require.Equal(t, want, messages(le))
	require.False(t, le.Truncated)
	require.Equal(t, "dataset rejected: 4 problems\n  "+strings.Join(want, "\n  "), err.Error())
	for _, e := range le.Errors {
		require.True(t, e.Columnar)
		require.Equal(t, f, e.File)
	}
	// Nothing was loaded.
	_, err = st.Dataset(ctx)
	require.ErrorIs(t, err, indicator.ErrUnavailable)
}

// TestLoadColumnarDimensionErrors: problems in small columnar tables are
// reported by row and column too.
func TestLoadColumnarDimensionErrors(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, store.Options{})
	ld := loader.New(st, loader.Options{})
	for _, format := range []string{"parquet", "arrow", "arrows"} {
		t.Run(format, func(t *testing.T) {
			units := strings.Replace(unitsCSV, "vn.lc.mt,Mường Tè,Muong Te District,district", "vn.lc.mt,Mường Tè,Muong Te District,planet", 1)
			fix := baseFixture()
			delete(fix, "units")
			dir := fix.write(t, "d", "csv")
			writeTable(t, dir.OSPath, "units", format, units)
			_, err := ld.Load(ctx, dir)
			le := loadError(t, err)
			require.Equal(t, []string{
				dir.OSPath + "/units." + format + `: row 4: column 4 "level": expected one of country, province, district, commune, village, region, got "planet"`,
			}, messages(le))
		})
	}
}

// TestLoadMeasureUnitErrors: an unknown measure unit is refused at its
// measure_unit cell, and a rollup rule whose indicators' dimensions do not
// fit at its rollup cell, in CSV (line:column) and columnar files (row and
// column), and so is a part whose unit does not convert into its total's.
// A rule over an indicator whose own unit is unknown is not reported twice.
func TestLoadMeasureUnitErrors(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, store.Options{})
	ld := loader.New(st, loader.Options{})
	inds := indicatorsCSV
	for _, r := range []struct{ old, new string }{
		// line 3, row 2: poor households are no part of a budget.
		{"SUM,households_total,Poor households.", "SUM,budget_revenue,Poor households."},
		// line 4, row 3: households over billions of VND is no percentage.
		{`"RATIO(households_poor,households_total)"`, `"RATIO(households_poor,budget_revenue)"`},
		// line 5, row 4: no such unit.
		{"population,Dân số,Population,people,", "population,Dân số,Population,furlongs,"},
		// line 6, row 5: a sum of incomes per person.
		{"Income per capita,VND,1000000,economy,higher_better,all,WEIGHTED_MEAN(population)", "Income per capita,VND/person,1000000,economy,higher_better,all,SUM"},
		// line 7, row 6: weighs by population, whose unit is reported on
		// its own row only.
		{"Budget revenue,VND,1000000000,budget,higher_better,all,SUM", "Budget revenue,VND,1000000000,budget,higher_better,all,WEIGHTED_MEAN(population)"},
	} {
		require.Contains(t, inds, r.old)
		inds = strings.Replace(inds, r.old, r.new, 1)
	}
	ratio := `column "rollup": RATIO(households_poor,budget_revenue) of poverty_rate: households_poor (households, households) over budget_revenue (billion VND, money_vnd) is households/money_vnd, but poverty_rate is in % (ratio): want a unit of households/money_vnd such as households/VND`
	unknown := `column "measure_unit": unknown measure unit "furlongs": want one of ha, km2, m2,`
	part := `column "total": a part must measure what its total does: cannot convert households_poor (households, households) into budget_revenue (billion VND, money_vnd): different dimensions`
	sum := `column "rollup": SUM of income_per_capita: income_per_capita (million VND/person, money_vnd/people) does not sum across units: want MEAN, WEIGHTED_MEAN(weight), RATIO(numerator,denominator), LAST or NONE`
	for _, tc := range []struct {
		format string
		at     func(line int) string // the position of a data line (2 = first row)
	}{
		{"csv", func(line int) string { return fmt.Sprintf(":%d:", line) }},
		{"parquet", func(line int) string { return fmt.Sprintf(": row %d:", line-1) }},
		{"arrow", func(line int) string { return fmt.Sprintf(": row %d:", line-1) }},
		{"arrows", func(line int) string { return fmt.Sprintf(": row %d:", line-1) }},
	} {
		t.Run(tc.format, func(t *testing.T) {
			fix := baseFixture()
			delete(fix, "indicators")
			dir := fix.write(t, "d", "csv")
			writeTable(t, dir.OSPath, "indicators", tc.format, inds)
			_, err := ld.Load(ctx, dir)
			le := loadError(t, err)
			got := messages(le)
			require.Len(t, got, 4, "%v", got)
			file := dir.OSPath + "/indicators." + tc.format
			cell := func(line, col int, msg string) string {
				if tc.format == "csv" {
					return file + tc.at(line) + fmt.Sprint(col) + ": " + msg
				}
				return file + tc.at(line) + fmt.Sprintf(" column %d ", col) + msg[len("column "):]
			}
			require.True(t, strings.HasPrefix(got[0], cell(5, 4, unknown)), got[0])
			require.Equal(t, cell(3, 10, part), got[1])
			require.Equal(t, cell(4, 9, ratio), got[2])
			require.Equal(t, cell(6, 9, sum), got[3])
		})
	}
	// Nothing was loaded.
	_, err := st.Dataset(ctx)
	require.ErrorIs(t, err, indicator.ErrUnavailable)
}

func TestLoadNotColumnar(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, store.Options{})
	ld := loader.New(st, loader.Options{})
	for _, format := range []string{"parquet", "arrow"} {
		t.Run(format, func(t *testing.T) {
			fix := baseFixture()
			delete(fix, "observations")
			dir := fix.write(t, "d", "csv")
			require.NoError(t, os.WriteFile(filepath.Join(dir.OSPath, "observations."+format), []byte("unit,indicator\nvn,x\n"), 0o644))
			_, err := ld.Load(ctx, dir)
			le := loadError(t, err)
			require.Len(t, le.Errors, 1)
			require.Equal(t, dir.OSPath+"/observations."+format, le.Errors[0].File)
			require.Contains(t, le.Errors[0].Msg, "not a")
		})
	}
}

func TestLoadUnion(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, store.Options{})
	ld := loader.New(st, loader.Options{})
	a := baseFixture().write(t, "a", "csv")
	// b adds a district under a's province, an indicator, a source and
	// observations that refer to both folders.
	b := fixture{
		"sources":      "id,title\ndoc3,Niên giám thống kê\n",
		"units":        "code,name_vi,name_en,level,parent\nvn.lc.sh,Sìn Hồ,Sin Ho District,district,vn.lc\n",
		"indicators":   "code,name_vi,measure_unit,rollup,total\nforest_cover,Tỷ lệ che phủ rừng,%,NONE,\n",
		"observations": "unit,indicator,period,kind,value,source,line\nvn.lc.sh,forest_cover,2020,actual,45.1,doc3,3\nvn.lc.pt,population,2020,actual,80000,doc3,4\nvn.lc.sh,poverty_rate,2021,actual,40,doc1,5\n",
	}.write(t, "b", "parquet")
	info, err := ld.Load(ctx, a, b)
	require.NoError(t, err)
	require.Equal(t, 3, info.Sources)
	require.Equal(t, 7, info.Units)
	require.Equal(t, 7, info.Indicators)
	require.Equal(t, nObservations+3, info.Observations)
	require.Equal(t, []string{a.Name, b.Name}, info.Origins)
	kids, err := st.Children(ctx, []string{"vn.lc"}, "", nil)
	require.NoError(t, err)
	var codes []string
	for _, u := range kids["vn.lc"] {
		codes = append(codes, u.Code)
	}
	require.Equal(t, []string{"vn.lc.mt", "vn.lc.pt", "vn.lc.sh"}, codes)
	series, err := st.Series(ctx, []indicator.SeriesKey{{Unit: "vn.lc.sh", Indicator: "forest_cover"}, {Unit: "vn.lc.pt", Indicator: "population"}}, nil)
	require.NoError(t, err)
	require.Len(t, series[indicator.SeriesKey{Unit: "vn.lc.sh", Indicator: "forest_cover"}], 1)
	require.Len(t, series[indicator.SeriesKey{Unit: "vn.lc.pt", Indicator: "population"}], 2)

	// The order of folders does not matter to what is served.
	_, err = ld.Load(ctx, b, a)
	require.NoError(t, err)
	info2, err := st.Dataset(ctx)
	require.NoError(t, err)
	require.Equal(t, info.Observations, info2.Observations)

	t.Run("code defined twice", func(t *testing.T) {
		c := fixture{
			"sources":      "id,title\ndoc1,Again\n",
			"units":        "code,name_vi,level,parent,valid_to\nvn.lc.xx,Xã,commune,vn.lc.pt,2025-06-30\nvn.lc,Lai Châu again,province,vn,\n",
			"indicators":   "code,name_vi,measure_unit,rollup\n",
			"observations": "unit,indicator,period,kind,value,source\n",
		}.write(t, "c", "csv")
		_, err := ld.Load(ctx, a, c)
		le := loadError(t, err)
		require.Equal(t, []string{
			c.Name + `/sources.csv:2:1: column "id": duplicate "doc1": already defined at ` + a.Name + `/sources.csv:2`,
			c.Name + `/units.csv:3:1: column "code": duplicate "vn.lc": already defined at ` + a.Name + `/units.csv:3`,
		}, messages(le))
		// The union was refused as a whole: b's data is still served.
		got, err := st.Dataset(ctx)
		require.NoError(t, err)
		require.Equal(t, info2.Version, got.Version)
	})
	t.Run("code defined twice in columnar files", func(t *testing.T) {
		d := fixture{
			"sources":      "id,title\ndoc9,Other\n",
			"units":        "code,name_vi,level,parent\nvn.lc.pt,Phong Thổ again,district,vn.lc\n",
			"indicators":   "code,name_vi,measure_unit,rollup\n",
			"observations": "unit,indicator,period,kind,value,source\n",
		}.write(t, "d", "arrow")
		_, err := ld.Load(ctx, b, d, a)
		le := loadError(t, err)
		require.Equal(t, []string{
			a.Name + `/units.csv:4:1: column "code": duplicate "vn.lc.pt": already defined at ` + d.Name + `/units.arrow row 1`,
		}, messages(le))
	})
}

func TestLoadTableGivenTwice(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, store.Options{})
	dir := baseFixture().write(t, "twice", "csv")
	writeTable(t, dir.OSPath, "units", "parquet", unitsCSV)
	writeTable(t, dir.OSPath, "observations", "arrows", observationsCSV)
	_, err := loader.New(st, loader.Options{}).Load(ctx, dir)
	le := loadError(t, err)
	require.Equal(t, []string{
		dir.Name + `: table "units" is given more than once (units.csv, units.parquet): expected exactly one file`,
		dir.Name + `: table "observations" is given more than once (observations.csv, observations.arrows): expected exactly one file`,
	}, messages(le))
}

func TestLoadNoFolder(t *testing.T) {
	_, err := loader.New(newStore(t, store.Options{}), loader.Options{}).Load(context.Background())
	require.ErrorIs(t, err, indicator.ErrInvalid)
}

func TestLoadAtomic(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, store.Options{})
	ld := loader.New(st, loader.Options{})
	a, err := ld.Load(ctx, baseFixture().write(t, "a", "csv"))
	require.NoError(t, err)
	wantA := served(t, ctx, st)

	bad := map[string]fixture{
		"bad observation": baseFixture().with("observations", observationsCSV+"vn.lc.pt,poverty_rate,2030,actual,abc,,,,,doc1,1,,\n"),
		"bad unit":        baseFixture().with("units", unitsCSV+"vn.lc.zz,Z,,district,vn.nowhere,,\n"),
		"bad csv":         baseFixture().with("sources", sourcesCSV+"doc3,\"unclosed\n"),
		"missing table":   func() fixture { f := baseFixture(); delete(f, "indicators"); return f }(),
		"bad parquet":     baseFixture().with("observations", observationsCSV+"vn.lc.pt,poverty_rate,2030,actual,NaN,,,,,doc1,1,,\n"),
	}
	for name, fix := range bad {
		t.Run(name, func(t *testing.T) {
			format := "csv"
			if name == "bad parquet" {
				format = "parquet"
			}
			_, err := ld.Load(ctx, fix.write(t, "b", format))
			loadError(t, err)
			got, err := st.Dataset(ctx)
			require.NoError(t, err)
			require.Equal(t, a.Version, got.Version)
			require.Equal(t, a.LoadedAt, got.LoadedAt)
			require.Equal(t, nObservations, got.Observations)
			require.Equal(t, wantA, served(t, ctx, st))
		})
	}

	c, err := ld.Load(ctx, baseFixture().with("observations", observationsCSV+"vn.lc.mt,population,2024,actual,44000,,,,,doc2,5,44.000,\n").write(t, "c", "csv"))
	require.NoError(t, err)
	require.NotEqual(t, a.Version, c.Version)
	got, err := st.Dataset(ctx)
	require.NoError(t, err)
	require.Equal(t, c.Version, got.Version)
	require.Equal(t, nObservations+1, got.Observations)
	series, err := st.Series(ctx, []indicator.SeriesKey{{Unit: "vn.lc.mt", Indicator: "population"}}, nil)
	require.NoError(t, err)
	require.Len(t, series[indicator.SeriesKey{Unit: "vn.lc.mt", Indicator: "population"}], 1)
}

// manyBad returns n observation rows whose values are not numbers.
func manyBad(n int) string {
	var b strings.Builder
	b.WriteString(obsHeader)
	for i := range n {
		fmt.Fprintf(&b, "vn.lc.pt,population,2020,actual,x%d,,,,,doc1,%d,,\n", i, i+1)
	}
	return b.String()
}

func TestLoadErrorCap(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, store.Options{})
	ld := loader.New(st, loader.Options{MaxErrors: 10})
	for _, format := range []string{"csv", "parquet"} {
		t.Run(format, func(t *testing.T) {
			fix := baseFixture()
			delete(fix, "observations")
			dir := fix.write(t, "capped", "csv")
			// value is text, to be wrong in a columnar file too.
			writeTable(t, dir.OSPath, "observations", format, manyBad(500), "value")
			_, err := ld.Load(ctx, dir)
			le := loadError(t, err)
			require.Len(t, le.Errors, 10)
			require.True(t, le.Truncated)
			require.True(t, strings.HasPrefix(err.Error(), "dataset rejected: 10 problems (stopped at the cap; more remain)\n"), err.Error())
			// The first ten, in file order: CSV counts the header line.
			first := int64(2)
			if format != "csv" {
				first = 1
			}
			for i, e := range le.Errors {
				require.Equal(t, first+int64(i), e.Line)
				require.Equal(t, "value", e.ColumnName)
			}
		})
	}
}

// TestLoadErrorCapTruncated: the cap reached while reading records (a
// small table's rows, or malformed CSV records) must still say that more
// problems remain.
func TestLoadErrorCapTruncated(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, store.Options{})
	ld := loader.New(st, loader.Options{MaxErrors: 10})
	t.Run("units", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(unitsCSV)
		for i := range 500 {
			fmt.Fprintf(&b, "vn.x%d,X,,planet,vn,,\n", i)
		}
		_, err := ld.Load(ctx, baseFixture().with("units", b.String()).write(t, "units", "csv"))
		le := loadError(t, err)
		require.Len(t, le.Errors, 10)
		require.True(t, le.Truncated)
	})
	t.Run("wrong field counts", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(obsHeader)
		for i := range 500 {
			fmt.Fprintf(&b, "vn.lc.pt,population,%d,actual,1,doc1\n", 1500+i)
		}
		_, err := ld.Load(ctx, baseFixture().with("observations", b.String()).write(t, "fields", "csv"))
		le := loadError(t, err)
		require.Len(t, le.Errors, 10)
		require.True(t, le.Truncated)
	})
}

// TestLoadInvalidUTF8: text that is not UTF-8 is a data problem, reported
// where it is; it is neither stored as NULL nor an engine failure.
func TestLoadInvalidUTF8(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, store.Options{})
	ld := loader.New(st, loader.Options{})
	t.Run("unit name", func(t *testing.T) {
		dir := baseFixture().with("units", unitsCSV+"vn.lc.xx,X\xffY,,district,vn.lc,,\n").write(t, "u", "csv")
		_, err := ld.Load(ctx, dir)
		le := loadError(t, err) // today: "store: write units: … NOT NULL constraint failed: units.name_vi", INTERNAL
		require.Len(t, le.Errors, 1)
		require.Equal(t, dir.Name+"/units.csv", le.Errors[0].File)
		require.Equal(t, int64(8), le.Errors[0].Line)
	})
	t.Run("observation raw", func(t *testing.T) {
		dir := baseFixture().with("observations", obsHeader+"vn.lc.pt,population,2020,actual,1,,,,,doc1,1,\xff\xfe,\n").write(t, "o", "csv")
		_, err := ld.Load(ctx, dir) // today: loads, with raw silently NULL
		le := loadError(t, err)
		require.Len(t, le.Errors, 1)
		require.Equal(t, int64(2), le.Errors[0].Line)
		require.Equal(t, "raw", le.Errors[0].ColumnName)
	})
	t.Run("observation unit", func(t *testing.T) {
		dir := baseFixture().with("observations", obsHeader+"vn.lc.pt\xff,population,2020,actual,1,,,,,doc1,1,,\n").write(t, "o", "csv")
		_, err := ld.Load(ctx, dir)
		le := loadError(t, err)
		require.Len(t, le.Errors, 1)
		require.NotContains(t, le.Errors[0].Msg, "a value is required") // today's misleading message
	})
}

// TestLoadDuplicateSpelling: the duplicate check compares typed values,
// so "1", "01" and " 1" are one line, and "" and " " are both no line.
func TestLoadDuplicateSpelling(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, store.Options{})
	ld := loader.New(st, loader.Options{})
	for _, second := range []string{"01", " 1", "1 "} {
		obs := obsHeader + "vn.lc.pt,population,2020,actual,1,,,,,doc1,1,,\nvn.lc.pt,population,2020,actual,2,,,,,doc1," + second + ",,\n"
		_, err := ld.Load(ctx, baseFixture().with("observations", obs).write(t, "d", "csv"))
		le := loadError(t, err)
		require.Len(t, le.Errors, 1, second)
		require.Contains(t, le.Errors[0].Msg, "duplicate observation")
	}
	obs := obsHeader + "vn.lc.pt,population,2020,actual,1,,,,,doc1,,,\nvn.lc.pt,population,2020,actual,2,,,,,doc1, ,,\n"
	_, err := ld.Load(ctx, baseFixture().with("observations", obs).write(t, "d", "csv"))
	loadError(t, err)
}

// TestLoadLineNotInteger: a line must be a whole number; DuckDB's cast
// rounds "1.5" to 2, which the check accepts.
func TestLoadLineNotInteger(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, store.Options{})
	obs := obsHeader + "vn.lc.pt,population,2020,actual,1,,,,,doc1,1.5,,\n"
	_, err := loader.New(st, loader.Options{}).Load(ctx, baseFixture().with("observations", obs).write(t, "l", "csv"))
	le := loadError(t, err)
	require.Len(t, le.Errors, 1)
	require.Equal(t, "line", le.Errors[0].ColumnName)
}

func TestLoadPinnedSnapshot(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, store.Options{})
	ld := loader.New(st, loader.Options{})

	// Pinning an empty store pins nothing.
	pctx, release := st.Pin(ctx)
	_, err := st.Dataset(pctx)
	require.ErrorIs(t, err, indicator.ErrUnavailable)
	release()

	a, err := ld.Load(ctx, baseFixture().write(t, "a", "csv"))
	require.NoError(t, err)
	wantA := served(t, ctx, st)
	pctx, release = st.Pin(ctx)

	c, err := ld.Load(ctx, baseFixture().with("observations", obsHeader+"vn.lc.mt,population,2024,actual,44000,,,,,doc2,5,44.000,\n").write(t, "c", "csv"))
	require.NoError(t, err)
	require.Equal(t, 1, c.Observations)

	// The pinned context still reads A, with SQL and without.
	for range 2 {
		got, err := st.Dataset(pctx)
		require.NoError(t, err)
		require.Equal(t, a.Version, got.Version)
		require.Equal(t, nObservations, got.Observations)
		require.Equal(t, wantA, served(t, pctx, st))
		page, info, err := st.Observations(pctx, indicator.ObservationQuery{Page: indicator.Page{First: 100}})
		require.NoError(t, err)
		require.Len(t, page, nObservations)
		require.Equal(t, nObservations, info.TotalCount)
	}
	// Pinning the pinned context again (as an analytic does inside a
	// request the GraphQL layer pinned) keeps A, not the C now current.
	inner, releaseInner := st.Pin(pctx)
	got, err := st.Dataset(inner)
	require.NoError(t, err)
	require.Equal(t, a.Version, got.Version)
	releaseInner()
	got, err = st.Dataset(pctx)
	require.NoError(t, err)
	require.Equal(t, a.Version, got.Version, "the inner release leaves the outer pin")

	// An unpinned context reads C.
	got, err = st.Dataset(ctx)
	require.NoError(t, err)
	require.Equal(t, c.Version, got.Version)
	page, _, err := st.Observations(ctx, indicator.ObservationQuery{Page: indicator.Page{First: 100}})
	require.NoError(t, err)
	require.Len(t, page, 1)

	// Releasing closes A; releasing twice is harmless.
	require.NotPanics(t, release)
	require.NotPanics(t, release)
	got, err = st.Dataset(ctx)
	require.NoError(t, err)
	require.Equal(t, c.Version, got.Version)

	// A fresh pin reads C; another swap does not disturb it either.
	pctx2, release2 := st.Pin(ctx)
	defer release2()
	_, err = ld.Load(ctx, baseFixture().write(t, "a2", "csv"))
	require.NoError(t, err)
	got, err = st.Dataset(pctx2)
	require.NoError(t, err)
	require.Equal(t, c.Version, got.Version)
	page, _, err = st.Observations(pctx2, indicator.ObservationQuery{Page: indicator.Page{First: 100}})
	require.NoError(t, err)
	require.Len(t, page, 1)
}

func TestLoadVersion(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, store.Options{})
	ld := loader.New(st, loader.Options{})
	load := func(f fixture, name, format string) string {
		t.Helper()
		info, err := ld.Load(ctx, f.write(t, name, format))
		require.NoError(t, err)
		return info.Version
	}
	v1 := load(baseFixture(), "one", "csv")
	require.Equal(t, v1, load(baseFixture(), "one", "csv"), "same files, same version")
	require.Equal(t, v1, load(baseFixture(), "elsewhere", "csv"), "the folder's name is not content")

	// One byte changed anywhere changes the version.
	for table, text := range baseFixture() {
		changed := strings.Replace(text, "Việt Nam", "Việt Nan", 1)
		changed = strings.Replace(changed, "doc2,Kế hoạch", "doc2,Kế hoạcH", 1)
		changed = strings.Replace(changed, "Share of poor", "Share of Poor", 1)
		changed = strings.Replace(changed, "yearly reduction", "yearly Reduction", 1)
		require.NotEqual(t, text, changed, table)
		require.NotEqual(t, v1, load(baseFixture().with(table, changed), "one", "csv"), table)
	}
	// Same for a columnar file.
	p1 := load(baseFixture(), "p", "parquet")
	require.NotEqual(t, v1, p1)
	require.Equal(t, p1, load(baseFixture(), "p", "parquet"))
	require.NotEqual(t, p1, load(baseFixture().with("observations", strings.Replace(observationsCSV, "85327", "85328", 1)), "p", "parquet"))
	a1 := load(baseFixture(), "a", "arrow")
	require.Equal(t, a1, load(baseFixture(), "a", "arrow"))
	require.NotEqual(t, a1, load(baseFixture().with("units", strings.Replace(unitsCSV, "Căn Câu", "Căn Cầu", 1)), "a", "arrow"))
}

// Fuzz: any bytes as observations.csv either load, with one observation
// per record, or are refused with positioned problems while the data
// served before stays served.
func FuzzLoadObservationsCSV(f *testing.F) {
	for _, seed := range []string{
		observationsCSV,
		obsHeader,
		"",
		"\ufeff" + observationsCSV,
		"unit,indicator,period,kind,value,source\nvn.lc.pt,population,2020,actual,1,doc1\r\nvn.lc.pt,population,2021,actual,2.5,doc1\r\n",
		obsHeader + "vn.lc.pt,population,2020,actual,1,,,,,doc1,1,\"unclosed,\n",
		obsHeader + "vn.lc.pt,population,2020,actual,1,,,,,doc1,1,a\"b,\n",
		obsHeader + "vn.lc.pt,population,2020,actual,1,doc1\nvn.lc.pt,population,2021,actual,1,,,,,doc1,1,,,,\n",
		obsHeader + "vn.lc.pt,population,2020,actual,1.000,,,,,doc1,1,,\nvn.lc.pt,population,2021,actual,\"1,5\",,,,,doc1,2,,\nvn.lc.pt,population,2022,actual,inf,,,,,doc1,3,,\n",
		obsHeader + "vn.lc.pt,population,20x1,actual,1,,,,,doc1,1,,\nvn.lc.pt,population,2016-2015,actual,1,,,,,doc1,2,,\nvn.lc.pt,population,SY2020-2022,actual,1,,,,,doc1,3,,\nvn.lc.pt,population,2024Q5,actual,1,,,,,doc1,4,,\n",
		obsHeader + "vn.lc.pt,population,2020,actual,1,,,,,doc1,1,,\nvn.lc.pt,population,2020,actual,2,,,,,doc1,1,,\n",
		"unit,unit,indicator,period,kind,value,source\n",
		"unit,indicator,period\nvn,x,2020\n",
		obsHeader + "vn.lc.pt,population,2020,actual,1,,nearly,estimated;break,m,doc1,0,,\n",
		obsHeader + "vn.lc.pt,population,2020,actual,1,,,,,doc1,1,\xff\xfe,\n",
	} {
		f.Add([]byte(seed))
	}
	ctx := context.Background()
	// One DuckDB thread: each iteration opens a fresh instance.
	st := newStore(f, store.Options{Threads: 1})
	ld := loader.New(st, loader.Options{MaxErrors: 20})
	fsys := fstest.MapFS{
		"sources.csv":    {Data: []byte(sourcesCSV)},
		"units.csv":      {Data: []byte(unitsCSV)},
		"indicators.csv": {Data: []byte(indicatorsCSV)},
	}
	const folder = "fuzz"
	dir := loader.Dir{Name: folder, FS: fsys}
	fsys["observations.csv"] = &fstest.MapFile{Data: []byte(observationsCSV)}
	if _, err := ld.Load(ctx, dir); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		before, err := st.Dataset(ctx)
		require.NoError(t, err)
		fsys["observations.csv"] = &fstest.MapFile{Data: data}
		info, err := ld.Load(ctx, dir)
		if err == nil {
			require.Equal(t, countRecords(t, data), info.Observations)
			got, err := st.Dataset(ctx)
			require.NoError(t, err)
			require.Equal(t, info.Version, got.Version)
			require.Equal(t, info.Observations, got.Observations)
			return
		}
		var le *loader.LoadError
		if !errors.As(err, &le) {
			t.Fatalf("not a *loader.LoadError: %T %v", err, err)
		}
		require.ErrorIs(t, err, indicator.ErrInvalid)
		require.NotEmpty(t, le.Errors)
		require.LessOrEqual(t, len(le.Errors), 20)
		for _, e := range le.Errors {
			if e.File != folder && !strings.HasSuffix(e.File, ".csv") {
				t.Fatalf("problem not positioned in a CSV file or the folder: %v", e)
			}
			require.Equal(t, path.Join(folder, "observations.csv"), e.File, "only observations.csv varies: %v", e)
			require.NotEmpty(t, e.Msg)
			require.False(t, e.Columnar)
		}
		got, err := st.Dataset(ctx)
		require.NoError(t, err)
		require.Equal(t, before.Version, got.Version)
		require.Equal(t, before.Observations, got.Observations)
	})
}

// countRecords counts the data records of a CSV file as encoding/csv
// reads them (the header excluded).
func countRecords(t *testing.T, data []byte) int {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	require.NoError(t, err, "a CSV file that loaded must parse")
	require.NotEmpty(t, recs, "a CSV file that loaded has a header")
	return len(recs) - 1
}

// TestLoadAliases: the optional aliases column lists former codes of an
// indicator (';'-separated); an alias answers with its indicator, and an
// alias that is a code, another indicator's alias or given twice is
// refused at file:line:column.
func TestLoadAliases(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, store.Options{})
	ld := loader.New(st, loader.Options{})
	head := "code,name_vi,measure_unit,rollup,aliases\n"
	good := head + "households_total,Tổng số hộ,households,SUM,\n" +
		"households_poor,Số hộ nghèo,households,SUM,poor_households; hh_poor\n" +
		"poverty_rate,Tỷ lệ hộ nghèo,%,\"RATIO(households_poor,households_total)\",poverty_rate_old\n" +
		"population,Dân số,people,SUM,\nincome_per_capita,Thu nhập,VND,SUM,\nbudget_revenue,Thu ngân sách,VND,SUM,\n"
	dir := baseFixture().with("indicators", good).write(t, "a", "csv")
	// Both the SQL answers and the in-memory point index resolve aliases.
	pts := newStore(t, store.Options{PointsMax: 1 << 20})
	_, err := loader.New(pts, loader.Options{}).Load(ctx, dir)
	require.NoError(t, err)
	ready, err := pts.WaitPointIndex(ctx)
	require.NoError(t, err)
	require.True(t, ready)
	_, err = ld.Load(ctx, dir)
	require.NoError(t, err)
	for _, st := range []*store.Store{st, pts} {
		m, err := st.Indicators(ctx, []string{"hh_poor", "poor_households", "poverty_rate_old", "households_poor"})
		require.NoError(t, err)
		require.Equal(t, "households_poor", m["hh_poor"].Code)
		require.Equal(t, "households_poor", m["poor_households"].Code)
		require.Equal(t, []string{"poor_households", "hh_poor"}, m["households_poor"].Aliases)
		require.Equal(t, "poverty_rate", m["poverty_rate_old"].Code)
		// Series, latest values, coverage and observations asked for by an
		// alias answer under the alias, naming the code.
		key := indicator.SeriesKey{Unit: "vn.lc.pt", Indicator: "poverty_rate_old"}
		series, err := st.Series(ctx, []indicator.SeriesKey{key, {Unit: "vn.lc.pt", Indicator: "poverty_rate"}}, nil)
		require.NoError(t, err)
		require.Len(t, series[key], 5)
		for _, o := range series[key] {
			require.Equal(t, "poverty_rate", o.Indicator)
		}
		latest, err := engine.New(st, engine.Options{}).Latest(ctx, []indicator.SeriesKey{key}, indicator.KindActual)
		require.NoError(t, err)
		require.Equal(t, 37.93, latest[key].Value)
		require.Equal(t, "poverty_rate", latest[key].Indicator)
		cov, err := st.Coverage(ctx, []string{"poverty_rate_old"})
		require.NoError(t, err)
		require.Equal(t, 6, cov["poverty_rate_old"].Observations)
		obs, _, err := st.Observations(ctx, indicator.ObservationQuery{Indicators: []string{"poverty_rate_old"}, Page: indicator.Page{First: 100}})
		require.NoError(t, err)
		require.Len(t, obs, 6)
	}

	bad := head + "households_total,Tổng số hộ,households,SUM,population\n" +
		"households_poor,Số hộ nghèo,households,SUM,old;old\n" +
		"poverty_rate,Tỷ lệ hộ nghèo,%,\"RATIO(households_poor,households_total)\",old\n" +
		"population,Dân số,people,SUM,a b\nincome_per_capita,Thu nhập,VND,SUM,\nbudget_revenue,Thu ngân sách,VND,SUM,\n"
	_, err = ld.Load(ctx, baseFixture().with("indicators", bad).write(t, "b", "csv"))
	le := loadError(t, err)
	msgs := messages(le)
	require.GreaterOrEqual(t, len(msgs), 4)
	for i := range msgs {
		msgs[i] = msgs[i][max(strings.Index(msgs[i], "b/indicators.csv"), 0):]
	}
	require.Equal(t, []string{
		`b/indicators.csv:2:5: column "aliases": alias "population" is the code of an indicator`,
		`b/indicators.csv:3:5: column "aliases": alias "old" is given twice`,
		`b/indicators.csv:4:5: column "aliases": alias "old" is already an alias of "households_poor"`,
		`b/indicators.csv:5:5: column "aliases": expected ';'-separated codes of letters, digits, '.', '_' or '-', got "a b"`,
	}, msgs[:4])
}

// TestLoadHugeValues: a value or denominator of magnitude 1e100 or more
// is refused (a sum of such values overflows into an infinity), in CSV
// and in typed Parquet alike, where a NaN is refused too although the
// file's min/max statistics leave it out.
func TestLoadHugeValues(t *testing.T) {
	ctx := context.Background()
	ld := loader.New(newStore(t, store.Options{}), loader.Options{})
	const tooBig = "expected a number of magnitude under 1e+100 (sums of larger values overflow)"
	rows := strings.Split(strings.TrimSpace(obsRows), "\n")
	rows[0] = strings.Replace(rows[0], "22.43", "1e308", 1)         // line 2
	rows[8] = strings.Replace(rows[8], "784,1610", "784,-1e400", 1) // line 10: no double holds it
	rows[9] = strings.Replace(rows[9], "85327", "9.99e99", 1)       // line 11: under the bound, kept
	obs := obsHeader + strings.Join(rows, "\n") + "\n"
	dir := baseFixture().with("observations", obs).write(t, "huge", "csv")
	_, err := ld.Load(ctx, dir)
	f := dir.Name + "/observations.csv"
	require.Equal(t, []string{
		f + `:2:5: column "value": ` + tooBig + `, got "1e308"`,
		f + `:10:6: column "denominator": ` + tooBig + `, got "-1e400"`,
	}, messages(loadError(t, err)))

	for name, v := range map[string]string{"1e300": `"1e+300"`, "NaN": `"nan"`} {
		t.Run("parquet "+name, func(t *testing.T) {
			rows := strings.Split(strings.TrimSpace(obsRows), "\n")
			rows[0] = strings.Replace(rows[0], "22.43", name, 1)
			fix := baseFixture()
			delete(fix, "observations")
			dirPath := fix.write(t, "huge", "csv").OSPath
			writeTable(t, dirPath, "observations", "parquet", obsHeader+strings.Join(rows, "\n")+"\n")
			_, err := ld.Load(ctx, loader.OSDir(dirPath))
			msgs := messages(loadError(t, err))
			require.Len(t, msgs, 1)
			require.Contains(t, msgs[0], `/observations.parquet: row 1: column 5 "value": `)
			require.True(t, strings.HasSuffix(msgs[0], ", got "+v), msgs[0])
			if name == "1e300" {
				require.Contains(t, msgs[0], tooBig)
			}
		})
	}
}

// TestLoadSourceDateOnCalendar: a source date of the right form that is
// not on the calendar is refused.
func TestLoadSourceDateOnCalendar(t *testing.T) {
	ld := loader.New(newStore(t, store.Options{}), loader.Options{})
	dir := baseFixture().with("sources", strings.Replace(sourcesCSV, "2024-05-27", "2024-13-45", 1)).write(t, "date", "csv")
	_, err := ld.Load(context.Background(), dir)
	require.Equal(t, []string{dir.Name + `/sources.csv:2:5: column "date": expected YYYY, YYYY-MM or YYYY-MM-DD, got "2024-13-45"`}, messages(loadError(t, err)))
}

// TestLoadUnclosedQuote: a quote left open is reported at the line that
// opens it, not where the reader ran out of lines.
func TestLoadUnclosedQuote(t *testing.T) {
	ld := loader.New(newStore(t, store.Options{}), loader.Options{})
	rows := strings.Split(strings.TrimSpace(obsRows), "\n")
	rows[1] = strings.Replace(rows[1], `"48,42%"`, `"48,42%`, 1) // line 3 opens a quote
	dir := baseFixture().with("observations", obsHeader+strings.Join(rows, "\n")+"\n").write(t, "quote", "csv")
	_, err := ld.Load(context.Background(), dir)
	msgs := messages(loadError(t, err))
	require.NotEmpty(t, msgs)
	require.True(t, strings.HasPrefix(msgs[0], dir.Name+"/observations.csv:3: a field on this line opens a quote that is not closed"), msgs[0])
}
