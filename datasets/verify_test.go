package datasets

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// seedsDir is where the source documents are: CHISO_SEEDS, or
// ../../shared/seeds beside the repository.
func seedsDir() string {
	if d := os.Getenv("CHISO_SEEDS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "shared", "seeds")
}

// TestLaiChauVerifies runs every dataset check on the embedded Lai Châu
// dataset. The raw-on-line check needs the source documents; without them
// it is skipped, and the test says so.
func TestLaiChauVerifies(t *testing.T) {
	dir := seedsDir()
	var src = os.DirFS(dir)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Logf("source documents not found at %s: skipping only the raw-on-line check", dir)
		src = nil
	}
	rep, err := Verify(LaiChau(), src)
	require.NoError(t, err)
	for _, p := range rep.Problems {
		t.Error(p)
	}
	require.GreaterOrEqual(t, rep.Observations, 1800, "the issue asks for at least 1,800 observations")
	for _, id := range []string{"000_5cc38ccd1b5ce870", "001_0339637cced9afb6", "002_216ab9d5d6ee3cb7", "003_e5d63833b07319cc", "004_0b4aa1fa83e82c37"} {
		require.Positive(t, rep.PerSource[id], "every document contributes: %s", id)
	}
	if src != nil {
		require.Equal(t, rep.Observations, rep.RawChecked, "every raw figure is on its cited line")
	}
	require.Positive(t, rep.Breakdowns)
	require.Equal(t, 71, rep.DimensionRules, "every RATIO and WEIGHTED_MEAN rule is checked")
	require.Zero(t, rep.IncompatibleRules)
	require.True(t, rep.ReadmeChecked, "the dataset README is embedded")
	require.Zero(t, rep.ReadmeDisagreements, "README and data agree on flagged figures")
	require.Greater(t, rep.ReadmeItems, 50)
	require.Equal(t, 5, rep.Aliases, "the merged duplicates' former codes")
}

// TestVerifyCatchesProblems: the verifier is not a rubber stamp. A copy of
// the dataset with a wrong value, a raw not on its line, a part exceeding
// its total and an unknown unit fails with each problem named.
func TestVerifyCatchesProblems(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(tmp, name), []byte(body), 0o644))
	}
	write("sources.csv", "id,title\ndoc,Doc\n")
	write("units.csv", "code,name_vi,level,parent\nvn,Việt Nam,country,\n")
	write("indicators.csv", "code,name_vi,measure_unit,rollup,total,breakdown,aliases\nroads,Đường,km,SUM,,,old_roads\nroads_a,A,km,SUM,roads,surface,old_roads\nroads_b,B,km,SUM,roads,surface,roads_a\nx,X,%,,,,\n")
	write("observations.csv", "unit,indicator,period,kind,value,factor,source,line,raw,flags\n"+
		"vn,roads,2020,actual,100,,doc,1,100 km,\n"+
		"vn,roads_a,2020,actual,70,,doc,1,70 km,\n"+
		"vn,roads_b,2020,actual,40,,doc,2,\"40,0 km\",\n"+
		"vn,roads,2021,actual,12.5,,doc,2,\"12,4\",\n"+
		"vn,roads,2022,actual,3,,doc,1,missing figure,\n"+
		"nowhere,roads,2023,actual,1,,doc,1,1,\n")
	srcDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(srcDir, "doc.txt"), []byte("total 100 km, of which 70 km and 1\nthen 40,0 km and 12,4\n"), 0o644))
	rep, err := Verify(os.DirFS(tmp), os.DirFS(srcDir))
	require.NoError(t, err)
	checks := map[string]int{}
	for _, p := range rep.Problems {
		checks[p.Check]++
	}
	// reference: x has no rule, an unknown unit, an alias given twice and
	// an alias that is a code.
	require.Equal(t, map[string]int{"reference": 4, "raw-value": 2, "raw-on-line": 1, "breakdown": 1}, checks, "%v", rep.Problems)
}

// TestVerifyReadme: the README's lists of flagged figures and the flags in
// the data must agree both ways.
func TestVerifyReadme(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(tmp, name), []byte(body), 0o644))
	}
	write("sources.csv", "id,title\n001_abc,Doc\n")
	write("units.csv", "code,name_vi,level,parent\nvn,Việt Nam,country,\n")
	write("indicators.csv", "code,name_vi,measure_unit,rollup\nx,X,%,NONE\n")
	write("observations.csv", "unit,indicator,period,kind,value,source,line,raw,flags\n"+
		"vn,x,2020,actual,1,001_abc,3,1,inconsistent\n"+ // listed (L2-4)
		"vn,x,2021,actual,2,001_abc,9,2,inconsistent\n"+ // not listed
		"vn,x,2022,actual,3,001_abc,5,3,typo_suspected\n") // listed
	write("README.md", "# D\n\n## Source inconsistencies\n\n- 001 L2-4: ok.\n- 001 L7 vs L8: nothing flagged.\n\n## Suspected typos\n\n- 001 L5: ok.\n\n## Other\n\n- 001 L9: not a list that is checked.\n")
	rep, err := Verify(os.DirFS(tmp), nil)
	require.NoError(t, err)
	require.True(t, rep.ReadmeChecked)
	require.Equal(t, 3, rep.ReadmeItems)
	require.Equal(t, 2, rep.ReadmeDisagreements, "%v", rep.Problems)
	var got []string
	for _, p := range rep.Problems {
		if p.Check == "readme" {
			got = append(got, p.String())
		}
	}
	require.Equal(t, []string{
		`observations.csv:3: [readme] x is flagged inconsistent but README's "Source inconsistencies" does not list 001_abc line 9`,
		`README.md:6: [readme] no row of 001_abc at line(s) [7 8] is flagged inconsistent`,
	}, got)
}

