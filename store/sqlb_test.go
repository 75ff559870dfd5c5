package store

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"chiso/engine"
	"chiso/indicator"
)

var update = flag.Bool("update", false, "rewrite the golden SQL files under testdata")

// TestGoldenSQL renders each dynamic statement for representative inputs
// and compares its text and arguments with testdata/sql_<name>.golden
// (go test ./store -run Golden -update rewrites them).
func TestGoldenSQL(t *testing.T) {
	period := func(s string) *indicator.Period {
		p, err := indicator.ParsePeriod(s)
		require.NoError(t, err)
		return &p
	}
	manyUnits := make([]string, maxUnitList+1)
	for i := range manyUnits {
		manyUnits[i] = fmt.Sprintf("U%03d", i)
	}
	parquetTypes := map[string]string{
		"unit": "VARCHAR", "indicator": "VARCHAR", "period": "VARCHAR", "kind": "VARCHAR", "value": "DOUBLE",
		"source": "VARCHAR", "line": "BIGINT", "note": "VARCHAR", "extra": "VARCHAR",
	}
	textTypes := map[string]string{
		"unit": "VARCHAR", "indicator": "VARCHAR", "period": "VARCHAR", "kind": "VARCHAR", "value": "VARCHAR",
		"denominator": "VARCHAR", "source": "VARCHAR", "line": "VARCHAR", "raw": "VARCHAR",
	}
	one := func(st *sqlb) []*sqlb { return []*sqlb{st} }
	cases := []struct {
		name string
		sts  []*sqlb // one statement, or a sequence
	}{
		{"series_one", one(seriesStmt([]indicator.SeriesKey{{Unit: "01", Indicator: "pop"}}, nil))},
		{"series_batch", one(seriesStmt([]indicator.SeriesKey{{Unit: "01", Indicator: "pop"}, {Unit: "02", Indicator: "pop"}, {Unit: "01", Indicator: "gdp"}},
			[]indicator.ObservationKind{indicator.KindActual, indicator.KindTarget}))},
		{"series_one_kind", one(seriesStmt([]indicator.SeriesKey{{Unit: "01", Indicator: "pop"}}, []indicator.ObservationKind{indicator.KindActual}))},
		{"coverage", one(coverageStmt([]string{"pop", "gdp"}))},
		{"coverage_none", one(coverageStmt(nil))},
		{"observations_all", one(observationsStmt(indicator.ObservationQuery{}, window{lo: -1, hi: math.MaxInt64, n: 10}))},
		{"observations_filtered", one(observationsStmt(indicator.ObservationQuery{
			Units: []string{"01"}, Indicators: []string{"pop", "gdp", "area"}, Sources: []string{"nso-2020"},
			Kinds: []indicator.ObservationKind{indicator.KindActual, indicator.KindTarget},
			From:  period("2015"), To: period("2020"),
		}, window{lo: 41, hi: math.MaxInt64, n: 100}))},
		{"observations_backward", one(observationsStmt(indicator.ObservationQuery{Indicators: []string{"pop"}},
			window{lo: -1, hi: 90, n: 20, backward: true}))},
		{"observations_between", one(observationsStmt(indicator.ObservationQuery{}, window{lo: 10, hi: 90, n: 5}))},
		{"observations_many_units", one(observationsStmt(indicator.ObservationQuery{Units: manyUnits}, window{lo: -1, hi: math.MaxInt64, n: 5}))},
		{"rows_all", one(rowsStmt(engine.RowQuery{}, nil))},
		{"rows_filtered", one(rowsStmt(engine.RowQuery{Units: []string{"01", "0101", "010101"}, Indicators: []string{"pop", "gdp"},
			Kind: indicator.KindActual, Canonical: true}, []int{3, 1, 3, 2}))},
		{"rows_unknown_units", one(rowsStmt(engine.RowQuery{Units: []string{"nowhere"}, Canonical: true}, nil))},
		{"stage_parquet_typed", one(stageParquetStmt(parquetTypes, 2, "/data/obs.parquet"))},
		{"stage_parquet_text", one(stageParquetStmt(textTypes, 0, "/data/obs text.parquet"))},
		{"bad_rows", one(badRowsStmt([]string{"flags", "unit"}, map[string]map[string]string{
			"unit":  {"99": "expected the code of a unit in units", "98": "expected the code of a unit in units"},
			"flags": {"odd": "expected flags"},
		}, 50))},
		{"settings", settingsStmts(4, "2GB", "/tmp/chiso-spill")},
		{"settings_default", settingsStmts(0, "", "/tmp/chiso-spill")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var texts []string
			for _, st := range c.sts {
				checkPlaceholders(t, st)
				texts = append(texts, renderStmt(st))
			}
			got := strings.Join(texts, "\n")
			path := filepath.Join("testdata", "sql_"+c.name+".golden")
			if *update {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
				return
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./store -run Golden -update")
			require.Equal(t, string(want), got)
		})
	}
}

