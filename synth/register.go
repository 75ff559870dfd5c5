package synth

import (
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"sync"

	"chiso/datasets"
)

// RegisterDay is the day of the Statistics Office's register the real
// tree is taken from (datasets/vietnam, README "The hierarchy over time").
const RegisterDay = "2025-03-01"

// regUnit is one unit of the register: a province, district or commune
// valid on RegisterDay.
type regUnit struct {
	code, nameVI, nameEN, parent, officialCode, typ string
	level                                           uint8
}

var (
	registerOnce  sync.Once
	registerUnits []regUnit
	registerErr   error
)

// register reads the embedded register's tree of RegisterDay: the units
// of datasets/vietnam and datasets/laichau (which holds Lai Châu and the
// units its figures are about) with an official code, at province,
// district or commune level, valid that day.
func register() ([]regUnit, error) {
	registerOnce.Do(func() {
		for _, d := range []struct {
			name string
			fs   fs.FS
		}{{"datasets/laichau", datasets.LaiChau()}, {"datasets/vietnam", datasets.Vietnam()}} {
			us, err := readRegister(d.fs, d.name)
			if err != nil {
				registerErr = err
				return
			}
			registerUnits = append(registerUnits, us...)
		}
	})
	return registerUnits, registerErr
}

func readRegister(fsys fs.FS, name string) ([]regUnit, error) {
	f, err := fsys.Open("units.csv")
	if err != nil {
		return nil, fmt.Errorf("synth: register %s: %w", name, err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("synth: register %s/units.csv: %w", name, err)
	}
	col := map[string]int{}
	for i, c := range head {
		col[c] = i
	}
	for _, c := range []string{"code", "name_vi", "name_en", "level", "parent", "valid_from", "valid_to", "official_code", "type"} {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("synth: register %s/units.csv: no column %s", name, c)
		}
	}
	levels := map[string]uint8{"province": levelProvince, "district": levelDistrict, "commune": levelCommune}
	var out []regUnit
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("synth: register %s/units.csv: %w", name, err)
		}
		l, ok := levels[rec[col["level"]]]
		from, to := rec[col["valid_from"]], rec[col["valid_to"]]
		if !ok || rec[col["official_code"]] == "" || from != "" && from > RegisterDay || to != "" && to < RegisterDay {
			continue
		}
		out = append(out, regUnit{code: rec[col["code"]], nameVI: rec[col["name_vi"]], nameEN: rec[col["name_en"]],
			parent: rec[col["parent"]], officialCode: rec[col["official_code"]], typ: rec[col["type"]], level: l})
	}
	return out, nil
}

// RegisterShape returns the numbers of provinces, districts and communes
// of the register's tree (63, 696 and 10,047).
func RegisterShape() (provinces, districts, communes int, err error) {
	us, err := register()
	if err != nil {
		return 0, 0, 0, err
	}
	var n [4]int
	for _, u := range us {
		n[u.level]++
	}
	return n[levelProvince], n[levelDistrict], n[levelCommune], nil
}

// buildRegisterUnits lays out the register's tree in depth-first order,
// siblings by official code (as the register lists them).
func buildRegisterUnits() ([]unit, error) {
	us, err := register()
	if err != nil {
		return nil, err
	}
	kids := map[string][]regUnit{}
	for _, u := range us {
		kids[u.parent] = append(kids[u.parent], u)
	}
	for _, k := range kids {
		sort.Slice(k, func(i, j int) bool { return k[i].officialCode < k[j].officialCode })
	}
	units := []unit{{code: "vn", nameVI: "Việt Nam", nameEN: "Viet Nam", level: levelCountry, parent: -1}}
	var ord [4]int
	var walk func(parent int, want uint8) error
	walk = func(parent int, want uint8) error {
		code := units[parent].code
		units[parent].first = ord[want]
		for _, k := range kids[code] {
			if k.level != want {
				return fmt.Errorf("synth: register: %s (%s) is under %s, expected a %s", k.code, levelNames[k.level], code, levelNames[want])
			}
			i := len(units)
			units = append(units, unit{code: k.code, nameVI: k.nameVI, nameEN: k.nameEN, officialCode: k.officialCode, typ: k.typ,
				level: want, parent: parent, ord: ord[want]})
			ord[want]++
			if want == levelProvince {
				units[i].communes[0] = ord[levelCommune]
			}
			if want < levelCommune {
				if err := walk(i, want+1); err != nil {
					return err
				}
			}
			if want == levelProvince {
				units[i].communes[1] = ord[levelCommune]
			}
		}
		units[parent].end = ord[want]
		return nil
	}
	if err := walk(0, levelProvince); err != nil {
		return nil, err
	}
	if n := len(units) - 1; n != len(us) {
		return nil, fmt.Errorf("synth: register: %d of its %d units are not under the country's provinces and districts", len(us)-n, len(us))
	}
	return units, nil
}
