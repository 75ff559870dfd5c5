// Command mkgeo turns the district boundaries of Lai Châu
// (../shared/sources/gis-lai-chau-districts.json, source id
// gis-lai-chau-districts) into the compact GeoJSON the explorer's map
// draws (web/data/lai-chau-districts.geo.json): each district's polygons
// simplified (Douglas–Peucker) and rounded, with its chiso unit code
// matched by name against the dataset's units, and the provenance in the
// file. Run from the repository root:
//
//	go run ./web/mkgeo
//
// A test (mkgeo_test.go) runs the conversion again and requires the
// committed file to be its output.
package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// Tolerance is the simplification's, in degrees (0.001° is about 100 m
// at Lai Châu's latitude; the map draws a degree in about 450 pixels, so
// half a pixel); Decimals is the coordinates' rounding (about 10 m).
const (
	Tolerance = 0.001
	Decimals  = 4
	SourceID  = "gis-lai-chau-districts"
)

func main() {
	src := flag.String("src", "../shared/sources/gis-lai-chau-districts.json", "the district boundaries")
	units := flag.String("units", "datasets/laichau/units.csv", "the dataset's units table")
	out := flag.String("out", "web/data/lai-chau-districts.geo.json", "where to write the GeoJSON")
	flag.Parse()
	if err := run(*src, *units, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mkgeo:", err)
		os.Exit(1)
	}
}

func run(srcPath, unitsPath, outPath string) error {
	src, err := os.ReadFile(srcPath)
	if err != nil {
		return err
	}
	uf, err := os.Open(unitsPath)
	if err != nil {
		return err
	}
	defer uf.Close()
	units, err := readUnits(uf)
	if err != nil {
		return fmt.Errorf("%s: %w", unitsPath, err)
	}
	b, err := Convert(src, units)
	if err != nil {
		return fmt.Errorf("%s: %w", srcPath, err)
	}
	return os.WriteFile(outPath, b, 0o644)
}

// Unit is a row of the dataset's units table.
type Unit struct{ Code, NameVi, Level, Parent string }

func readUnits(r io.Reader) ([]Unit, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no header")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, c := range []string{"code", "name_vi", "level", "parent"} {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("no column %q", c)
		}
	}
	var out []Unit
	for _, r := range rows[1:] {
		out = append(out, Unit{r[col["code"]], r[col["name_vi"]], r[col["level"]], r[col["parent"]]})
	}
	return out, nil
}

type source struct {
	Level1ID string `json:"level1_id"`
	Name     string `json:"name"`
	Level2s  []struct {
		Level2ID    string           `json:"level2_id"`
		Name        string           `json:"name"`
		Type        string           `json:"type"`
		Coordinates [][][][2]float64 `json:"coordinates"`
	} `json:"level2s"`
}

// Province is the chiso unit whose districts the source draws.
const Province = "vn.lai-chau"

// Swapped are districts (level2_id) whose geometries the source files
// under each other's name. The polygon filed under 108 (Sìn Hồ) covers
// about 1,038 km² on the Chinese border north of Lai Châu city, which is
// Phong Thổ: its natural area is 1,029.31 km² (document
// 002_216ab9d5d6ee3cb7, line 25, "1.029,31km²"); the one under 109 (Phong
// Thổ) covers about 1,528 km² to the south-west, where Sìn Hồ is. The
// names and codes agree with the GSO register (gso-units-20250301); only
// the geometries are exchanged. mkgeo_test.go checks the areas.
var Swapped = [][2]string{{"108", "109"}}

