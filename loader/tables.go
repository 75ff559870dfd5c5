package loader

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"chiso/indicator"
	"chiso/store"
)

var (
	requiredChanges    = []string{"predecessor", "successor", "date", "kind"}
	requiredSources    = []string{"id", "title"}
	requiredUnits      = []string{"code", "name_vi", "level", "parent"}
	requiredIndicators = []string{"code", "name_vi", "measure_unit", "rollup"}
	codePattern        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	sourceDate         = regexp.MustCompile(`^\d{4}(-\d{2}(-\d{2})?)?$`)
)

// firstSeen remembers where each code was first defined, across folders.
type firstSeen map[string]string

func (ld *load) code(r record, col string, seen firstSeen) (string, bool) {
	c := r.get(col)
	switch {
	case c == "":
		ld.p.add(r.errf(col, "a code is required"))
		return "", false
	case !codePattern.MatchString(c):
		ld.p.add(r.errf(col, "expected a code of letters, digits, '.', '_' or '-', got %q", c))
		return "", false
	}
	if where, dup := seen[c]; dup {
		ld.p.add(r.errf(col, "duplicate %q: already defined at %s", c, where))
		return "", false
	}
	seen[c] = r.where()
	return c, true
}

func (ld *load) sources(ctx context.Context, files []tableFile) []indicator.Source {
	var out []indicator.Source
	seen := firstSeen{}
	for _, tf := range files {
		ld.eachRecord(ctx, tf, requiredSources, func(r record) {
			id, ok := ld.code(r, "id", seen)
			s := indicator.Source{ID: id, Title: r.get("title"), Issuer: r.get("issuer"), Number: r.get("number"), Date: r.get("date"), Kind: r.get("kind"),
				ContentDate: r.get("content_date")}
			if s.Title == "" {
				ld.p.add(r.errf("title", "a title is required"))
				ok = false
			}
			for _, c := range []struct{ col, v string }{{"date", s.Date}, {"content_date", s.ContentDate}} {
				if c.v != "" && !validSourceDate(c.v) {
					ld.p.add(r.errf(c.col, "expected YYYY, YYYY-MM or YYYY-MM-DD, got %q", c.v))
					ok = false
				}
			}
			// The figures cannot be stated after the document that states
			// them was published: compare the dates at their common precision.
			if ok && s.ContentDate != "" && s.Date != "" {
				n := min(len(s.ContentDate), len(s.Date))
				if s.ContentDate[:n] > s.Date[:n] {
					ld.p.add(r.errf("content_date", "content_date %s is after the document's date %s", s.ContentDate, s.Date))
					ok = false
				}
			}
			if ok {
				out = append(out, s)
			}
		})
	}
	return out
}

type unitRec struct {
	indicator.Unit
	r record
}

