// Package register converts the administrative sources in
// ../shared/sources (the Statistics Office's register of 2025-03-01, the
// codes of the 34 provinces and 3,321 communes after the 2025 reform, and
// resolution 1670 on Lai Châu's communes) into chiso's unit tables: the
// dataset folder datasets/vietnam and the official columns of
// datasets/laichau/units.csv. The conversion is deterministic: run it
// again on the same sources and it writes the same bytes
// (go run ./datasets/cmd/register).
package register

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"chiso/indicator"
)

// Source ids (the sources README's ids, cited in the sources tables).
const (
	SrcRegister    = "gso-units-20250301"
	SrcResolution  = "1670_NQ-UBTVQH15"
	SrcCommunes    = "1027_CTK-CSCL"
	SrcProvinces   = "915_CTK-CSCL"
	fileRegister   = "gso-units-20250301.json"
	fileResolution = "1670_NQ-UBTVQH15.md"
	fileCommunes   = "1027_CTK-CSCL.md"
	fileProvinces  = "915_CTK-CSCL.csv"
	// LastOld is the last day of the old tree; Reform the first of the new.
	LastOld = "2025-06-30"
	Reform  = "2025-07-01"
	// laiChau is Lai Châu's official code: the one province whose
	// territory and code the sources say were kept (sources README).
	laiChau     = "12"
	laiChauCode = "vn.lai-chau"
	country     = "vn"
)

// Row is one unit row of the generated tables.
type Row struct {
	Code, NameVI, NameEN, Level, Parent, ValidFrom, ValidTo string
	OfficialCode, Type, Source, Locator                     string
}

// Change is one row of unit_changes.
type Change struct {
	Predecessor, Successor, Date, Kind, Share, Source, Locator string
}

// UnitColumns is the header of the generated units tables.
var UnitColumns = []string{"code", "name_vi", "name_en", "level", "parent", "valid_from", "valid_to", "official_code", "type", "source_id", "locator"}

// ChangeColumns is the header of unit_changes.
var ChangeColumns = []string{"predecessor", "successor", "date", "kind", "share", "source_id", "locator"}

func (r Row) values() []string {
	return []string{r.Code, r.NameVI, r.NameEN, r.Level, r.Parent, r.ValidFrom, r.ValidTo, r.OfficialCode, r.Type, r.Source, r.Locator}
}

// Result is what Convert produces: file name (relative to datasets/) to
// bytes.
type Result map[string][]byte

// typeWords are the type words a register name may begin with, longest
// first.
var typeWords = []string{"thành phố", "thị trấn", "thị xã", "phường", "huyện", "quận", "tỉnh", "xã", "tp"}

// plainName returns a name without its leading type word ("Huyện Tam
// Đường" → "Tam Đường"), keeping it when what remains is a number
// ("Phường 12") or nothing.
func plainName(name string) string {
	name = strings.Join(strings.Fields(name), " ")
	low := strings.ToLower(name)
	for _, w := range typeWords {
		if strings.HasPrefix(low, w+" ") {
			rest := strings.TrimSpace(name[len(w):])
			if rest == "" || unicode.IsDigit([]rune(rest)[0]) {
				return name
			}
			// The register once writes the type word twice ("Phường
			// Phường Đúc", 46/474/19780): the name is what follows both.
			if strings.HasPrefix(strings.ToLower(rest), w+" ") {
				rest = strings.TrimSpace(rest[len(w):])
			}
			return rest
		}
	}
	return name
}

// Slug folds a name into a code segment: lower-case ASCII letters and
// digits, other runs become one '-'.
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range indicator.Fold(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}

