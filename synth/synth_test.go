package synth_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"go/parser"
	"go/token"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"chiso/indicator"
	"chiso/synth"
)

func xs(t *testing.T) synth.Spec {
	t.Helper()
	s, err := synth.Size("XS")
	require.NoError(t, err)
	return s
}

// rows reads a CSV table as maps from column name to value.
func rows(t *testing.T, dir, table string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, table+".csv"))
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	out := make([]map[string]string, 0, len(recs)-1)
	for _, r := range recs[1:] {
		m := make(map[string]string, len(r))
		for i, c := range recs[0] {
			m[c] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func write(t *testing.T, spec synth.Spec, format synth.Format) (string, synth.Stats) {
	t.Helper()
	dir := t.TempDir()
	st, err := synth.Write(context.Background(), dir, spec, format)
	require.NoError(t, err)
	return dir, st
}

func TestSizes(t *testing.T) {
	for _, tc := range []struct {
		name string
		obs  int64
	}{
		// S, M and L have the register's tree: P = 63, D = 696, C = 10,047,
		// G = round(0.05 × 10,047) = 502, one indicator-year is
		// 63 + 696 + 10,047 − 502 = 10,304 rows, T × (P + D) = T × 759.
		{"XS", 10851},   // 12×7×(3+12+120−6) + 1×15
		{"S", 989943},   // 12×8×10,304 + 1×759 = 989,184 + 759
		{"m", 9957459},  // 46×21×10,304 + 5×759 = 9,953,664 + 3,795
		{"L", 98941170}, // 300×32×10,304 + 30×759 = 98,918,400 + 22,770
	} {
		s, err := synth.Size(tc.name)
		require.NoError(t, err)
		require.NoError(t, s.Validate())
		require.Equal(t, tc.obs, s.Counts().Observations, tc.name)
	}
	_, err := synth.Size("XL")
	require.ErrorContains(t, err, "XS, S, M, L")
}

func TestValidate(t *testing.T) {
	base := xs(t)
	for _, tc := range []struct {
		change func(*synth.Spec)
		want   string
	}{
		{func(s *synth.Spec) { s.Provinces = 0 }, "provinces"},
		{func(s *synth.Spec) { s.Districts = 2 }, "districts"},
		{func(s *synth.Spec) { s.Communes = 11 }, "communes"},
		{func(s *synth.Spec) { s.Indicators = 0 }, "indicators"},
		{func(s *synth.Spec) { s.LastYear = s.FirstYear - 1 }, "years"},
		{func(s *synth.Spec) { s.LastYear = 2998 }, "years"},
		{func(s *synth.Spec) { s.GapRate = 1 }, "gap rate"},
		{func(s *synth.Spec) { s.GapRate = math.NaN() }, "gap rate"},
		{func(s *synth.Spec) { s.TargetShare = -0.1 }, "target share"},
	} {
		s := base
		tc.change(&s)
		require.ErrorContains(t, s.Validate(), tc.want)
		_, err := synth.Write(context.Background(), t.TempDir(), s, synth.CSV)
		require.ErrorContains(t, err, tc.want)
	}
	_, err := synth.Write(context.Background(), t.TempDir(), base, "json")
	require.ErrorContains(t, err, "unknown format")
}

// TestDeterministic: the same spec gives byte-identical files in both
// formats; another seed gives other values.
func TestDeterministic(t *testing.T) {
	for _, format := range []synth.Format{synth.Parquet, synth.CSV} {
		t.Run(string(format), func(t *testing.T) {
			a, sa := write(t, xs(t), format)
			b, sb := write(t, xs(t), format)
			require.Equal(t, sa.Files, sb.Files)
			require.Len(t, sa.Files, 4)
			for _, f := range sa.Files {
				x, err := os.ReadFile(filepath.Join(a, f.Name))
				require.NoError(t, err)
				y, err := os.ReadFile(filepath.Join(b, f.Name))
				require.NoError(t, err)
				require.True(t, slices.Equal(x, y), "%s differs between two runs", f.Name)
				require.Equal(t, int64(len(x)), f.Bytes)
			}
			other := xs(t)
			other.Seed = 2
			c, _ := write(t, other, format)
			x, _ := os.ReadFile(filepath.Join(a, "observations."+string(format)))
			y, _ := os.ReadFile(filepath.Join(c, "observations."+string(format)))
			require.False(t, slices.Equal(x, y), "seed 2 gives the same observations as seed 1")
		})
	}
}

// odd is a small, lopsided spec whose generic indicators go through every
// rule twice and whose gaps and targets are large.
func odd() synth.Spec {
	return synth.Spec{Seed: 7, Provinces: 2, Districts: 5, Communes: 23, Indicators: 21, FirstYear: 2019, LastYear: 2022, GapRate: 0.3, TargetShare: 0.5}
}

// TestCounts: every table has the rows the spec says, the gaps are exact
// per indicator and year, targets are where they should be, and the
// observations are sorted by indicator, unit and period with unique keys.
func TestCounts(t *testing.T) {
	for _, spec := range []synth.Spec{xs(t), odd()} {
		t.Run(fmt.Sprint(spec.Indicators), func(t *testing.T) {
			dir, st := write(t, spec, synth.CSV)
			want := spec.Counts()
			require.Equal(t, want, st.Counts)
			units := rows(t, dir, "units")
			require.Len(t, rows(t, dir, "sources"), int(want.Sources))
			require.Len(t, units, int(want.Units))
			require.Len(t, rows(t, dir, "indicators"), spec.Indicators)
			obs := rows(t, dir, "observations")
			require.Len(t, obs, int(want.Observations))

			level := map[string]string{}
			perLevel := map[string]int{}
			for _, u := range units {
				level[u["code"]] = u["level"]
				perLevel[u["level"]]++
			}
			require.Equal(t, map[string]int{"country": 1, "province": spec.Provinces, "district": spec.Districts, "commune": spec.Communes}, perLevel)

			communes := map[string]int{} // indicator|year → communes with a value
			targets := map[string]int{}  // indicator → target rows
			seen := map[string]bool{}
			var prev []string
			for _, o := range obs {
				// The store's order: indicator, level (province 2,
				// district 3, commune 4), unit, period.
				rank := map[string]string{"province": "2", "district": "3", "commune": "4"}[level[o["unit"]]]
				key := []string{o["indicator"], rank, o["unit"], o["period"]}
				require.True(t, slices.Compare(prev, key) < 0, "not sorted: %v after %v", key, prev)
				prev = key
				require.False(t, seen[strings.Join(key, "|")])
				seen[strings.Join(key, "|")] = true
				lv := level[o["unit"]]
				require.NotEmpty(t, lv, "unknown unit %s", o["unit"])
				require.NotEqual(t, "country", lv)
				switch o["kind"] {
				case "actual":
					y, err := strconv.Atoi(o["period"])
					require.NoError(t, err)
					require.True(t, y >= spec.FirstYear && y <= spec.LastYear)
					require.Equal(t, "ngtk_"+o["period"], o["source"])
					if lv == "commune" {
						communes[o["indicator"]+"|"+o["period"]]++
					}
				case "target":
					require.Equal(t, strconv.Itoa(spec.LastYear+2), o["period"])
					require.Contains(t, []string{"province", "district"}, lv)
					require.Equal(t, fmt.Sprintf("ke_hoach_%d", spec.LastYear+2), o["source"])
					targets[o["indicator"]]++
				default:
					t.Fatalf("kind %q", o["kind"])
				}
			}
			require.Len(t, communes, spec.Indicators*spec.Years())
			for k, n := range communes {
				require.Equal(t, spec.Communes-spec.Gaps(), n, k)
			}
			require.Len(t, targets, spec.Targeted())
			for k, n := range targets {
				require.Equal(t, spec.Provinces+spec.Districts, n, k)
			}
		})
	}
}

// TestCatalog: every rollup rule is used, every reference names an
// indicator of the dataset, RATIO parts and weights are SUM counts, and
// the units form a tree with the documented code scheme.
func TestCatalog(t *testing.T) {
	dir, _ := write(t, odd(), synth.CSV)
	inds := rows(t, dir, "indicators")
	byCode := map[string]map[string]string{}
	for _, x := range inds {
		byCode[x["code"]] = x
	}
	kinds := map[indicator.RuleKind]int{}
	dirs := map[string]bool{}
	for _, x := range inds {
		r, err := indicator.ParseRule(x["rollup"])
		require.NoError(t, err, x["code"])
		kinds[r.Kind]++
		dirs[x["direction"]] = true
		for _, ref := range r.References() {
			require.Contains(t, byCode, ref, "%s refers to %s", x["code"], ref)
			require.Equal(t, "SUM", byCode[ref]["rollup"], "%s refers to %s", x["code"], ref)
		}
		if r.Kind == indicator.RuleRatio || r.Kind == indicator.RuleWeightedMean {
			require.Equal(t, "%", x["measure_unit"])
		}
		require.NotEmpty(t, x["name_vi"])
		scale, err := strconv.ParseFloat(x["scale"], 64)
		require.NoError(t, err)
		require.Greater(t, scale, 0.0)
	}
	for _, k := range []indicator.RuleKind{indicator.RuleSum, indicator.RuleMean, indicator.RuleWeightedMean, indicator.RuleRatio, indicator.RuleLast, indicator.RuleNone} {
		require.GreaterOrEqual(t, kinds[k], 2, "rule %s", k)
	}
	require.Len(t, dirs, 3)
	require.Equal(t, "RATIO(poor,hh)", byCode["poverty_rate"]["rollup"])
	require.Equal(t, "WEIGHTED_MEAN(pop)", byCode["literacy_rate"]["rollup"])
	require.Equal(t, "RATIO(ind_0010,pop)", byCode["ind_0011"]["rollup"])

	units := rows(t, dir, "units")
	require.Equal(t, "vn", units[0]["code"])
	codes := map[string]string{}
	for i, u := range units {
		codes[u["code"]] = u["level"]
		if i > 0 {
			require.Equal(t, u["parent"], u["code"][:strings.LastIndexByte(u["code"], '.')])
			require.Less(t, units[i-1]["code"], u["code"], "units are in code order")
		}
		require.True(t, strings.ContainsFunc(u["name_vi"], func(r rune) bool { return r > 127 }), "Vietnamese name with diacritics: %s", u["name_vi"])
	}
	require.Equal(t, "district", codes["vn.p01.d001"])
	require.Equal(t, "commune", codes["vn.p01.d001.c0001"])
}

// values indexes observations by unit|indicator|period for kind actual.
func values(t *testing.T, obs []map[string]string) map[string]float64 {
	out := map[string]float64{}
	for _, o := range obs {
		if o["kind"] != "actual" {
			continue
		}
		v, err := strconv.ParseFloat(o["value"], 64)
		require.NoError(t, err)
		out[o["unit"]+"|"+o["indicator"]+"|"+o["period"]] = v
	}
	return out
}

// TestValues: RATIO values equal numerator / denominator × 100 at the
// same unit and year; raw is the value written the Vietnamese way; periods
// parse; district and province values are within 2% of the aggregate of
// their communes (checked without gaps, where the aggregate is known).
func TestValues(t *testing.T) {
	spec := odd()
	spec.GapRate = 0
	dir, _ := write(t, spec, synth.CSV)
	obs := rows(t, dir, "observations")
	val := values(t, obs)
	inds := map[string]indicator.Rule{}
	for _, x := range rows(t, dir, "indicators") {
		r, err := indicator.ParseRule(x["rollup"])
		require.NoError(t, err)
		inds[x["code"]] = r
	}
	for _, o := range obs {
		_, err := indicator.ParsePeriod(o["period"])
		require.NoError(t, err)
		f, err := indicator.ParseFigure(o["raw"], false)
		require.NoError(t, err, o["raw"])
		v, _ := strconv.ParseFloat(o["value"], 64)
		require.Equal(t, math.Abs(v), f.Value, "raw %q, value %s", o["raw"], o["value"])
		line, err := strconv.Atoi(o["line"])
		require.NoError(t, err)
		require.Positive(t, line)
	}

	// RATIO consistency, at every unit and year.
	ratios := 0
	for key, v := range val {
		parts := strings.Split(key, "|")
		r := inds[parts[1]]
		if r.Kind != indicator.RuleRatio {
			continue
		}
		num := val[parts[0]+"|"+r.Numerator+"|"+parts[2]]
		den := val[parts[0]+"|"+r.Denominator+"|"+parts[2]]
		require.InDelta(t, num/den*100, v, 0.005+1e-9, key)
		require.True(t, v >= 0 && v <= 100, key)
		ratios++
	}
	require.Equal(t, 3*spec.Years()*(spec.Provinces+spec.Districts+spec.Communes), ratios) // poverty_rate, ind_0011, ind_0017

	// Reported values against the aggregate of the communes below.
	units := rows(t, dir, "units")
	below := map[string][]string{} // district or province → communes
	kids := map[string][]string{}  // province → districts
	for _, u := range units {
		if u["level"] == "commune" {
			d := u["parent"]
			p := d[:strings.LastIndexByte(d, '.')]
			below[d] = append(below[d], u["code"])
			below[p] = append(below[p], u["code"])
		}
		if u["level"] == "district" {
			kids[u["parent"]] = append(kids[u["parent"]], u["code"])
		}
	}
	checked := 0
	for parent, cs := range below {
		for code, r := range inds {
			for y := spec.FirstYear; y <= spec.LastYear; y++ {
				get := func(u string) float64 { return val[fmt.Sprintf("%s|%s|%d", u, code, y)] }
				var truth float64
				switch r.Kind {
				case indicator.RuleSum, indicator.RuleLast:
					for _, c := range cs {
						truth += get(c)
					}
				case indicator.RuleWeightedMean:
					var w float64
					for _, c := range cs {
						pop := val[fmt.Sprintf("%s|pop|%d", c, y)]
						truth += get(c) * pop
						w += pop
					}
					truth /= w
				case indicator.RuleMean, indicator.RuleNone:
					if ds, ok := kids[parent]; ok { // a province: mean of district means
						for _, d := range ds {
							var m float64
							for _, c := range below[d] {
								m += get(c)
							}
							truth += m / float64(len(below[d]))
						}
						truth /= float64(len(ds))
					} else {
						for _, c := range cs {
							truth += get(c)
						}
						truth /= float64(len(cs))
					}
				default:
					continue // RATIO: checked above
				}
				require.InDelta(t, truth, get(parent), 0.02*math.Abs(truth)+0.51, "%s %s %d", parent, code, y)
				checked++
			}
		}
	}
	require.Positive(t, checked)
}

// TestParquetMatchesCSV: the Parquet files hold the same rows as the CSV
// files, observations in row groups of 65,536.
func TestParquetMatchesCSV(t *testing.T) {
	spec := xs(t)
	csvDir, _ := write(t, spec, synth.CSV)
	pqDir, _ := write(t, spec, synth.Parquet)
	for _, table := range synth.Tables {
		want := rows(t, csvDir, table)
		rdr, err := file.OpenParquetFile(filepath.Join(pqDir, table+".parquet"), false)
		require.NoError(t, err)
		if table == "observations" {
			require.Equal(t, int(math.Ceil(float64(len(want))/65536)), rdr.NumRowGroups())
		}
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		require.NoError(t, err)
		tbl, err := fr.ReadTable(context.Background())
		require.NoError(t, err)
		tr := array.NewTableReader(tbl, 4096)
		var got []map[string]string
		for tr.Next() {
			rec := tr.RecordBatch()
			for i := 0; i < int(rec.NumRows()); i++ {
				m := map[string]string{}
				for c, f := range rec.Schema().Fields() {
					col := rec.Column(c)
					switch {
					case col.IsNull(i):
						m[f.Name] = ""
					case f.Type.ID() == arrow.FLOAT64:
						m[f.Name] = strconv.FormatFloat(col.(*array.Float64).Value(i), 'f', -1, 64)
					default:
						m[f.Name] = col.ValueStr(i)
					}
				}
				got = append(got, m)
			}
		}
		tr.Release()
		tbl.Release()
		rdr.Close()
		require.Equal(t, want, got, table)
	}
}

func TestWriteRefusesOtherFormat(t *testing.T) {
	dir, _ := write(t, xs(t), synth.CSV)
	_, err := synth.Write(context.Background(), dir, xs(t), synth.Parquet)
	require.ErrorContains(t, err, "sources.csv")
	// The same format is replaced.
	_, err = synth.Write(context.Background(), dir, xs(t), synth.CSV)
	require.NoError(t, err)
}

func TestWriteCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	_, err := synth.Write(ctx, dir, xs(t), synth.Parquet)
	require.ErrorIs(t, err, context.Canceled)
	_, err = os.Stat(filepath.Join(dir, "observations.parquet"))
	require.True(t, os.IsNotExist(err))
	left, _ := filepath.Glob(filepath.Join(dir, "*.tmp"))
	require.Empty(t, left)
}

// TestImports: synth uses the standard library and arrow-go only (it must
// not reach DuckDB, the store, the loader or the GraphQL layer).
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range parsed.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			std := !strings.Contains(strings.SplitN(p, "/", 2)[0], ".") && !strings.HasPrefix(p, "chiso/")
			// chiso/datasets: the embedded register (files only).
			require.True(t, std || p == "chiso/datasets" || strings.HasPrefix(p, "github.com/apache/arrow-go/v18/"), "%s imports %s", f, p)
		}
	}
}