func (ld *load) units(ctx context.Context, files []tableFile, srcs []indicator.Source) []indicator.Unit {
	known := make(map[string]bool, len(srcs))
	for _, s := range srcs {
		known[s.ID] = true
	}
	var recs []unitRec
	seen := firstSeen{}
	for _, tf := range files {
		ld.eachRecord(ctx, tf, requiredUnits, func(r record) {
			code, ok := ld.code(r, "code", seen)
			u := indicator.Unit{Code: code, NameVI: r.get("name_vi"), NameEN: r.get("name_en"), Level: indicator.Level(r.get("level")), Parent: r.get("parent"),
				OfficialCode: r.get("official_code"), Type: r.get("type"), Source: r.get("source_id"), Locator: r.get("locator")}
			u.NameASCII = indicator.Fold(u.NameVI)
			if u.NameVI == "" {
				ld.p.add(r.errf("name_vi", "a Vietnamese name is required"))
				ok = false
			}
			if u.Level.Rank() < 0 {
				ld.p.add(r.errf("level", "expected one of country, province, district, commune, village, region, got %q", u.Level))
				ok = false
			}
			for _, c := range []struct {
				col string
				dst **time.Time
			}{{"valid_from", &u.ValidFrom}, {"valid_to", &u.ValidTo}} {
				if v := r.get(c.col); v != "" {
					t, err := time.Parse("2006-01-02", v)
					if err != nil {
						ld.p.add(r.errf(c.col, "expected a date YYYY-MM-DD, got %q", v))
						ok = false
						continue
					}
					*c.dst = &t
				}
			}
			if u.OfficialCode != "" && !codePattern.MatchString(u.OfficialCode) {
				ld.p.add(r.errf("official_code", "expected a code of letters, digits, '.', '_' or '-', got %q", u.OfficialCode))
				ok = false
			}
			if u.Source != "" && !known[u.Source] {
				ld.p.add(r.errf("source_id", "expected the id of a source in sources, got %q", u.Source))
				ok = false
			}
			if u.ValidFrom != nil && u.ValidTo != nil && u.ValidTo.Before(*u.ValidFrom) {
				ld.p.add(r.errf("valid_to", "valid_to %s is before valid_from %s", u.ValidTo.Format(time.DateOnly), u.ValidFrom.Format(time.DateOnly)))
				ok = false
			}
			if ok {
				recs = append(recs, unitRec{u, r})
			}
		})
	}
	byCode := make(map[string]unitRec, len(recs))
	for _, u := range recs {
		byCode[u.Code] = u
	}
	out := make([]indicator.Unit, 0, len(recs))
	for _, u := range recs {
		if u.Parent != "" {
			p, ok := byCode[u.Parent]
			switch {
			case u.Parent == u.Code:
				ld.p.add(u.r.errf("parent", "a unit cannot be its own parent"))
				continue
			case !ok:
				ld.p.add(u.r.errf("parent", "expected the code of a unit in units, got %q", u.Parent))
				continue
			case u.Level != indicator.LevelRegion && p.Level != indicator.LevelRegion && p.Level.Rank() >= u.Level.Rank():
				ld.p.add(u.r.errf("parent", "a %s cannot belong to %q, a %s: expected a parent of a higher level", u.Level, p.Code, p.Level))
				continue
			}
		}
		if loop := parentLoop(u.Code, byCode); loop != nil {
			ld.p.add(u.r.errf("parent", "the parent chain loops: %s", strings.Join(loop, " → ")))
			continue
		}
		if p, ok := byCode[u.Parent]; ok && !ld.withinParent(u, p) {
			continue
		}
		out = append(out, u.Unit)
	}
	ld.officialOverlaps(recs)
	return out
}

// day renders a validity bound; nil is open.
func day(t *time.Time, open string) string {
	if t == nil {
		return open
	}
	return t.Format(time.DateOnly)
}

// validity renders a unit's validity as [from, to].
func validity(u indicator.Unit) string {
	return fmt.Sprintf("[%s, %s]", day(u.ValidFrom, "always"), day(u.ValidTo, "open"))
}

// withinParent reports (and refuses) a unit valid on a day its parent is
// not: its validity must lie within the parent's.
func (ld *load) withinParent(u, p unitRec) bool {
	ok := true
	if p.ValidFrom != nil && (u.ValidFrom == nil || u.ValidFrom.Before(*p.ValidFrom)) {
		ld.p.add(u.r.errf("valid_from", "valid from %s, before its parent %q (valid %s, %s): expected valid_from on or after %s",
			day(u.ValidFrom, "always (empty)"), p.Code, validity(p.Unit), p.r.where(), p.ValidFrom.Format(time.DateOnly)))
		ok = false
	}
	if p.ValidTo != nil && (u.ValidTo == nil || u.ValidTo.After(*p.ValidTo)) {
		ld.p.add(u.r.errf("valid_to", "valid to %s, after its parent %q (valid %s, %s): expected valid_to on or before %s",
			day(u.ValidTo, "open (empty)"), p.Code, validity(p.Unit), p.r.where(), p.ValidTo.Format(time.DateOnly)))
		ok = false
	}
	return ok
}