// TestVerifyDimensions: unknown measure units, rules whose dimensions do
// not fit and parts that do not convert into their total are problems, and the incompatible RATIO / WEIGHTED_MEAN rules
// are counted (a bad SUM is a problem but not in that count).
func TestVerifyDimensions(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(tmp, name), []byte(body), 0o644))
	}
	write("sources.csv", "id,title\ndoc,Doc\n")
	write("units.csv", "code,name_vi,level,parent\nvn,Việt Nam,country,\n")
	write("indicators.csv", "code,name_vi,measure_unit,scale,rollup,total\n"+
		"forest,Rừng,ha,1,SUM,\n"+
		"area,Diện tích,km2,1,SUM,\n"+
		"pop,Dân số,people,1,SUM,\n"+
		"grdp,GRDP,VND,1000000000,SUM,\n"+
		"cover,Che phủ,%,1,\"RATIO(forest,area)\",\n"+ // fits: ha over km2 is a ratio
		"gpc,GRDP/người,VND,1000000,\"RATIO(grdp,pop)\",\n"+ // line 7: wants VND/person
		"lit,Biết chữ,%,1,WEIGHTED_MEAN(cover),\n"+ // line 8: a share is no weight
		"inc,Thu nhập,VND/person,1000000,WEIGHTED_MEAN(pop),\n"+ // fits
		"rate,Tỷ lệ,%,1,SUM,\n"+ // line 10: a sum of shares
		"road,Đường,furlongs,1,SUM,\n"+ // line 11: unknown unit
		"forest_a,Rừng A,km2,1,SUM,forest\n"+ // fits: km2 converts into ha
		"forest_b,Rừng B,people,1,SUM,forest\n") // line 13: not a part of an area
	write("observations.csv", "unit,indicator,period,kind,value,source,line,raw\nvn,forest,2020,actual,1,doc,1,1\n")
	rep, err := Verify(os.DirFS(tmp), nil)
	require.NoError(t, err)
	require.Equal(t, 4, rep.DimensionRules)
	require.Equal(t, 2, rep.IncompatibleRules)
	var got []string
	for _, p := range rep.Problems {
		got = append(got, fmt.Sprintf("%d %s", p.Line, p.Check))
	}
	require.Equal(t, []string{"7 dimension", "8 dimension", "10 dimension", "11 unit", "13 dimension"}, got, "%v", rep.Problems)
	require.Contains(t, rep.Problems[0].Msg, "is money_vnd/people, but gpc is in million VND")
	require.Contains(t, rep.Problems[4].Msg, "a part must measure what its total does: cannot convert forest_b (people, people) into forest (ha, area)")
}

// TestVerifyBreakdownConverts: parts in another unit of their total's
// dimension are converted before they are compared with it (20,000 m of
// earth road is 20 km, not 20,000).
func TestVerifyBreakdownConverts(t *testing.T) {
	for _, tc := range []struct {
		earth    string
		problems int
	}{
		{"20000", 0}, // 70 km + 20 km ≤ 100 km
		{"40000", 1}, // 70 km + 40 km > 100 km
	} {
		t.Run(tc.earth, func(t *testing.T) {
			tmp := t.TempDir()
			write := func(name, body string) {
				require.NoError(t, os.WriteFile(filepath.Join(tmp, name), []byte(body), 0o644))
			}
			write("sources.csv", "id,title\ndoc,Doc\n")
			write("units.csv", "code,name_vi,level,parent\nvn,Việt Nam,country,\n")
			write("indicators.csv", "code,name_vi,measure_unit,rollup,total,breakdown\nroads,Đường,km,SUM,,\nroads_a,A,km,SUM,roads,surface\nroads_b,B,m,SUM,roads,surface\n")
			write("observations.csv", "unit,indicator,period,kind,value,source,line,raw\n"+
				"vn,roads,2020,actual,100,doc,1,100\nvn,roads_a,2020,actual,70,doc,1,70\nvn,roads_b,2020,actual,"+tc.earth+",doc,1,"+tc.earth+"\n")
			rep, err := Verify(os.DirFS(tmp), nil)
			require.NoError(t, err)
			require.Equal(t, 1, rep.Breakdowns)
			require.Len(t, rep.Problems, tc.problems, "%v", rep.Problems)
		})
	}
}