// Convert writes the compact GeoJSON of src's districts, each matched to
// one district of units under Province: the source's name without its
// type ("Huyện ") equals the unit's name_vi, or the whole name does
// (Thành phố Lai Châu). Every district must match exactly one unit and
// every district unit one district.
func Convert(src []byte, units []Unit) ([]byte, error) {
	var s source
	if err := json.Unmarshal(src, &s); err != nil {
		return nil, err
	}
	byName := map[string]string{}
	for _, u := range units {
		if u.Level == "district" && u.Parent == Province {
			byName[u.NameVi] = u.Code
		}
	}
	geom := map[string][][][][2]float64{}
	for _, d := range s.Level2s {
		geom[d.Level2ID] = d.Coordinates
	}
	var corrections []string
	for _, sw := range Swapped {
		a, b := geom[sw[0]], geom[sw[1]]
		if a == nil || b == nil {
			return nil, fmt.Errorf("correction: districts %s and %s are not both in the source", sw[0], sw[1])
		}
		geom[sw[0]], geom[sw[1]] = b, a
		corrections = append(corrections, fmt.Sprintf("the geometries filed under %s and %s are exchanged (the source has each under the other's name; see Swapped in web/mkgeo)", sw[0], sw[1]))
	}
	used := map[string]string{}
	type feature struct {
		Type       string `json:"type"`
		Properties struct {
			Code    string     `json:"code"`
			GSOCode string     `json:"gsoCode"`
			Name    string     `json:"name"`
			Centre  [2]float64 `json:"centre"`
		} `json:"properties"`
		Geometry struct {
			Type        string           `json:"type"`
			Coordinates [][][][2]float64 `json:"coordinates"`
		} `json:"geometry"`
	}
	var feats []feature
	bbox := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	points := 0
	for _, d := range s.Level2s {
		code, ok := byName[strings.TrimPrefix(d.Name, "Huyện ")]
		if !ok {
			code, ok = byName[d.Name]
		}
		if !ok {
			return nil, fmt.Errorf("district %s %q: no district of %s in the units has that name", d.Level2ID, d.Name, Province)
		}
		if prev, dup := used[code]; dup {
			return nil, fmt.Errorf("districts %s and %s both match %s", prev, d.Level2ID, code)
		}
		used[code] = d.Level2ID
		if d.Type != "MultiPolygon" {
			return nil, fmt.Errorf("district %s: geometry %q, expected MultiPolygon", d.Level2ID, d.Type)
		}
		var f feature
		f.Type = "Feature"
		f.Properties.Code, f.Properties.GSOCode, f.Properties.Name = code, d.Level2ID, d.Name
		f.Geometry.Type = "MultiPolygon"
		var best float64
		for _, poly := range geom[d.Level2ID] {
			var rings [][][2]float64
			for _, ring := range poly {
				r := roundRing(simplify(ring, Tolerance))
				if len(r) < 4 {
					continue
				}
				rings = append(rings, r)
				points += len(r)
				for _, p := range r {
					bbox[0], bbox[1] = min(bbox[0], p[0]), min(bbox[1], p[1])
					bbox[2], bbox[3] = max(bbox[2], p[0]), max(bbox[3], p[1])
				}
			}
			if len(rings) == 0 {
				continue
			}
			if a, c := centroid(rings[0]); a > best {
				best, f.Properties.Centre = a, [2]float64{round(c[0]), round(c[1])}
			}
			f.Geometry.Coordinates = append(f.Geometry.Coordinates, rings)
		}
		if len(f.Geometry.Coordinates) == 0 {
			return nil, fmt.Errorf("district %s: no polygon left after simplification", d.Level2ID)
		}
		feats = append(feats, f)
	}
	for name, code := range byName {
		if _, ok := used[code]; !ok {
			return nil, fmt.Errorf("unit %s (%s): no district of that name in the source", code, name)
		}
	}
	prov := map[string]any{
		"source":      SourceID,
		"file":        "gis-lai-chau-districts.json",
		"what":        "district boundaries of Lai Châu (GSO province code " + s.Level1ID + ", " + s.Name + "), from the government's administrative map service, as collected by the project dvhcvn",
		"asOf":        "before 2025-07-01 (districts were abolished on that date)",
		"simplified":  fmt.Sprintf("Douglas–Peucker, tolerance %g°, coordinates rounded to %d decimals; %d points", Tolerance, Decimals, points),
		"mapping":     "code: the chiso unit (datasets/laichau/units.csv) whose name_vi is the source's name without \"Huyện \" (or the whole name); gsoCode: the source's level2_id",
		"corrections": corrections,
		"generator":   "go run ./web/mkgeo",
	}
	var buf bytes.Buffer
	head, err := json.Marshal(map[string]any{"type": "FeatureCollection", "provenance": prov, "bbox": []float64{round(bbox[0]), round(bbox[1]), round(bbox[2]), round(bbox[3])}})
	if err != nil {
		return nil, err
	}
	buf.Write(head[:len(head)-1])
	buf.WriteString(",\"features\":[\n")
	for i, f := range feats {
		b, err := json.Marshal(f)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
		if i < len(feats)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]}\n")
	return buf.Bytes(), nil
}

func round(v float64) float64 {
	p := math.Pow(10, Decimals)
	return math.Round(v*p) / p
}

// roundRing rounds a ring's coordinates and drops points that became
// equal to the one before.
func roundRing(r [][2]float64) [][2]float64 {
	var out [][2]float64
	for _, p := range r {
		q := [2]float64{round(p[0]), round(p[1])}
		if len(out) > 0 && out[len(out)-1] == q {
			continue
		}
		out = append(out, q)
	}
	return out
}

// simplify is Douglas–Peucker on a closed ring: the first point is kept
// with the point farthest from it, and each half is simplified on its own.
func simplify(r [][2]float64, tol float64) [][2]float64 {
	if len(r) < 5 {
		return r
	}
	far, fd := 0, -1.0
	for i, p := range r {
		if d := math.Hypot(p[0]-r[0][0], p[1]-r[0][1]); d > fd {
			far, fd = i, d
		}
	}
	keep := make([]bool, len(r))
	keep[0], keep[far], keep[len(r)-1] = true, true, true
	dp(r, 0, far, tol, keep)
	dp(r, far, len(r)-1, tol, keep)
	var out [][2]float64
	for i, p := range r {
		if keep[i] {
			out = append(out, p)
		}
	}
	return out
}

func dp(r [][2]float64, a, b int, tol float64, keep []bool) {
	if b-a < 2 {
		return
	}
	idx, dmax := -1, tol
	for i := a + 1; i < b; i++ {
		if d := segDist(r[i], r[a], r[b]); d > dmax {
			idx, dmax = i, d
		}
	}
	if idx < 0 {
		return
	}
	keep[idx] = true
	dp(r, a, idx, tol, keep)
	dp(r, idx, b, tol, keep)
}

func segDist(p, a, b [2]float64) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	l2 := dx*dx + dy*dy
	if l2 == 0 {
		return math.Hypot(p[0]-a[0], p[1]-a[1])
	}
	t := max(0, min(1, ((p[0]-a[0])*dx+(p[1]-a[1])*dy)/l2))
	return math.Hypot(p[0]-a[0]-t*dx, p[1]-a[1]-t*dy)
}

// centroid is a ring's area (absolute) and area-weighted centre.
func centroid(r [][2]float64) (float64, [2]float64) {
	var a, cx, cy float64
	for i := range len(r) - 1 {
		p, q := r[i], r[i+1]
		c := p[0]*q[1] - q[0]*p[1]
		a += c
		cx += (p[0] + q[0]) * c
		cy += (p[1] + q[1]) * c
	}
	if a == 0 {
		return 0, r[0]
	}
	return math.Abs(a / 2), [2]float64{cx / (3 * a), cy / (3 * a)}
}