// officialOverlaps refuses two units of one official code valid on a
// common day: an official code names one unit at a time.
func (ld *load) officialOverlaps(recs []unitRec) {
	byOC := map[string][]unitRec{}
	for _, u := range recs {
		if u.OfficialCode != "" {
			byOC[u.OfficialCode] = append(byOC[u.OfficialCode], u)
		}
	}
	for _, list := range byOC {
		for j := 1; j < len(list); j++ {
			for i := 0; i < j; i++ {
				a, b := list[i], list[j]
				if overlaps(a.Unit, b.Unit) {
					ld.p.add(b.r.errf("official_code", "official code %q is also the code of %q (%s), valid %s, which overlaps this unit's validity %s: expected one unit per official code on any day",
						b.OfficialCode, a.Code, a.r.where(), validity(a.Unit), validity(b.Unit)))
					break
				}
			}
		}
	}
}

// overlaps reports whether two validities share a day.
func overlaps(a, b indicator.Unit) bool {
	// a starts after b ends, or b starts after a ends: disjoint.
	if a.ValidFrom != nil && b.ValidTo != nil && a.ValidFrom.After(*b.ValidTo) {
		return false
	}
	if b.ValidFrom != nil && a.ValidTo != nil && b.ValidFrom.After(*a.ValidTo) {
		return false
	}
	return true
}

// parentLoop returns the chain from code back to itself if following
// parents returns to a unit already seen, else nil.
func parentLoop(code string, byCode map[string]unitRec) []string {
	seen := map[string]bool{}
	chain := []string{}
	for c := code; c != ""; {
		if seen[c] {
			if c == code {
				return append(chain, c)
			}
			return nil // a loop further up; reported at its own members
		}
		seen[c] = true
		chain = append(chain, c)
		u, ok := byCode[c]
		if !ok {
			return nil
		}
		c = u.Parent
	}
	return nil
}