// TestRegisterTree: sizes S, M and L take the register's tree of
// 2025-03-01 (datasets/vietnam with Lai Châu's units from
// datasets/laichau): 63 provinces, 696 districts and 10,047 communes with
// their codes, names, official codes and types, each under a unit one
// level up; observations stay in the store's order.
func TestRegisterTree(t *testing.T) {
	spec, err := synth.Size("S")
	require.NoError(t, err)
	require.True(t, spec.Register)
	require.Equal(t, [3]int{63, 696, 10047}, [3]int{spec.Provinces, spec.Districts, spec.Communes})
	spec.Indicators, spec.FirstYear, spec.LastYear = 1, 2024, 2024
	dir, st := write(t, spec, synth.CSV)
	require.Equal(t, spec.Counts(), st.Counts)

	units := rows(t, dir, "units")
	require.Len(t, units, 1+63+696+10047)
	byCode := map[string]map[string]string{}
	for _, u := range units {
		byCode[u["code"]] = u
	}
	up := map[string]string{"province": "country", "district": "province", "commune": "district"}
	laiChau := 0
	for _, u := range units[1:] {
		require.NotEmpty(t, u["official_code"], u["code"])
		require.NotEmpty(t, u["type"], u["code"])
		require.Equal(t, up[u["level"]], byCode[u["parent"]]["level"], u["code"])
		if u["level"] == "commune" && byCode[byCode[u["parent"]]["parent"]]["code"] == "vn.lai-chau" {
			laiChau++
		}
	}
	require.Equal(t, 106, laiChau, "Lai Châu's communes before the reform")
	// Rows of datasets/laichau/units.csv (line 3) and datasets/vietnam/units.csv (line 4).
	require.Equal(t, map[string]string{"code": "vn.lai-chau", "name_vi": "Lai Châu", "name_en": "Lai Chau Province", "level": "province",
		"parent": "vn", "valid_from": "", "valid_to": "", "official_code": "12", "type": "tỉnh"}, byCode["vn.lai-chau"])
	require.Equal(t, map[string]string{"code": "vn.ha-noi.ba-dinh.phuc-xa", "name_vi": "Phúc Xá", "name_en": "", "level": "commune",
		"parent": "vn.ha-noi.ba-dinh", "valid_from": "", "valid_to": "", "official_code": "00001", "type": "phường"}, byCode["vn.ha-noi.ba-dinh.phuc-xa"])

	var prev []string
	rank := map[string]string{"province": "2", "district": "3", "commune": "4"}
	n := 0
	for _, o := range rows(t, dir, "observations") {
		key := []string{o["indicator"], rank[byCode[o["unit"]]["level"]], o["unit"], o["period"], o["kind"]}
		require.True(t, slices.Compare(prev, key) < 0, "not sorted: %v after %v", key, prev)
		prev = key
		n++
	}
	// 1 × 1 × (63 + 696 + 10,047 − round(0.05 × 10,047) = 502) = 10,304.
	require.Equal(t, 10304, n)

	spec.Communes++
	require.ErrorContains(t, spec.Validate(), "the register's tree has 63 provinces, 696 districts and 10047 communes")
}
