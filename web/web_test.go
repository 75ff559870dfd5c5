package web

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"chiso/datasets"
)

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestBuildMatchesSources checks that the committed bundles were built
// from the committed sources: every input the manifest lists (build.mjs,
// package.json, package-lock.json and every file under src/) has the hash
// it was built from, no source is missing from it, and every built file
// embedded is the one the build wrote. After editing src/ or updating a
// package, rebuild: `cd web && npm ci && npm run build`. (.ci/run also
// rebuilds from the lockfile and requires the same bytes.)
func TestBuildMatchesSources(t *testing.T) {
	m, err := Manifest()
	require.NoError(t, err)
	want := []string{"build.mjs", "package-lock.json", "package.json"}
	require.NoError(t, filepath.WalkDir("src", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			want = append(want, filepath.ToSlash(p))
		}
		return err
	}))
	var got []string
	for p := range m.Inputs {
		got = append(got, p)
	}
	slices.Sort(want)
	slices.Sort(got)
	require.Equal(t, want, got, "the inputs of the build: rebuild dist/ (cd web && npm run build)")
	for p, h := range m.Inputs {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.Equal(t, h, sha(b), "%s changed since dist/ was built: rebuild it (cd web && npm ci && npm run build)", p)
	}
	var built []string
	require.NoError(t, fs.WalkDir(Dist, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && p != "manifest.json" {
			built = append(built, p)
		}
		return err
	}))
	var outs []string
	for p, h := range m.Outputs {
		outs = append(outs, p)
		b, err := fs.ReadFile(Dist, p)
		require.NoError(t, err)
		require.Equal(t, h, sha(b), "dist/%s is not the file the build wrote", p)
	}
	slices.Sort(built)
	slices.Sort(outs)
	require.Equal(t, outs, built)
}

// TestExamplesAreTheREADMEs: every GraphQL block of the README's "Asking
// questions" is one of GraphiQL's preloaded tabs (the root package's
// browser test runs the first, and TestExamplesAnswer all of them).
func TestExamplesAreTheREADMEs(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	b, err := os.ReadFile("src/examples.json")
	require.NoError(t, err)
	var examples []struct{ Title, Name, Query string }
	require.NoError(t, json.Unmarshal(b, &examples))
	space := regexp.MustCompile(`\s+`)
	norm := func(s string) string { return strings.TrimSpace(space.ReplaceAllString(s, " ")) }
	var have []string
	for _, e := range examples {
		require.NotEmpty(t, e.Name, e.Title)
		require.Regexp(t, `^[A-Za-z_][A-Za-z0-9_]*$`, e.Name)
		have = append(have, norm(e.Query))
	}
	section := string(readme)
	start := strings.Index(section, "\n## Asking questions\n")
	require.GreaterOrEqual(t, start, 0, "README has no section Asking questions")
	section = section[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	blocks := regexp.MustCompile("(?s)```graphql\n(.*?)```").FindAllStringSubmatch(section, -1)
	require.NotEmpty(t, blocks)
	for _, bl := range blocks {
		require.Contains(t, have, norm(bl[1]), "a README example missing from web/src/examples.json")
	}
}

type geoJSON struct {
	BBox       [4]float64 `json:"bbox"`
	Provenance struct {
		Source      string   `json:"source"`
		Corrections []string `json:"corrections"`
	} `json:"provenance"`
	Features []struct {
		Properties struct {
			Code, GSOCode, Name string
			Centre              [2]float64
		} `json:"properties"`
		Geometry struct {
			Type        string           `json:"type"`
			Coordinates [][][][2]float64 `json:"coordinates"`
		} `json:"geometry"`
	} `json:"features"`
}

// areaKm2 is a polygon's area (outer ring less holes), on a sphere of
// the Earth's mean radius, with longitudes scaled by the cosine of each
// ring's mean latitude (exact enough over a district: well under 1%).
func areaKm2(poly [][][2]float64) float64 {
	const r = 6371.0088
	ring := func(pts [][2]float64) float64 {
		var lat float64
		for _, p := range pts {
			lat += p[1]
		}
		k := math.Cos(lat / float64(len(pts)) * math.Pi / 180)
		var a float64
		for i := range len(pts) - 1 {
			a += pts[i][0]*k*pts[i+1][1] - pts[i+1][0]*k*pts[i][1]
		}
		return math.Abs(a/2) * math.Pow(math.Pi/180*r, 2)
	}
	a := ring(poly[0])
	for _, h := range poly[1:] {
		a -= ring(h)
	}
	return a
}

// TestMapHasTheDistricts checks the embedded map: Lai Châu's eight
// districts, each mapped to one district of the embedded dataset, with
// its provenance, closed rings inside the bbox, and Phong Thổ's shape
// where Phong Thổ is.
func TestMapHasTheDistricts(t *testing.T) {
	b, err := fs.ReadFile(Data, "lai-chau-districts.geo.json")
	require.NoError(t, err)
	var g geoJSON
	require.NoError(t, json.Unmarshal(b, &g))
	require.Equal(t, "gis-lai-chau-districts", g.Provenance.Source)

	f, err := datasets.LaiChau().Open("units.csv")
	require.NoError(t, err)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	require.NoError(t, err)
	var want []string
	for _, r := range rows[1:] {
		if r[3] == "district" && r[4] == "vn.lai-chau" {
			want = append(want, r[0])
		}
	}
	require.Len(t, want, 8)

	var got []string
	area := map[string]float64{}
	for _, ft := range g.Features {
		got = append(got, ft.Properties.Code)
		require.Equal(t, "MultiPolygon", ft.Geometry.Type)
		require.NotEmpty(t, ft.Geometry.Coordinates)
		for _, poly := range ft.Geometry.Coordinates {
			for _, ring := range poly {
				require.GreaterOrEqual(t, len(ring), 4)
				require.Equal(t, ring[0], ring[len(ring)-1], "%s: a ring is closed", ft.Properties.Code)
				for _, p := range ring {
					require.True(t, p[0] >= g.BBox[0] && p[0] <= g.BBox[2] && p[1] >= g.BBox[1] && p[1] <= g.BBox[3], "%s: %v outside the bbox", ft.Properties.Code, p)
				}
			}
			area[ft.Properties.Code] += areaKm2(poly)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	require.Equal(t, want, got, "one feature per district of the dataset")

	// Phong Thổ's natural area is 1,029.31 km² (document
	// 002_216ab9d5d6ee3cb7, line 25, "1.029,31km²"). The shape mapped to
	// it must cover that within 3% (simplification moves the outline by
	// at most 0.001°); the source files Phong Thổ's shape under Sìn Hồ,
	// whose shape covers about 1,528 km² (see Swapped in mkgeo).
	require.InEpsilon(t, 1029.31, area["vn.lai-chau.phong-tho"], 0.03, "area of the shape mapped to Phong Thổ")
	require.NotEmpty(t, g.Provenance.Corrections)
	// Phong Thổ borders China, north of Lai Châu city: its centre is
	// north of the city's.
	centre := map[string][2]float64{}
	for _, ft := range g.Features {
		centre[ft.Properties.Code] = ft.Properties.Centre
	}
	require.Greater(t, centre["vn.lai-chau.phong-tho"][1], centre["vn.lai-chau.tp-lai-chau"][1])
}