func (ld *load) indicators(ctx context.Context, files []tableFile) []indicator.Indicator {
	type indRec struct {
		indicator.Indicator
		r  record
		ok bool // false if the row itself had problems
	}
	var recs []indRec
	seen := firstSeen{}
	for _, tf := range files {
		ld.eachRecord(ctx, tf, requiredIndicators, func(r record) {
			code, ok := ld.code(r, "code", seen)
			x := indicator.Indicator{Code: code, NameVI: r.get("name_vi"), NameEN: r.get("name_en"), MeasureUnit: r.get("measure_unit"),
				Theme: r.get("theme"), Direction: indicator.Direction(r.get("direction")), Group: r.get("group"), Total: r.get("total"), Breakdown: r.get("breakdown"),
				Definition: r.get("definition"), Scale: 1}
			if a := r.get("aliases"); a != "" {
				for _, alias := range strings.Split(a, ";") {
					x.Aliases = append(x.Aliases, strings.TrimSpace(alias))
				}
			}
			x.NameASCII = indicator.Fold(x.NameVI)
			if x.NameVI == "" {
				ld.p.add(r.errf("name_vi", "a Vietnamese name is required"))
				ok = false
			}
			if x.MeasureUnit == "" {
				ld.p.add(r.errf("measure_unit", "a measure unit is required (%%, people, households, VND, ha, km …)"))
				ok = false
			} else if _, err := indicator.MeasureOf(x.MeasureUnit); err != nil {
				ld.p.add(r.errf("measure_unit", "%v", err))
				ok = false
			}
			if s := r.get("scale"); s != "" {
				v, err := strconv.ParseFloat(s, 64)
				if err != nil || !(v > 0) {
					ld.p.add(r.errf("scale", "expected a positive number (1, 1000, 1000000, 1000000000), got %q", s))
					ok = false
				}
				x.Scale = v
			}
			switch x.Direction {
			case "":
				x.Direction = indicator.Neutral
			case indicator.HigherBetter, indicator.LowerBetter, indicator.Neutral:
			default:
				ld.p.add(r.errf("direction", "expected higher_better, lower_better or neutral, got %q", x.Direction))
				ok = false
			}
			if x.Group == "" {
				x.Group = "all"
			}
			rule, err := indicator.ParseRule(r.get("rollup"))
			if err != nil {
				ld.p.add(r.errf("rollup", "expected SUM, MEAN, LAST, NONE, WEIGHTED_MEAN(weight) or RATIO(numerator,denominator), got %q", r.get("rollup")))
				ok = false
			}
			x.Rollup = rule
			if code != "" {
				recs = append(recs, indRec{x, r, ok})
			}
		})
	}
	known := make(map[string]bool, len(recs))
	byCode := make(map[string]indicator.Indicator, len(recs))
	unitOK := make(map[string]bool, len(recs))
	for _, x := range recs {
		known[x.Code] = true
		byCode[x.Code] = x.Indicator
		_, err := indicator.MeasureOf(x.MeasureUnit)
		unitOK[x.Code] = err == nil
	}
	lookup := func(code string) (indicator.Indicator, bool) { x, ok := byCode[code]; return x, ok }
	// An alias (a former code) names exactly one indicator: it is neither
	// a code nor another indicator's alias.
	aliasOf := map[string]string{}
	for i := range recs {
		x := &recs[i]
		for _, a := range x.Aliases {
			switch owner, dup := aliasOf[a]; {
			case a == "" || !codePattern.MatchString(a):
				ld.p.add(x.r.errf("aliases", "expected ';'-separated codes of letters, digits, '.', '_' or '-', got %q", a))
			case known[a]:
				ld.p.add(x.r.errf("aliases", "alias %q is the code of an indicator", a))
			case dup && owner == x.Code:
				ld.p.add(x.r.errf("aliases", "alias %q is given twice", a))
			case dup:
				ld.p.add(x.r.errf("aliases", "alias %q is already an alias of %q", a, owner))
			default:
				aliasOf[a] = x.Code
				continue
			}
			x.ok = false
		}
	}
	out := make([]indicator.Indicator, 0, len(recs))
	for _, x := range recs {
		ok := x.ok
		refsOK := unitOK[x.Code]
		for _, ref := range x.Rollup.References() {
			if !known[ref] {
				ld.p.add(x.r.errf("rollup", "%s refers to %q, which is not an indicator", x.Rollup.Kind, ref))
				ok, refsOK = false, false
			} else if ref == x.Code {
				ld.p.add(x.r.errf("rollup", "%s cannot refer to the indicator itself", x.Rollup.Kind))
				ok, refsOK = false, false
			} else if !unitOK[ref] {
				refsOK = false // its measure_unit cell is reported on its own row
			}
		}
		// The rule's dimensions, once every unit it involves is known: a
		// RATIO whose result unit is not the quotient of its operands', a
		// weight that is not a size, a SUM of shares.
		if refsOK && x.Rollup.Kind != "" { // a rule that did not parse is reported already
			if err := indicator.CheckRule(x.Indicator, lookup); err != nil {
				ld.p.add(x.r.errf("rollup", "%v", err))
				ok = false
			}
		}
		if x.Total != "" && (!known[x.Total] || x.Total == x.Code) {
			ld.p.add(x.r.errf("total", "expected the code of another indicator, got %q", x.Total))
			ok = false
		} else if x.Total != "" && unitOK[x.Code] && unitOK[x.Total] {
			// Parts are summed into their total (reconcile): they must
			// convert into its unit.
			if _, err := indicator.Factor(x.Indicator, byCode[x.Total]); err != nil {
				ld.p.add(x.r.errf("total", "a part must measure what its total does: %v", err))
				ok = false
			}
		}
		if x.Breakdown != "" && x.Total == "" {
			ld.p.add(x.r.errf("breakdown", "a breakdown dimension needs the total it breaks down (column total)"))
			ok = false
		}
		if ok {
			out = append(out, x.Indicator)
		}
	}
	return out
}

// obsFile is an observations file staged for validation.
type obsFile struct {
	file     tableFile
	colIndex map[string]int // column name -> 1-based position
}

// observations stages every observations file; values are checked in SQL
// afterwards (store.Build.Validate), set at a time.
func (ld *load) observations(ctx context.Context, files []tableFile) []obsFile {
	var out []obsFile
	for i, tf := range files {
		of := obsFile{file: tf, colIndex: map[string]int{}}
		out = append(out, of)
		if tf.format == FormatParquet {
			ld.stageParquet(ctx, i, tf, of)
			continue
		}
		rr, err := ld.open(ctx, tf)
		if err != nil {
			ld.fail(tf, err)
			continue
		}
		if !ld.header(tf, rr.header(), of) {
			rr.close()
			continue
		}
		var readErr error
		err = ld.b.StageObservations(ctx, i, rr.header(), func() (int64, []string, error) {
			line, vals, err := ld.nextRow(tf, rr)
			if err != nil {
				readErr = err
				return 0, nil, nil
			}
			return line, vals, nil
		})
		rr.close()
		if readErr != nil {
			ld.fail(tf, readErr)
		}
		if err != nil && ld.fatal == nil {
			ld.fatal = err
		}
	}
	return out
}