// compact folds a name for matching across the conversions' slips:
// lower-case, no diacritics kept apart, no spaces or punctuation.
func compact(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(norm.NFC.String(s)) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Compact is the folding the converter matches names with (exported for
// the verifier).
func Compact(s string) string { return compact(s) }

// PlainName is a name without its leading type word (exported for the
// verifier).
func PlainName(s string) string { return plainName(s) }

// SourceFiles maps each source id to its file in ../shared/sources.
var SourceFiles = map[string]string{SrcRegister: fileRegister, SrcResolution: fileResolution, SrcCommunes: fileCommunes, SrcProvinces: fileProvinces}

// RegisterNames reads the register and returns, per code path (12,
// 12/105, 12/105/03190), the name as the register writes it.
func RegisterNames(src fs.FS) (map[string]string, error) {
	b, err := fs.ReadFile(src, fileRegister)
	if err != nil {
		return nil, err
	}
	var reg register
	if err := json.Unmarshal(b, &reg); err != nil {
		return nil, fmt.Errorf("%s: %w", fileRegister, err)
	}
	out := map[string]string{}
	for _, p := range reg.Data {
		out[p.ID] = p.Name
		for _, d := range p.Level2 {
			out[p.ID+"/"+d.ID] = d.Name
			for _, x := range d.Level3 {
				out[p.ID+"/"+d.ID+"/"+x.ID] = x.Name
			}
		}
	}
	return out, nil
}

// register is the JSON of gso-units-20250301.json.
type register struct {
	Data []struct {
		ID     string `json:"level1_id"`
		Name   string `json:"name"`
		Type   string `json:"type"`
		Level2 []struct {
			ID     string `json:"level2_id"`
			Name   string `json:"name"`
			Type   string `json:"type"`
			Level3 []struct {
				ID   string `json:"level3_id"`
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"level3s"`
		} `json:"level2s"`
	} `json:"data"`
}

// Convert reads the sources in src and the current datasets/laichau/units.csv
// (laichau) and returns the generated files.
func Convert(src fs.FS, laichau []byte) (Result, error) {
	c := &conv{codes: map[string]string{}}
	if err := c.readLaiChau(laichau); err != nil {
		return nil, err
	}
	if err := c.readRegister(src); err != nil {
		return nil, err
	}
	if err := c.readProvinces(src); err != nil {
		return nil, err
	}
	if err := c.readCommunes(src); err != nil {
		return nil, err
	}
	if err := c.readResolution(src); err != nil {
		return nil, err
	}
	return c.output()
}

type conv struct {
	lcHeader []string
	lcRows   [][]string
	lcByKey  map[string]int // parent code + "\x00" + folded name -> row index in lcRows
	rows     []Row
	codes    map[string]string // chiso code -> what defined it
	// old Lai Châu communes by official code, and their rows
	lcOld map[string]Row
	// new units by official code (1027), and new provinces by code (915)
	newByOC   map[string]Row
	provinces map[string]Row // 915 code -> new province row (Lai Châu: the old one)
	changes   []Change
}

func (c *conv) readLaiChau(b []byte) error {
	r := csv.NewReader(bytes.NewReader(b))
	recs, err := r.ReadAll()
	if err != nil {
		return fmt.Errorf("laichau/units.csv: %w", err)
	}
	if len(recs) == 0 {
		return fmt.Errorf("laichau/units.csv: empty")
	}
	c.lcHeader = recs[0]
	col := map[string]int{}
	for i, h := range c.lcHeader {
		col[h] = i
	}
	for _, want := range UnitColumns {
		if _, ok := col[want]; !ok {
			c.lcHeader = append(c.lcHeader, want)
			col[want] = len(c.lcHeader) - 1
		}
	}
	c.lcByKey = map[string]int{}
	for _, rec := range recs[1:] {
		for len(rec) < len(c.lcHeader) {
			rec = append(rec, "")
		}
		c.lcRows = append(c.lcRows, rec)
		code := rec[col["code"]]
		c.codes[code] = "laichau/units.csv"
		c.lcByKey[rec[col["parent"]]+"\x00"+Slug(plainName(rec[col["name_vi"]]))] = len(c.lcRows) - 1
	}
	return nil
}

func (c *conv) lcCol(name string) int {
	for i, h := range c.lcHeader {
		if h == name {
			return i
		}
	}
	panic("no column " + name)
}

// claim records a chiso code, refusing a duplicate.
func (c *conv) claim(code, what string) error {
	if prev, dup := c.codes[code]; dup {
		return fmt.Errorf("code %q of %s is already the code of %s", code, what, prev)
	}
	c.codes[code] = what
	return nil
}

// place is a unit of the register waiting for its code.
type place struct {
	row  Row
	slug string
}

// assign gives siblings their codes: parent + "." + slug, with the
// official code appended to every sibling sharing a slug. A unit that
// datasets/laichau already defines keeps its code there and only gains
// the register's columns.
func (c *conv) assign(parent string, kids []place, validTo string, fromRegister bool) ([]Row, error) {
	count := map[string]int{}
	for _, k := range kids {
		count[k.slug]++
	}
	out := make([]Row, 0, len(kids))
	for _, k := range kids {
		r := k.row
		r.Parent, r.ValidTo = parent, validTo
		if i, ok := c.lcByKey[parent+"\x00"+Slug(r.NameVI)]; ok && fromRegister && c.lcRows[i][c.lcCol("level")] == r.Level {
			rec := c.lcRows[i]
			rec[c.lcCol("official_code")], rec[c.lcCol("type")] = r.OfficialCode, r.Type
			rec[c.lcCol("source_id")], rec[c.lcCol("locator")] = r.Source, r.Locator
			rec[c.lcCol("valid_to")] = validTo
			r.Code = rec[c.lcCol("code")]
			r.NameVI = rec[c.lcCol("name_vi")]
			r.Level = "" // marks a row kept in laichau
			out = append(out, r)
			continue
		}
		seg := k.slug
		if count[seg] > 1 {
			seg += "-" + r.OfficialCode
		}
		r.Code = parent + "." + seg
		if err := c.claim(r.Code, r.Source+" "+r.Locator); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func lowerType(t string) string { return strings.ToLower(strings.Join(strings.Fields(t), " ")) }

func (c *conv) readRegister(src fs.FS) error {
	b, err := fs.ReadFile(src, fileRegister)
	if err != nil {
		return err
	}
	var reg register
	if err := json.Unmarshal(b, &reg); err != nil {
		return fmt.Errorf("%s: %w", fileRegister, err)
	}
	c.lcOld = map[string]Row{}
	var provs []place
	for _, p := range reg.Data {
		n := plainName(p.Name)
		provs = append(provs, place{Row{NameVI: n, Level: "province", OfficialCode: p.ID, Type: lowerType(p.Type), Source: SrcRegister, Locator: p.ID}, Slug(n)})
	}
	// Lai Châu continues past the reform; every other province of the 63
	// ends with the old tree (see readProvinces).
	provRows, err := c.assignProvinces(provs)
	if err != nil {
		return err
	}
	for pi, p := range reg.Data {
		prov := provRows[pi]
		c.emit(prov)
		var dists []place
		for _, d := range p.Level2 {
			n := plainName(d.Name)
			dists = append(dists, place{Row{NameVI: n, Level: "district", OfficialCode: d.ID, Type: lowerType(d.Type), Source: SrcRegister, Locator: p.ID + "/" + d.ID}, Slug(n)})
		}
		distRows, err := c.assign(prov.Code, dists, LastOld, true)
		if err != nil {
			return err
		}
		for di, d := range p.Level2 {
			dist := distRows[di]
			c.emit(dist)
			var comms []place
			for _, x := range d.Level3 {
				n := plainName(x.Name)
				comms = append(comms, place{Row{NameVI: n, Level: "commune", OfficialCode: x.ID, Type: lowerType(x.Type), Source: SrcRegister, Locator: p.ID + "/" + d.ID + "/" + x.ID}, Slug(n)})
			}
			commRows, err := c.assign(dist.Code, comms, LastOld, true)
			if err != nil {
				return err
			}
			for _, r := range commRows {
				c.emit(r)
				if p.ID == laiChau {
					c.lcOld[r.OfficialCode] = r
				}
			}
		}
	}
	return nil
}

func (c *conv) assignProvinces(provs []place) ([]Row, error) {
	var out []Row
	rows, err := c.assign(country, provs, LastOld, true)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r.OfficialCode == laiChau {
			if r.Level != "" {
				return nil, fmt.Errorf("province %s is not in laichau/units.csv", laiChau)
			}
			rec := c.lcRows[c.lcByKey[country+"\x00"+Slug(r.NameVI)]]
			rec[c.lcCol("valid_to")] = ""
		}
		out = append(out, r)
	}
	return out, nil
}

// emit adds a generated row (rows kept in laichau are not repeated).
func (c *conv) emit(r Row) {
	if r.Level != "" {
		c.rows = append(c.rows, r)
	}
}

// provinceKey matches a province's name across the sources: folded,
// without its type word.
func provinceKey(name string) string { return compact(indicator.Fold(plainName(name))) }

func (c *conv) readProvinces(src fs.FS) error {
	f, err := src.Open(fileProvinces)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	recs, err := r.ReadAll()
	if err != nil {
		return fmt.Errorf("%s: %w", fileProvinces, err)
	}
	c.provinces = map[string]Row{}
	for i, rec := range recs[1:] {
		line := i + 2
		if len(rec) < 3 {
			return fmt.Errorf("%s:%d: expected 3 fields", fileProvinces, line)
		}
		oc, name := strings.TrimSpace(rec[1]), strings.TrimSpace(rec[2])
		typ := "tỉnh"
		if strings.HasPrefix(strings.ToLower(name), "thành phố ") {
			typ = "thành phố trung ương"
		}
		n := plainName(name)
		row := Row{NameVI: n, Level: "province", Parent: country, ValidFrom: Reform, OfficialCode: oc, Type: typ, Source: SrcProvinces, Locator: "line " + strconv.Itoa(line)}
		if oc == laiChau {
			row.Code, row.Level = laiChauCode, ""
		} else {
			prefix := "tinh-"
			if typ == "thành phố trung ương" {
				prefix = "thanh-pho-"
			}
			row.Code = country + "." + prefix + Slug(n)
			if err := c.claim(row.Code, fileProvinces+" line "+strconv.Itoa(line)); err != nil {
				return err
			}
		}
		c.provinces[provinceKey(n)] = row
		c.emit(row)
	}
	if len(c.provinces) != 34 {
		return fmt.Errorf("%s: %d provinces, expected 34", fileProvinces, len(c.provinces))
	}
	return nil
}

var (
	communeRow = regexp.MustCompile(`^\|\s*(\d+)\s*\|\s*(\d{5})\s*\|([^|]*)\|`)
	headingRow = regexp.MustCompile(`^\|\s*\|\s*\|\s*((?:TỈNH|THÀNH PHỐ)\s[^|]*)\|`)
	brTag      = regexp.MustCompile(`\s*<br>\s*`)
)

// readCommunes reads 1027's table: every commune and ward after the
// reform, under the province its section heading names.
func (c *conv) readCommunes(src fs.FS) error {
	f, err := src.Open(fileCommunes)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	c.newByOC = map[string]Row{}
	var prov Row
	var provs []Row
	byProv := map[string][]place{}
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if m := headingRow.FindStringSubmatch(t); m != nil {
			p, ok := c.provinces[provinceKey(m[1])]
			if !ok {
				return fmt.Errorf("%s:%d: heading %q names none of the 34 provinces", fileCommunes, line, strings.TrimSpace(m[1]))
			}
			prov = p
			provs = append(provs, p)
			continue
		}
		m := communeRow.FindStringSubmatch(t)
		if m == nil {
			continue
		}
		if prov.Code == "" {
			return fmt.Errorf("%s:%d: a commune before any province heading", fileCommunes, line)
		}
		full := strings.Join(strings.Fields(brTag.ReplaceAllString(m[3], " ")), " ")
		typ := ""
		switch low := strings.ToLower(full); {
		case strings.HasPrefix(low, "xã "):
			typ = "xã"
		case strings.HasPrefix(low, "phường "):
			typ = "phường"
		case strings.HasPrefix(low, "đặc khu "):
			typ = "đặc khu"
			full = strings.TrimSpace(full[len("đặc khu"):])
		default:
			return fmt.Errorf("%s:%d: %q is not a xã, phường or đặc khu", fileCommunes, line, full)
		}
		n := plainName(full)
		oc := m[2]
		if _, dup := c.newByOC[oc]; dup {
			return fmt.Errorf("%s:%d: code %s given twice", fileCommunes, line, oc)
		}
		r := Row{NameVI: n, Level: "commune", ValidFrom: Reform, OfficialCode: oc, Type: typ, Source: SrcCommunes, Locator: "line " + strconv.Itoa(line)}
		c.newByOC[oc] = r
		byProv[prov.Code] = append(byProv[prov.Code], place{r, Slug(typ) + "-" + Slug(n)})
	}
	if err := sc.Err(); err != nil {
		return err
	}
	for _, p := range provs {
		rows, err := c.assign(p.Code, byProv[p.Code], "", false)
		if err != nil {
			return err
		}
		for _, r := range rows {
			r.ValidTo = ""
			c.newByOC[r.OfficialCode] = r
			c.emit(r)
		}
	}
	if len(c.newByOC) != 3321 {
		return fmt.Errorf("%s: %d communes, expected 3,321", fileCommunes, len(c.newByOC))
	}
	return nil
}

var (
	clauseStart = regexp.MustCompile(`^(\d+)\\?\.\s*(.*)$`)
	successorRe = regexp.MustCompile(`thành(xã|phường)mớicótêngọilà(xã|phường)(.+)$`)
)

// text is a stretch of the resolution folded for matching, remembering
// the source line of every rune kept.
type text struct {
	s     []rune
	lines []int
}

func (t *text) add(s string, line int) {
	for _, r := range compact(s) {
		t.s = append(t.s, r)
		t.lines = append(t.lines, line)
	}
}

// lineSpan renders the lines of runes [i, j) as "line N" or "lines N–M".
func (t *text) lineSpan(i, j int) string {
	a, b := t.lines[i], t.lines[j-1]
	if a == b {
		return "line " + strconv.Itoa(a)
	}
	return fmt.Sprintf("lines %d–%d", a, b)
}

// readResolution maps each of Lai Châu's 106 old communes to its new
// commune, clause by clause of Article 1 of resolution 1670.
func (c *conv) readResolution(src fs.FS) error {
	b, err := fs.ReadFile(src, fileResolution)
	if err != nil {
		return err
	}
	lines := strings.Split(string(b), "\n")
	type clause struct {
		n     int
		start int
		t     text
	}
	var clauses []*clause
	var cur *clause
	inArticle1 := false
	for i, l := range lines {
		line := i + 1
		switch {
		case strings.HasPrefix(l, "**Điều 1."):
			inArticle1 = true
			continue
		case strings.HasPrefix(l, "**Điều 2."):
			inArticle1 = false
			cur = nil
		}
		if !inArticle1 {
			continue
		}
		if strings.TrimSpace(l) == "" {
			cur = nil
			continue
		}
		if m := clauseStart.FindStringSubmatch(l); m != nil && cur == nil {
			n, _ := strconv.Atoi(m[1])
			cur = &clause{n: n, start: line}
			clauses = append(clauses, cur)
			cur.t.add(m[2], line)
			continue
		}
		if cur != nil {
			cur.t.add(l, line)
		}
	}
	if len(clauses) != 37 {
		return fmt.Errorf("%s: %d clauses in Article 1, expected 37", fileResolution, len(clauses))
	}
	// The new communes of Lai Châu by folded name and type.
	newByName := map[string]Row{}
	for _, r := range c.newByOC {
		if r.Parent == laiChauCode {
			newByName[r.Type+"\x00"+compact(r.NameVI)] = r
		}
	}
	// Old communes by folded name (a name may be a xã and a thị trấn).
	var olds []oldUnit
	for _, r := range c.lcOld {
		olds = append(olds, oldUnit{r, []rune(compact(r.NameVI))})
	}
	sort.Slice(olds, func(i, j int) bool { return olds[i].r.OfficialCode < olds[j].r.OfficialCode })
	assigned := map[string]string{} // old official code -> clause
	type hit struct {
		o    oldUnit
		i, j int
	}
	type arranged struct {
		cl         *clause
		succ       Row
		pred, fold []rune
		hits       []hit
	}
	var arr []*arranged
	for _, cl := range clauses[:36] {
		s := string(cl.t.s)
		m := successorRe.FindStringSubmatchIndex(s)
		if m == nil {
			return fmt.Errorf("%s:%d: clause %d names no new commune", fileResolution, cl.start, cl.n)
		}
		typ, name := s[m[4]:m[5]], s[m[6]:m[7]]
		succ, ok := newByName[typ+"\x00"+name]
		if !ok {
			for _, r := range newByName {
				if r.Type == typ && foldRunes([]rune(compact(r.NameVI))) == foldRunes([]rune(name)) {
					succ, ok = r, true
				}
			}
		}
		if !ok {
			return fmt.Errorf("%s:%d: clause %d: new %s %q is not among Lai Châu's communes in %s", fileResolution, cl.start, cl.n, typ, name, fileCommunes)
		}
		pred := []rune(s[:m[0]])
		arr = append(arr, &arranged{cl: cl, succ: succ, pred: pred, fold: []rune(foldRunes(pred))})
	}
	covered := func(a *arranged, i, j int) bool {
		for _, h := range a.hits {
			if i < h.j && h.i < j {
				return true
			}
		}
		return false
	}
	// Pass 1: the register's spelling as written. A name inside a longer
	// old name's occurrence is not a mention; a name that is both a xã and
	// a thị trấn is the thị trấn only right after "thị trấn".
	for _, a := range arr {
		var hits []hit
		for _, o := range olds {
			for i := 0; i+len(o.name) <= len(a.pred); i++ {
				if string(a.pred[i:i+len(o.name)]) == string(o.name) {
					hits = append(hits, hit{o, i, i + len(o.name)})
				}
			}
		}
		for _, h := range hits {
			inside := false
			for _, g := range hits {
				if g.j-g.i > h.j-h.i && g.i <= h.i && h.j <= g.j {
					inside = true
				}
			}
			before := string(a.pred[max(0, h.i-7):h.i])
			isTown := strings.HasSuffix(before, "thịtrấn")
			if inside || (h.o.r.Type == "thị trấn") != isTown && twoTypes(olds, h.o) {
				continue
			}
			a.hits = append(a.hits, h)
		}
	}
	record := func() error {
		for _, a := range arr {
			for _, h := range a.hits {
				oc := h.o.r.OfficialCode
				if prev, dup := assigned[oc]; dup && prev != strconv.Itoa(a.cl.n) {
					return fmt.Errorf("%s: %s %s is in clause %s and clause %d", fileResolution, h.o.r.Type, h.o.r.NameVI, prev, a.cl.n)
				}
				assigned[oc] = strconv.Itoa(a.cl.n)
			}
		}
		return nil
	}
	if err := record(); err != nil {
		return err
	}
	// Pass 2: the rest without diacritics (the register writes Tà Gia, Pa
	// Vệ Sử, Pa Khoá where the resolution writes Ta Gia, Pa Vệ Sủ, Pa
	// Khóa), in text no other name took; a name found twice is refused.
	for _, o := range olds {
		if _, done := assigned[o.r.OfficialCode]; done {
			continue
		}
		f := []rune(foldRunes(o.name))
		var found []*arranged
		var at int
		for _, a := range arr {
			if i := indexRunes(a.fold, f); i >= 0 && !covered(a, i, i+len(f)) {
				found, at = append(found, a), i
			}
		}
		if len(found) > 1 {
			return fmt.Errorf("%s: %s %s (without diacritics) is in more than one clause", fileResolution, o.r.Type, o.r.NameVI)
		}
		if len(found) == 1 {
			found[0].hits = append(found[0].hits, hit{o, at, at + len(f)})
		}
	}
	if err := record(); err != nil {
		return err
	}
	// Pass 3: names the two texts spell differently (Spellings).
	for _, sp := range Spellings {
		var o *oldUnit
		for k := range olds {
			if olds[k].r.OfficialCode == sp.OfficialCode {
				o = &olds[k]
			}
		}
		if o == nil || o.r.NameVI != sp.Register {
			return fmt.Errorf("spelling table: %s is not %q in %s", sp.OfficialCode, sp.Register, fileRegister)
		}
		if _, done := assigned[o.r.OfficialCode]; done {
			return fmt.Errorf("spelling table: %s %s is found without it", o.r.Type, o.r.NameVI)
		}
		w := []rune(compact(sp.Resolution))
		var found []*arranged
		var at int
		for _, a := range arr {
			if i := indexRunes(a.pred, w); i >= 0 && !covered(a, i, i+len(w)) {
				found, at = append(found, a), i
			}
		}
		if len(found) != 1 {
			return fmt.Errorf("spelling table: %q is in %d clauses of %s, expected 1", sp.Resolution, len(found), fileResolution)
		}
		found[0].hits = append(found[0].hits, hit{*o, at, at + len(w)})
	}
	if err := record(); err != nil {
		return err
	}
	for _, a := range arr {
		if len(a.hits) < 2 {
			return fmt.Errorf("%s:%d: clause %d: %d old communes recognised, expected at least 2", fileResolution, a.cl.start, a.cl.n, len(a.hits))
		}
		sort.Slice(a.hits, func(i, j int) bool { return a.hits[i].i < a.hits[j].i })
		for _, h := range a.hits {
			c.changes = append(c.changes, Change{Predecessor: h.o.r.Code, Successor: a.succ.Code, Date: Reform, Kind: string(indicator.ChangeMerge), Source: SrcResolution,
				Locator: fmt.Sprintf("Điều 1 khoản %d, %s", a.cl.n, a.cl.t.lineSpan(h.i, h.j))})
		}
	}
	// Clause 37: the communes not rearranged keep name and code and now
	// hang under the province.
	cl := clauses[36]
	s := []rune(string(cl.t.s))
	key := []rune("khôngthựchiệnsắpxếp")
	at := indexRunes(s, key)
	if at < 0 {
		return fmt.Errorf("%s:%d: clause 37 names no unchanged commune", fileResolution, cl.start)
	}
	carried := 0
	for _, o := range olds {
		if _, done := assigned[o.r.OfficialCode]; done {
			continue
		}
		i := indexRunes(s[at:], o.name)
		if i < 0 {
			continue
		}
		i += at
		succ, ok := c.newByOC[o.r.OfficialCode]
		if !ok || compact(succ.NameVI) != string(o.name) || succ.Parent != laiChauCode {
			return fmt.Errorf("%s:%d: unchanged commune %s has no new commune of the same name and code in %s", fileResolution, cl.start, o.r.NameVI, fileCommunes)
		}
		assigned[o.r.OfficialCode] = "37"
		carried++
		c.changes = append(c.changes, Change{Predecessor: o.r.Code, Successor: succ.Code, Date: Reform, Kind: string(indicator.ChangeMove), Source: SrcResolution,
			Locator: fmt.Sprintf("Điều 1 khoản 37, %s", cl.t.lineSpan(i, i+len(o.name)))})
	}
	if carried != 2 {
		return fmt.Errorf("%s: %d unchanged communes in clause 37, expected 2", fileResolution, carried)
	}
	if len(assigned) != len(c.lcOld) {
		var missing []string
		for _, o := range olds {
			if _, ok := assigned[o.r.OfficialCode]; !ok {
				missing = append(missing, o.r.Type+" "+o.r.NameVI)
			}
		}
		return fmt.Errorf("%s: old communes in no clause: %s", fileResolution, strings.Join(missing, ", "))
	}
	return nil
}

// oldUnit is an old commune of Lai Châu with its folded name.
type oldUnit struct {
	r    Row
	name []rune
}

// twoTypes reports whether o's name belongs to old communes of two types.
func twoTypes(olds []oldUnit, o oldUnit) bool {
	n := 0
	for _, x := range olds {
		if string(x.name) == string(o.name) {
			n++
		}
	}
	return n > 1
}

// foldRunes removes diacritics rune by rune (the result has as many runes).
func foldRunes(rs []rune) string {
	var b strings.Builder
	for _, r := range rs {
		f := []rune(indicator.Fold(string(r)))
		if len(f) == 1 {
			r = f[0]
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Spelling is an old commune that resolution 1670 spells otherwise than
// the register (not a slip of the conversion: a different letter). The
// unit is the register's; the locator cites the resolution's spelling.
type Spelling struct {
	OfficialCode string // the register's code of the commune
	Register     string // its name in the register
	Resolution   string // as resolution 1670 writes it
}

// Spellings lists every such commune; the converter refuses an entry that
// does not hold (a code not so named in the register, a spelling absent
// from the resolution or found in more than one clause).
var Spellings = []Spelling{
	{"03469", "Kan Hồ", "Can Hồ"},
	{"03391", "Lả Nhì Thàng", "Lản Nhì Thàng"},
	{"03565", "Tông Qua Lìn", "Tung Qua Lìn"},
	{"03574", "Ma Ly Pho", "Ma Li Pho"},
	{"03460", "Hua Bun", "Hua Bum"},
}

func indexRunes(s, sub []rune) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if string(s[i:i+len(sub)]) == string(sub) {
			return i
		}
	}
	return -1
}

func (c *conv) output() (Result, error) {
	// The districts of Lai Châu are abolished with every other district;
	// the resolution's preamble cites the texts that abolish them.
	var dists []Row
	for _, rec := range c.lcRows {
		if rec[c.lcCol("level")] == "district" && rec[c.lcCol("official_code")] != "" {
			dists = append(dists, Row{Code: rec[c.lcCol("code")]})
		}
	}
	for _, d := range dists {
		c.changes = append(c.changes, Change{Predecessor: d.Code, Date: Reform, Kind: string(indicator.ChangeAbolished), Source: SrcResolution,
			Locator: "Căn cứ, lines 17–20 (Hiến pháp as amended by Nghị quyết 203/2025/QH15; Luật Tổ chức chính quyền địa phương 72/2025/QH15)"})
	}
	sort.SliceStable(c.changes, func(i, j int) bool {
		a, b := c.changes[i], c.changes[j]
		if a.Successor != b.Successor {
			return a.Successor < b.Successor
		}
		return a.Predecessor < b.Predecessor
	})
	out := Result{}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(w.Write(UnitColumns))
	for _, r := range c.rows {
		must(w.Write(r.values()))
	}
	w.Flush()
	out["vietnam/units.csv"] = append([]byte(nil), buf.Bytes()...)
	buf.Reset()
	must(w.Write(ChangeColumns))
	for _, ch := range c.changes {
		must(w.Write([]string{ch.Predecessor, ch.Successor, ch.Date, ch.Kind, ch.Share, ch.Source, ch.Locator}))
	}
	w.Flush()
	out["vietnam/unit_changes.csv"] = append([]byte(nil), buf.Bytes()...)
	buf.Reset()
	must(w.Write(c.lcHeader))
	for _, rec := range c.lcRows {
		must(w.Write(rec))
	}
	w.Flush()
	out["laichau/units.csv"] = append([]byte(nil), buf.Bytes()...)
	return out, w.Error()
}

// Write writes the result's files under dir (an os.DirFS root given by
// the caller as a writer function).
func (r Result) Write(write func(name string, data []byte) error) error {
	names := make([]string, 0, len(r))
	for n := range r {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := write(n, r[n]); err != nil {
			return err
		}
	}
	return nil
}
