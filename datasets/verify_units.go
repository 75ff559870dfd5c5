package datasets

import (
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"chiso/datasets/register"
	"chiso/indicator"
)

// UnitReport summarises the check of units' and unit changes' locators.
type UnitReport struct {
	Units, UnitsChecked     int // rows citing a source; those found where cited
	Changes, ChangesChecked int
	Problems                []Problem
}

var lineLocator = regexp.MustCompile(`\blines? (\d+)(?:–(\d+))?`)

// VerifyUnits checks, in each dataset folder (name → files), that every
// unit row citing a source is found where its locator says, in the
// documents of src (../shared/sources): a register code path (12/105/03190)
// must exist, end in the row's official code, and name the unit (the
// register's name without its type word, accents and spaces aside); a
// line ("line 414", "lines 151–152") must hold the unit's name (and its
// official code, if any). Every unit change's cited lines must hold the
// predecessor's name (as the register writes it, or as resolution 1670
// spells it, register.Spellings); an abolished unit's cited lines must
// exist. Names are compared composed and without spaces, as the
// conversions to Markdown lost some spaces and wrapped names over lines.
func VerifyUnits(folders map[string]fs.FS, src fs.FS) (UnitReport, error) {
	var rep UnitReport
	reg, err := register.RegisterNames(src)
	if err != nil {
		return rep, err
	}
	doc := documents(src, func(id string) (string, bool) {
		name, ok := register.SourceFiles[id]
		return name, ok
	})
	// cited returns the cited lines of a document, joined.
	cited := func(id, loc string) (string, error) {
		m := lineLocator.FindStringSubmatch(loc)
		if m == nil {
			return "", fmt.Errorf("locator %q names no line", loc)
		}
		lines, err := doc(id)
		if err != nil {
			return "", err
		}
		a, _ := strconv.Atoi(m[1])
		b := a
		if m[2] != "" {
			b, _ = strconv.Atoi(m[2])
		}
		if a < 1 || b < a || b > len(lines) {
			return "", fmt.Errorf("locator %q: the document has %d lines", loc, len(lines))
		}
		return strings.ReplaceAll(strings.Join(lines[a-1:b], "\n"), "<br>", " "), nil
	}
	spelt := map[string]string{}
	for _, s := range register.Spellings {
		spelt[s.OfficialCode] = s.Resolution
	}
	units := map[string]row{}
	for _, folder := range sortedKeys(folders) {
		rows, err := readTable(folders[folder], "units.csv")
		if err != nil {
			return rep, err
		}
		file := folder + "/units.csv"
		for _, r := range rows {
			units[r.get("code")] = r
			id, loc := r.get("source_id"), r.get("locator")
			if id == "" {
				continue
			}
			rep.Units++
			bad := func(format string, a ...any) {
				rep.Problems = append(rep.Problems, Problem{File: file, Line: r.line, Check: "unit-locator", Msg: fmt.Sprintf("unit %s: ", r.get("code")) + fmt.Sprintf(format, a...)})
			}
			name := register.Compact(register.PlainName(r.get("name_vi")))
			if id == register.SrcRegister {
				got, ok := reg[loc]
				switch {
				case !ok:
					bad("code path %q is not in the register", loc)
				case loc[strings.LastIndex(loc, "/")+1:] != r.get("official_code"):
					bad("code path %q does not end in the official code %q", loc, r.get("official_code"))
				case register.Compact(register.PlainName(got)) != register.Compact(r.get("name_vi")) && register.Compact(register.PlainName(got)) != name:
					bad("the register names %s %q, not %q", loc, got, r.get("name_vi"))
				default:
					rep.UnitsChecked++
				}
				continue
			}
			text, err := cited(id, loc)
			if err != nil {
				bad("%v", err)
				continue
			}
			if !strings.Contains(register.Compact(text), name) || !strings.Contains(text, r.get("official_code")) {
				bad("%q (code %s) is not on %s of %s", r.get("name_vi"), r.get("official_code"), loc, id)
				continue
			}
			rep.UnitsChecked++
		}
	}
	for _, folder := range sortedKeys(folders) {
		if _, err := fs.Stat(folders[folder], "unit_changes.csv"); err != nil {
			continue
		}
		rows, err := readTable(folders[folder], "unit_changes.csv")
		if err != nil {
			return rep, err
		}
		for _, r := range rows {
			rep.Changes++
			bad := func(format string, a ...any) {
				rep.Problems = append(rep.Problems, Problem{File: folder + "/unit_changes.csv", Line: r.line, Check: "change-locator",
					Msg: fmt.Sprintf("%s → %s: ", r.get("predecessor"), r.get("successor")) + fmt.Sprintf(format, a...)})
			}
			text, err := cited(r.get("source_id"), r.get("locator"))
			if err != nil {
				bad("%v", err)
				continue
			}
			if r.get("kind") == "abolished" {
				rep.ChangesChecked++
				continue
			}
			p, ok := units[r.get("predecessor")]
			if !ok {
				bad("unknown predecessor")
				continue
			}
			want := []string{register.Compact(register.PlainName(p.get("name_vi")))}
			if s, ok := spelt[p.get("official_code")]; ok {
				want = append(want, register.Compact(s))
			}
			// As the converter matches: as written, else without
			// diacritics (the register writes Tà Gia, Pa Khoá where the
			// resolution writes Ta Gia, Pa Khóa).
			found := false
			for _, w := range want {
				found = found || strings.Contains(register.Compact(text), w) || strings.Contains(indicator.Fold(register.Compact(text)), indicator.Fold(w))
			}
			if !found {
				bad("%q is not on %s", p.get("name_vi"), r.get("locator"))
				continue
			}
			rep.ChangesChecked++
		}
	}
	return rep, nil
}

func sortedKeys(m map[string]fs.FS) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