func (ld *load) stageParquet(ctx context.Context, i int, tf tableFile, of obsFile) {
	path, cleanup, err := ld.localPath(tf)
	if err != nil {
		ld.fail(tf, err)
		return
	}
	defer cleanup()
	cols, err := ld.b.ParquetColumns(ctx, path)
	if err != nil {
		ld.fail(tf, &Error{Msg: fmt.Sprintf("not a readable Parquet file: %v", err)})
		return
	}
	if !ld.header(tf, cols, of) {
		return
	}
	if err := ld.b.StageObservationsParquet(ctx, i, path, cols); err != nil {
		ld.fail(tf, &Error{Msg: fmt.Sprintf("reading Parquet: %v", err)})
	}
}

// header checks an observations file's columns and records positions.
func (ld *load) header(tf tableFile, cols []string, of obsFile) bool {
	for i, c := range cols {
		if _, dup := of.colIndex[c]; dup {
			ld.fail(tf, &Error{Line: 1, Column: i + 1, ColumnName: c, Msg: "column named twice in the header"})
			return false
		}
		of.colIndex[c] = i + 1
	}
	ok := true
	for _, c := range store.RequiredObservationColumns {
		if _, has := of.colIndex[c]; !has {
			ld.fail(tf, &Error{Line: 1, Msg: fmt.Sprintf("missing required column %q (the header has: %s)", c, strings.Join(cols, ", "))})
			ok = false
		}
	}
	return ok
}

type changeRec struct {
	indicator.UnitChange
	r record
}