// renderStmt is a statement's golden text: its SQL, then its arguments.
func renderStmt(st *sqlb) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(st.String()))
	b.WriteString("\n-- args\n")
	for i, a := range st.Args() {
		fmt.Fprintf(&b, "$%d = ", i+1)
		switch v := a.(type) {
		case string, []string:
			fmt.Fprintf(&b, "%q", v)
		case time.Time:
			b.WriteString(v.Format(time.DateOnly))
		default:
			fmt.Fprintf(&b, "%v", v)
		}
		b.WriteString(" (" + fmt.Sprintf("%T", a) + ")\n")
	}
	return b.String()
}

// checkPlaceholders asserts that the text uses every argument and no
// other, and carries no ? placeholder beside the numbered ones.
func checkPlaceholders(t *testing.T, st *sqlb) {
	t.Helper()
	used := map[int]bool{}
	for _, m := range regexp.MustCompile(`\$(\d+)`).FindAllStringSubmatch(st.String(), -1) {
		n, _ := strconv.Atoi(m[1])
		require.True(t, n >= 1 && n <= len(st.Args()), "placeholder $%d without an argument", n)
		used[n] = true
	}
	require.Len(t, used, len(st.Args()), "every argument has a placeholder")
	require.NotContains(t, regexp.MustCompile(`'[^']*'`).ReplaceAllString(st.String(), ""), "?", "numbered placeholders only")
}

func TestSQLBuilder(t *testing.T) {
	var b sqlb
	require.Equal(t, "$1", b.Arg(7))
	require.Equal(t, "$2::VARCHAR, $3::VARCHAR", b.In([]string{"a", "b"}))
	require.Equal(t, "NULL", b.In(nil))
	require.Equal(t, "1, 2, 5", b.Ints([]int{5, 1, 2, 5}))
	require.Equal(t, `"unit"`, b.Ident("unit"))
	require.Panics(t, func() { b.Ident("unit; DROP TABLE observations") })
	require.Panics(t, func() { b.Ident(`x"`) })
	require.Equal(t, "true", b.And())
	require.Equal(t, "false", b.Or())
	b.SQL("SELECT 1 FROM t").Where().Where("a", "b")
	require.Equal(t, "SELECT 1 FROM t WHERE a AND b", b.String())
	require.Equal(t, []any{7, "a", "b"}, b.Args())
}

// TestBuildSettings runs settingsStmts: DuckDB takes SET values as
// placeholders.
func TestBuildSettings(t *testing.T) {
	tmp := t.TempDir()
	s := New(Options{Threads: 1, MemoryLimit: "1GB", TempDir: tmp})
	b, err := s.NewBuild(t.Context())
	require.NoError(t, err)
	defer b.Close()
	var threads int
	var mem, dir string
	require.NoError(t, b.db.QueryRowContext(t.Context(),
		`SELECT current_setting('threads'), current_setting('memory_limit'), current_setting('temp_directory')`).Scan(&threads, &mem, &dir))
	require.Equal(t, 1, threads)
	require.Equal(t, "953.6 MiB", mem) // 1GB, as DuckDB shows it
	require.Equal(t, tmp, dir)
}
