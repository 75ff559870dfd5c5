package datasets

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"chiso/indicator"
)

// Problem is one failed check, located in a dataset file.
type Problem struct {
	File  string
	Line  int
	Check string // raw-on-line, raw-value, breakdown, reference, unit, dimension, readme
	Msg   string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d: [%s] %s", p.File, p.Line, p.Check, p.Msg)
}

// Report summarises a verification.
type Report struct {
	Observations   int
	PerSource      map[string]int
	RawChecked     int  // observations whose raw was found on its cited line
	SourcesChecked bool // false when the source folder was not available
	Breakdowns     int  // total/part groups compared
	// DimensionRules counts the RATIO and WEIGHTED_MEAN rules whose
	// dimensions were checked (indicator.CheckRule); IncompatibleRules
	// those refused (each is also a "dimension" problem).
	DimensionRules    int
	IncompatibleRules int
	Aliases           int // former indicator codes, each resolving to one indicator
	// ReadmeChecked is false when the folder has no README.md; then the
	// README's lists of flagged figures are not compared with the data.
	ReadmeChecked bool
	ReadmeItems   int // items of the README's flagged lists
	// ReadmeDisagreements counts the README items without a flagged row
	// and the flagged rows without a README item (also in Problems).
	ReadmeDisagreements int
	Problems            []Problem
}