// unitChanges reads the optional unit_changes tables and checks every row
// against the units: both ends known, the predecessor valid to the day
// before the change and the successor valid from it, the kind known, and
// the shares of one predecessor's split summing to 1.
func (ld *load) unitChanges(ctx context.Context, files []tableFile, units []indicator.Unit, srcs []indicator.Source) []indicator.UnitChange {
	byCode := make(map[string]indicator.Unit, len(units))
	for _, u := range units {
		byCode[u.Code] = u
	}
	known := make(map[string]bool, len(srcs))
	for _, s := range srcs {
		known[s.ID] = true
	}
	kinds := make([]string, len(indicator.ChangeKinds))
	for i, k := range indicator.ChangeKinds {
		kinds[i] = string(k)
	}
	var recs []changeRec
	seen := map[[3]string]string{}
	for _, tf := range files {
		ld.eachRecord(ctx, tf, requiredChanges, func(r record) {
			c := indicator.UnitChange{Predecessor: r.get("predecessor"), Successor: r.get("successor"), Kind: indicator.ChangeKind(r.get("kind")),
				Source: r.get("source_id"), Locator: r.get("locator")}
			ok := true
			if v := r.get("date"); v == "" {
				ld.p.add(r.errf("date", "a date is required (YYYY-MM-DD, the first day of the new state)"))
				ok = false
			} else if t, err := time.Parse(time.DateOnly, v); err != nil {
				ld.p.add(r.errf("date", "expected a date YYYY-MM-DD, got %q", v))
				ok = false
			} else {
				c.Date = t
			}
			if !slices.Contains(indicator.ChangeKinds, c.Kind) {
				ld.p.add(r.errf("kind", "expected one of %s, got %q", strings.Join(kinds, ", "), c.Kind))
				ok = false
			}
			if v := r.get("share"); v != "" {
				f, err := strconv.ParseFloat(v, 64)
				switch {
				case err != nil || !(f > 0 && f <= 1):
					ld.p.add(r.errf("share", "expected a number above 0 and at most 1 (the part of the predecessor that went to the successor), got %q", v))
					ok = false
				case c.Kind != indicator.ChangeSplit:
					ld.p.add(r.errf("share", "a share belongs to a split; a %s passes the whole unit: expected it empty", c.Kind))
					ok = false
				default:
					c.Share = &f
				}
			}
			if c.Source != "" && !known[c.Source] {
				ld.p.add(r.errf("source_id", "expected the id of a source in sources, got %q", c.Source))
				ok = false
			}
			pred, havePred := byCode[c.Predecessor]
			succ, haveSucc := byCode[c.Successor]
			switch {
			case c.Predecessor == "":
				ld.p.add(r.errf("predecessor", "a unit code is required"))
				ok = false
			case !havePred:
				ld.p.add(r.errf("predecessor", "expected the code of a unit in units, got %q", c.Predecessor))
				ok = false
			}
			switch {
			case c.Kind == indicator.ChangeAbolished && c.Successor != "":
				ld.p.add(r.errf("successor", "an abolished unit has no successor: expected it empty, got %q", c.Successor))
				ok = false
			case c.Kind != indicator.ChangeAbolished && c.Successor == "" && slices.Contains(indicator.ChangeKinds, c.Kind):
				ld.p.add(r.errf("successor", "a %s needs its successor: expected the code of a unit in units", c.Kind))
				ok = false
			case c.Successor != "" && !haveSucc:
				ld.p.add(r.errf("successor", "expected the code of a unit in units, got %q", c.Successor))
				ok = false
			case c.Successor != "" && c.Successor == c.Predecessor:
				ld.p.add(r.errf("successor", "a unit cannot succeed itself"))
				ok = false
			}
			if ok {
				before := c.Date.AddDate(0, 0, -1)
				if pred.ValidTo == nil || !pred.ValidTo.Equal(before) {
					ld.p.add(r.errf("date", "the change on %s needs its predecessor %q valid to %s, the day before; it is valid %s",
						c.Date.Format(time.DateOnly), pred.Code, before.Format(time.DateOnly), validity(pred)))
					ok = false
				}
				if c.Successor != "" && (succ.ValidFrom == nil || !succ.ValidFrom.Equal(c.Date)) {
					ld.p.add(r.errf("date", "the change on %s needs its successor %q valid from that day; it is valid %s",
						c.Date.Format(time.DateOnly), succ.Code, validity(succ)))
					ok = false
				}
			}
			if ok {
				k := [3]string{c.Predecessor, c.Successor, c.Date.Format(time.DateOnly)}
				if where, dup := seen[k]; dup {
					ld.p.add(r.errf("predecessor", "the change %s → %s on %s is already given at %s", c.Predecessor, c.Successor, k[2], where))
					ok = false
				} else {
					seen[k] = r.where()
				}
			}
			if ok {
				recs = append(recs, changeRec{c, r})
			}
		})
	}
	ld.splitShares(recs)
	out := make([]indicator.UnitChange, len(recs))
	for i, c := range recs {
		out[i] = c.UnitChange
	}
	return out
}

// splitShares checks each predecessor's split on one date: its shares are
// all given and sum to 1 (±0.001), or none is given (the source states
// none; such a split cannot be apportioned).
func (ld *load) splitShares(recs []changeRec) {
	type key struct {
		pred string
		date time.Time
	}
	groups := map[key][]changeRec{}
	var order []key
	for _, c := range recs {
		if c.Kind != indicator.ChangeSplit {
			continue
		}
		k := key{c.Predecessor, c.Date}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], c)
	}
	for _, k := range order {
		g := groups[k]
		sum, given := 0.0, 0
		for _, c := range g {
			if c.Share != nil {
				sum += *c.Share
				given++
			}
		}
		last := g[len(g)-1]
		switch {
		case given == 0:
		case given < len(g):
			ld.p.add(last.r.errf("share", "the split of %q on %s gives shares for %d of its %d successors: expected a share on every row or on none",
				k.pred, k.date.Format(time.DateOnly), given, len(g)))
		case math.Abs(sum-1) > 0.001:
			ld.p.add(last.r.errf("share", "the shares of the split of %q on %s sum to %g: expected 1 (±0.001)", k.pred, k.date.Format(time.DateOnly), sum))
		}
	}
}
