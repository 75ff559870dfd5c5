package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"chiso/indicator"
)

// TestVerifyCmdDimensions: `chiso verify` prints how many RATIO /
// WEIGHTED_MEAN rules have incompatible dimensions: none for the embedded
// Lai Châu dataset, and the count (with each rule's problem) for a folder
// the loader refuses for it.
func TestVerifyCmdDimensions(t *testing.T) {
	noSeeds := filepath.Join(t.TempDir(), "none")
	var out strings.Builder
	require.NoError(t, verifyCmd([]string{"-seeds", noSeeds}, noEnv, &out), out.String())
	require.Contains(t, out.String(), "\nRATIO / WEIGHTED_MEAN rules with incompatible dimensions: 0 of 71\n")
	require.Contains(t, out.String(), "\nverify: ok\n")
	if _, err := os.Stat("../shared/sources"); err == nil {
		// 63 + 696 + 10,047 register units, 33 provinces of 915 (Lai
		// Châu's continues), 3,321 communes of 1027; 114 unit changes.
		require.Contains(t, out.String(), "\nunit locators: 14160 of 14160 units citing a source found where cited; 114 of 114 unit changes\n")
	}

	dir := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	write("sources.csv", "id,title\ndoc,Doc\n")
	write("units.csv", "code,name_vi,level,parent\nvn,Việt Nam,country,\n")
	write("indicators.csv", "code,name_vi,measure_unit,rollup\nforest,Rừng,ha,SUM\npop,Dân số,people,SUM\ncover,Che phủ,%,\"RATIO(forest,pop)\"\n")
	write("observations.csv", "unit,indicator,period,kind,value,source,line,raw\nvn,forest,2020,actual,1,doc,1,1\n")
	out.Reset()
	err := verifyCmd([]string{"-data", dir, "-seeds", noSeeds}, noEnv, &out)
	require.ErrorContains(t, err, "verify: 1 problems")
	require.Contains(t, out.String(), "indicators.csv:4:4: column \"rollup\": RATIO(forest,pop) of cover: forest (ha, area) over pop (people, people) is area/people")
	require.Contains(t, out.String(), "\nRATIO / WEIGHTED_MEAN rules with incompatible dimensions: 1 of 1\n")
	require.Contains(t, out.String(), "indicators.csv:4: [dimension] RATIO(forest,pop) of cover")
}

// TestReadmeListsMeasureUnits: README's measure-unit table lists every
// unit chiso knows, on the row of its dimension.
func TestReadmeListsMeasureUnits(t *testing.T) {
	b, err := os.ReadFile("README.md")
	require.NoError(t, err)
	rows := map[string]string{} // dimension -> table row
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "| `") {
			dim, _, _ := strings.Cut(strings.TrimPrefix(line, "| `"), "`")
			rows[dim] = line
		}
	}
	for _, m := range indicator.MeasureUnits() {
		row, ok := rows[string(m.Dimension)]
		require.True(t, ok, "README has no row for dimension %s", m.Dimension)
		require.Contains(t, row, "`"+m.Unit+"`", "README's %s row", m.Dimension)
	}
}

// noEnv is an environment with no variables set.
func noEnv(string) (string, bool) { return "", false }