// Verify checks a curated dataset folder: (1) each observation's raw
// figure occurs on the cited line of its source document (when sources is
// not nil; documents are read as sources/<id>.txt), (2) raw parsed with the
// Vietnamese number rules times the factor column equals value, (3)
// the parts of a breakdown do not exceed their total within rounding
// unless flagged inconsistent, (4) every referenced unit,
// indicator and source exists, every indicator has a rollup rule, and
// every observation carries its provenance and every alias names one
// indicator, (5) every measure unit is known, every rollup rule's
// dimensions fit (indicator.CheckRule), and every part converts into its
// total's unit, (6) the README's lists of flagged figures ("Source
// inconsistencies", "Suspected typos") and the flags in the data agree
// (see checkReadme).
func Verify(data fs.FS, sources fs.FS) (Report, error) {
	rep := Report{PerSource: map[string]int{}, SourcesChecked: sources != nil}
	srcRows, err := readTable(data, "sources.csv")
	if err != nil {
		return rep, err
	}
	unitRows, err := readTable(data, "units.csv")
	if err != nil {
		return rep, err
	}
	indRows, err := readTable(data, "indicators.csv")
	if err != nil {
		return rep, err
	}
	obsRows, err := readTable(data, "observations.csv")
	if err != nil {
		return rep, err
	}
	add := func(file string, line int, check, format string, a ...any) {
		rep.Problems = append(rep.Problems, Problem{File: file, Line: line, Check: check, Msg: fmt.Sprintf(format, a...)})
	}
	srcIDs := map[string]bool{}
	for _, r := range srcRows {
		srcIDs[r.get("id")] = true
	}
	unitCodes := map[string]bool{}
	for _, r := range unitRows {
		unitCodes[r.get("code")] = true
	}
	inds := map[string]row{}
	parts := map[string][]string{}
	for _, r := range indRows {
		code := r.get("code")
		inds[code] = r
		if _, err := indicator.ParseRule(r.get("rollup")); err != nil {
			add("indicators.csv", r.line, "reference", "indicator %s: %v", code, err)
		}
		if t := r.get("total"); t != "" {
			parts[t] = append(parts[t], code)
		}
	}
	// Every alias (a former code) resolves to exactly one indicator.
	aliasOf := map[string]string{}
	for _, r := range indRows {
		if r.get("aliases") == "" {
			continue
		}
		for _, a := range strings.Split(r.get("aliases"), ";") {
			a = strings.TrimSpace(a)
			switch owner, dup := aliasOf[a]; {
			case a == "":
				add("indicators.csv", r.line, "reference", "indicator %s: empty alias in %q", r.get("code"), r.get("aliases"))
			case inds[a].line != 0:
				add("indicators.csv", r.line, "reference", "indicator %s: alias %q is the code of an indicator", r.get("code"), a)
			case dup:
				add("indicators.csv", r.line, "reference", "indicator %s: alias %q is also an alias of %s", r.get("code"), a, owner)
			default:
				aliasOf[a] = r.get("code")
			}
		}
	}
	rep.Aliases = len(aliasOf)
	for _, r := range indRows {
		rule, _ := indicator.ParseRule(r.get("rollup"))
		for _, ref := range append(rule.References(), r.get("total")) {
			if ref != "" && inds[ref].line == 0 {
				add("indicators.csv", r.line, "reference", "indicator %s refers to unknown indicator %q", r.get("code"), ref)
			}
		}
	}
	// Measure units and the dimensions of every rule.
	catalog := map[string]indicator.Indicator{}
	for _, r := range indRows {
		x := indicator.Indicator{Code: r.get("code"), MeasureUnit: r.get("measure_unit"), Scale: 1}
		if v, err := strconv.ParseFloat(r.get("scale"), 64); err == nil && v > 0 {
			x.Scale = v
		}
		x.Rollup, _ = indicator.ParseRule(r.get("rollup"))
		catalog[x.Code] = x
	}
	lookup := func(code string) (indicator.Indicator, bool) { x, ok := catalog[code]; return x, ok }
	for _, r := range indRows {
		x := catalog[r.get("code")]
		if _, err := indicator.MeasureOf(x.MeasureUnit); err != nil {
			add("indicators.csv", r.line, "unit", "indicator %s: %v", x.Code, err)
			continue
		}
		if x.Rollup.Kind == "" {
			continue // reported above
		}
		counted := x.Rollup.Kind == indicator.RuleRatio || x.Rollup.Kind == indicator.RuleWeightedMean
		if counted {
			rep.DimensionRules++
		}
		if err := indicator.CheckRule(x, lookup); err != nil {
			if counted {
				rep.IncompatibleRules++
			}
			add("indicators.csv", r.line, "dimension", "%v", err)
		}
		if t, ok := catalog[r.get("total")]; ok {
			if _, err := indicator.MeasureOf(t.MeasureUnit); err == nil {
				if _, err := indicator.Factor(x, t); err != nil {
					add("indicators.csv", r.line, "dimension", "a part must measure what its total does: %v", err)
				}
			}
		}
	}
	doc := documents(sources, func(id string) (string, bool) { return id + ".txt", true })
	type obs struct {
		row
		value float64
	}
	var all []obs
	for _, r := range obsRows {
		rep.Observations++
		src, unit, ind := r.get("source"), r.get("unit"), r.get("indicator")
		rep.PerSource[src]++
		if !srcIDs[src] {
			add("observations.csv", r.line, "reference", "unknown source %q", src)
		}
		if !unitCodes[unit] {
			add("observations.csv", r.line, "reference", "unknown unit %q", unit)
		}
		if inds[ind].line == 0 {
			add("observations.csv", r.line, "reference", "unknown indicator %q", ind)
		}
		raw := r.get("raw")
		line, err := strconv.Atoi(r.get("line"))
		if err != nil || line < 1 || raw == "" {
			add("observations.csv", r.line, "reference", "provenance required: line %q, raw %q", r.get("line"), raw)
			continue
		}
		if sources != nil && srcIDs[src] {
			lines, err := doc(src)
			switch {
			case err != nil:
				add("observations.csv", r.line, "raw-on-line", "source document %s: %v", src, err)
			case line > len(lines):
				add("observations.csv", r.line, "raw-on-line", "%s has %d lines, cited line %d", src, len(lines), line)
			case !strings.Contains(lines[line-1], raw):
				add("observations.csv", r.line, "raw-on-line", "%q is not on %s line %d", raw, src, line)
			default:
				rep.RawChecked++
			}
		}
		value, err := strconv.ParseFloat(r.get("value"), 64)
		if err != nil {
			add("observations.csv", r.line, "raw-value", "value %q is not a number", r.get("value"))
			continue
		}
		factor := 1.0
		if f := r.get("factor"); f != "" {
			if factor, err = strconv.ParseFloat(f, 64); err != nil {
				add("observations.csv", r.line, "raw-value", "factor %q is not a number", f)
				continue
			}
		}
		flags := ";" + r.get("flags") + ";"
		fig, err := indicator.ParseFigure(raw, strings.Contains(flags, ";dot_decimal;"))
		if err != nil {
			add("observations.csv", r.line, "raw-value", "%v", err)
			continue
		}
		if !close(fig.Value*factor, value) {
			add("observations.csv", r.line, "raw-value", "value %v but raw %q × factor %v = %v", value, raw, factor, fig.Value*factor)
		}
		if d := r.get("denominator"); d != "" {
			dv, err := strconv.ParseFloat(d, 64)
			if err != nil || !fig.HasDenominator || !close(dv, fig.Denominator) {
				add("observations.csv", r.line, "raw-value", "denominator %q does not match the second number of raw %q", d, raw)
			}
		}
		all = append(all, obs{r, value})
	}
	if readme, err := fs.ReadFile(data, "README.md"); err == nil {
		rep.ReadmeChecked = true
		checkReadme(&rep, string(readme), srcRows, obsRows)
	}
	// Breakdowns: the parts of one breakdown dimension of a total (same
	// unit, period, kind and source) must not exceed the total within
	// rounding, nor their shares 100%, unless a figure is flagged
	// inconsistent. They may fall short: a catalog need not list every
	// category of a dimension.
	type gkey struct{ total, breakdown, unit, period, kind, source string }
	type tkey struct{ total, unit, period, kind, source string }
	totals := map[tkey][]obs{}
	partVals := map[gkey]map[string]obs{}
	for _, o := range all {
		if q := o.get("qualifier"); q != "" && q != "about" && q != "nearly" {
			continue // bounds are not sums
		}
		ind, kind := o.get("indicator"), o.get("kind")
		if kind != "actual" && kind != "target" && kind != "share" {
			continue
		}
		if len(parts[ind]) > 0 && kind != "share" {
			k := tkey{ind, o.get("unit"), o.get("period"), kind, o.get("source")}
			totals[k] = append(totals[k], o)
		}
		if t, b := inds[ind].get("total"), inds[ind].get("breakdown"); t != "" && b != "" {
			k := gkey{t, b, o.get("unit"), o.get("period"), kind, o.get("source")}
			if partVals[k] == nil {
				partVals[k] = map[string]obs{}
			}
			if _, seen := partVals[k][ind]; !seen { // a part restated later is the same fact
				partVals[k][ind] = o
			}
		}
	}
	keys := make([]gkey, 0, len(partVals))
	for k := range partVals {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	for _, k := range keys {
		pv := partVals[k]
		if len(pv) < 2 {
			continue // one part alone says nothing about the sum
		}
		flagged := false
		sum, first := 0.0, 0
		for code, o := range pv {
			f := 1.0 // a part in another unit of the total's dimension is converted
			if k.kind != "share" {
				if x, err := indicator.Factor(catalog[code], catalog[k.total]); err == nil {
					f = x
				}
			}
			sum += o.value * f
			if strings.Contains(";"+o.get("flags")+";", ";inconsistent;") {
				flagged = true
			}
			if first == 0 || o.line < first {
				first = o.line
			}
		}
		var want []float64
		if k.kind == "share" {
			want = []float64{100}
		} else {
			for _, t := range totals[tkey{k.total, k.unit, k.period, k.kind, k.source}] {
				if strings.Contains(";"+t.get("flags")+";", ";inconsistent;") {
					flagged = true
				}
				want = append(want, t.value)
			}
		}
		if len(want) == 0 || flagged {
			continue
		}
		rep.Breakdowns++
		ok := false
		for _, w := range want {
			if sum <= w+math.Max(0.005*math.Abs(w), 0.06) {
				ok = true
			}
		}
		if !ok {
			add("observations.csv", first, "breakdown", "the %s parts of %s for %s %s %s (%s) sum to %v, more than the total %v",
				k.breakdown, k.total, k.unit, k.period, k.kind, k.source, sum, want)
		}
	}
	return rep, nil
}

// readmeLists are the README sections that list flagged figures, with the
// flag their rows carry.
var readmeLists = []struct{ heading, flag string }{
	{"## Source inconsistencies", "inconsistent"},
	{"## Suspected typos", "typo_suspected"},
}

var (
	readmeItem = regexp.MustCompile(`^- (\d{3}) ([^:]*):`)
	readmeLine = regexp.MustCompile(`L(\d+)(?:-(\d+))?`)
)

// checkReadme compares the README's lists of flagged figures with the
// data. An item ("- 003 L568 vs L627: …") names a document by the first
// three characters of its id and one or more lines (L12, L12-14, L12/L14);
// at least one row of that document at one of those lines must carry the
// list's flag. Conversely every row with the flag must be at a line some
// item of the list names for its document.
func checkReadme(rep *Report, readme string, srcRows, obsRows []row) {
	srcOf := map[string]string{} // "003" -> source id
	for _, r := range srcRows {
		if id := r.get("id"); len(id) >= 3 {
			srcOf[id[:3]] = id
		}
	}
	lines := strings.Split(readme, "\n")
	type loc = readmeLoc
	for _, list := range readmeLists {
		start := -1
		for i, l := range lines {
			if strings.TrimSpace(l) == list.heading {
				start = i
			}
		}
		if start < 0 {
			rep.ReadmeDisagreements++
			rep.Problems = append(rep.Problems, Problem{File: "README.md", Check: "readme", Msg: fmt.Sprintf("no section %q", list.heading)})
			continue
		}
		listed := map[loc]bool{}
		type item struct {
			line int
			locs []loc
		}
		var items []item
		for i := start + 1; i < len(lines) && !strings.HasPrefix(lines[i], "## "); i++ {
			m := readmeItem.FindStringSubmatch(lines[i])
			if m == nil {
				continue
			}
			it := item{line: i + 1}
			src, ok := srcOf[m[1]]
			if !ok {
				rep.ReadmeDisagreements++
				rep.Problems = append(rep.Problems, Problem{File: "README.md", Line: i + 1, Check: "readme", Msg: fmt.Sprintf("document %s is not a source", m[1])})
				continue
			}
			for _, lm := range readmeLine.FindAllStringSubmatch(m[2], -1) {
				a, _ := strconv.Atoi(lm[1])
				b := a
				if lm[2] != "" {
					b, _ = strconv.Atoi(lm[2])
				}
				for n := a; n <= b && n-a < 1000; n++ {
					it.locs = append(it.locs, loc{src, n})
					listed[loc{src, n}] = true
				}
			}
			if len(it.locs) == 0 {
				rep.ReadmeDisagreements++
				rep.Problems = append(rep.Problems, Problem{File: "README.md", Line: i + 1, Check: "readme", Msg: fmt.Sprintf("item names no line (L12, L12-14): %q", m[0])})
				continue
			}
			items = append(items, it)
		}
		rep.ReadmeItems += len(items)
		flagged := map[loc]bool{}
		for _, r := range obsRows {
			if !strings.Contains(";"+r.get("flags")+";", ";"+list.flag+";") {
				continue
			}
			n, _ := strconv.Atoi(r.get("line"))
			l := loc{r.get("source"), n}
			flagged[l] = true
			if !listed[l] {
				rep.ReadmeDisagreements++
				rep.Problems = append(rep.Problems, Problem{File: "observations.csv", Line: r.line, Check: "readme",
					Msg: fmt.Sprintf("%s is flagged %s but README's %q does not list %s line %d", r.get("indicator"), list.flag, strings.TrimPrefix(list.heading, "## "), l.src, l.line)})
			}
		}
		for _, it := range items {
			hit := false
			for _, l := range it.locs {
				hit = hit || flagged[l]
			}
			if !hit {
				rep.ReadmeDisagreements++
				rep.Problems = append(rep.Problems, Problem{File: "README.md", Line: it.line, Check: "readme",
					Msg: fmt.Sprintf("no row of %s at line(s) %v is flagged %s", it.locs[0].src, lineNumbers(it.locs), list.flag)})
			}
		}
	}
}

// readmeLoc is a document line.
type readmeLoc struct {
	src  string
	line int
}

func lineNumbers(ls []readmeLoc) []int {
	out := make([]int, len(ls))
	for i, l := range ls {
		out[i] = l.line
	}
	return out
}

func close(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

type row struct {
	line int
	cols map[string]int
	vals []string
}

func (r row) get(c string) string {
	if i, ok := r.cols[c]; ok && i < len(r.vals) {
		return strings.TrimSpace(r.vals[i])
	}
	return ""
}

func readTable(fsys fs.FS, name string) ([]row, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("verify: %s: %w", name, err)
	}
	cols := map[string]int{}
	for i, h := range head {
		cols[strings.TrimPrefix(h, "\ufeff")] = i
	}
	var out []row
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("verify: %s: %w", name, err)
		}
		line, _ := r.FieldPos(0)
		out = append(out, row{line: line, cols: cols, vals: rec})
	}
}

// documents returns a reader of source documents' lines from fsys, each
// document read once; file names a source's file (false: none).
func documents(fsys fs.FS, file func(id string) (string, bool)) func(id string) ([]string, error) {
	docs := map[string][]string{}
	return func(id string) ([]string, error) {
		if d, ok := docs[id]; ok {
			return d, nil
		}
		name, ok := file(id)
		if !ok {
			return nil, fmt.Errorf("no document for source %q", id)
		}
		f, err := fsys.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		var lines []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		docs[id] = lines
		return lines, sc.Err()
	}
}
