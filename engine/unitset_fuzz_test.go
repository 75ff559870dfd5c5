package engine_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"chiso/engine"
	"chiso/indicator"
	"chiso/loader"
	"chiso/store"
)

// unitTree is the fuzzed dataset's units: code → parent, level.
var unitTree = []struct {
	code, parent string
	level        indicator.Level
}{
	{"vn", "", indicator.LevelCountry},
	{"vn.p", "vn", indicator.LevelProvince},
	{"vn.q", "vn", indicator.LevelProvince},
	{"vn.p.d0", "vn.p", indicator.LevelDistrict},
	{"vn.p.d1", "vn.p", indicator.LevelDistrict},
	{"vn.q.d0", "vn.q", indicator.LevelDistrict},
	{"vn.p.d0.c0", "vn.p.d0", indicator.LevelCommune},
	{"vn.p.d0.c1", "vn.p.d0", indicator.LevelCommune},
	{"vn.p.d0.c1.v0", "vn.p.d0.c1", indicator.LevelVillage},
}

// expectedSet is the units a set names in unitTree, worked out from the
// tree itself: codes in order without repeats, the children of
// childrenOf, or the units at level anywhere below under.
func expectedSet(set indicator.UnitSet) []string {
	parent := map[string]string{}
	for _, u := range unitTree {
		parent[u.code] = u.parent
	}
	below := func(code, anc string) bool {
		for p := parent[code]; p != ""; p = parent[p] {
			if p == anc {
				return true
			}
		}
		return false
	}
	var out []string
	switch {
	case len(set.Codes) > 0:
		for _, c := range set.Codes {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	case set.ChildrenOf != "":
		for _, u := range unitTree {
			if u.parent == set.ChildrenOf {
				out = append(out, u.code)
			}
		}
	default:
		for _, u := range unitTree {
			if u.level == set.Level && below(u.code, set.Under) {
				out = append(out, u.code)
			}
		}
	}
	return out
}

// FuzzUnitSet: any unit set (codes, childrenOf, under with level) given
// to a comparison either names exactly one form of known units and
// compares exactly the units that form names in the tree (counted in
// unitsInSet; every row's unit among them), or is refused with an error
// naming the argument (units, units.codes, units.childrenOf, units.under,
// units.level): INVALID_ARGUMENT for a set of no form or of two, or under
// without a level; NOT_FOUND quoting the unknown code. Seeded from the
// adversarial suite: unknown codes, NUL bytes, invalid UTF-8, SQL-looking
// strings, huge code lists, several forms at once.
func FuzzUnitSet(f *testing.F) {
	levels := append([]indicator.Level{""}, indicator.Levels...)
	for _, s := range []struct {
		codes, childrenOf, under string
		level                    uint8
	}{
		{"vn.p.d0,vn.p.d1", "", "", 0},
		{"vn.p.d0,vn.p.d0,vn", "", "", 0},
		{"", "vn.p", "", 0},
		{"", "vn.p.d0.c1.v0", "", 0},
		{"", "", "vn", 3},
		{"", "", "vn.p", 4},
		{"", "", "vn", 5},
		{"", "", "vn.p", 0},
		{"", "", "vn.p.d0", 2},
		{"", "", "", 3},
		{"", "vn.p", "vn", 3},
		{"vn.p", "vn", "", 0},
		{"vn.p", "", "vn", 3},
		{"vn.p,vn.nowhere", "", "", 0},
		{",", "", "", 0},
		{"vn.\xff\xfe", "", "", 0},
		{"vn\x00", "", "", 0},
		{"", "vn.\xff", "", 0},
		{"", "", "vn\x00.p", 3},
		{"VN.P", "", "", 0},
		{" vn.p", "", "", 0},
		{"vn.p'; DROP TABLE observations; --", "", "", 0},
		{"", "read_csv('/etc/passwd')", "", 0},
		{"", "", "') UNION SELECT * FROM read_csv('/etc/passwd') --", 3},
		{"%", "_", "", 0},
		{strings.Repeat("vn.p,", 5000) + "vn.x", "", "", 0},
	} {
		f.Add(s.codes, s.childrenOf, s.under, s.level)
	}
	var units strings.Builder
	var obs strings.Builder
	units.WriteString("code,name_vi,level,parent\n")
	obs.WriteString("unit,indicator,period,kind,value,source,line,raw,flags\n")
	for i, u := range unitTree {
		units.WriteString(u.code + ",Đơn vị " + strconv.Itoa(i) + "," + string(u.level) + "," + u.parent + "\n")
		obs.WriteString(u.code + ",pop,2020,actual," + strconv.Itoa(100+i) + ",doc," + strconv.Itoa(i+1) + "," + strconv.Itoa(100+i) + ",\n")
	}
	st := store.New(store.Options{PointsMax: 1 << 20, Threads: 1})
	f.Cleanup(func() { st.Close() })
	ctx := context.Background()
	_, err := loader.New(st, loader.Options{}).Load(ctx, loader.Dir{Name: "fuzz", FS: fstest.MapFS{
		"sources.csv":      {Data: []byte("id,title,date\ndoc,Synthetic,2024\n")},
		"units.csv":        {Data: []byte(units.String())},
		"indicators.csv":   {Data: []byte("code,name_vi,measure_unit,scale,direction,rollup\npop,Dân số,người,1,neutral,SUM\n")},
		"observations.csv": {Data: []byte(obs.String())},
	}})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := st.WaitPointIndex(ctx); err != nil {
		f.Fatal(err)
	}
	e := engine.New(st, engine.Options{})
	known := map[string]bool{}
	for _, u := range unitTree {
		known[u.code] = true
	}

	f.Fuzz(func(t *testing.T, codes, childrenOf, under string, level uint8) {
		set := indicator.UnitSet{ChildrenOf: childrenOf, Under: under, Level: levels[int(level)%len(levels)]}
		if codes != "" {
			set.Codes = strings.Split(codes, ",")
		}
		c, err := e.Compare(ctx, indicator.CompareQuery{Indicators: []string{"pop"}, Units: set})
		forms := 0
		for _, used := range []bool{len(set.Codes) > 0, set.ChildrenOf != "", set.Under != ""} {
			if used {
				forms++
			}
		}
		unknown, sub, found := "", "", true
		switch {
		case len(set.Codes) > 0:
			for _, code := range set.Codes {
				if !known[code] {
					unknown, sub, found = code, "codes", false
					break
				}
			}
		case set.ChildrenOf != "" && !known[set.ChildrenOf]:
			unknown, sub, found = set.ChildrenOf, "childrenOf", false
		case set.Under != "" && !known[set.Under]:
			unknown, sub, found = set.Under, "under", false
		}
		switch {
		case forms != 1:
			wantArgError(t, err, "units", indicator.ErrInvalid, "give exactly one of codes, childrenOf, or under with level")
		case !found:
			wantArgError(t, err, "units."+sub, indicator.ErrNotFound, "no unit with code "+strconv.Quote(unknown))
		case set.Under != "" && set.Level == "":
			wantArgError(t, err, "units.level", indicator.ErrInvalid, "under needs the level of the units wanted")
		default:
			if err != nil {
				t.Fatalf("%+v: %v", set, err)
			}
			want := expectedSet(set)
			if c.UnitsInSet != len(want) {
				t.Fatalf("%+v: %d units in the set, want %d (%v)", set, c.UnitsInSet, len(want), want)
			}
			var got []string
			for _, r := range c.Rows {
				if !slices.Contains(want, r.Unit) {
					t.Fatalf("%+v: a row of %s, not in the set %v", set, r.Unit, want)
				}
				got = append(got, r.Unit)
			}
			slices.Sort(got)
			sorted := slices.Sorted(slices.Values(want))
			if !slices.Equal(got, sorted) {
				t.Fatalf("%+v: rows of %v, want one for each of %v", set, got, sorted)
			}
		}
	})
}

// wantArgError requires err to be of kind, for argument arg, with a
// message naming the argument and saying reason, in printable UTF-8.
func wantArgError(t *testing.T, err error, arg string, kind error, reason string) {
	t.Helper()
	var ae *indicator.ArgError
	if !errors.As(err, &ae) || ae.Arg != arg || !errors.Is(err, kind) {
		t.Fatalf("want a %v error naming %s, got %T %v", kind, arg, err, err)
	}
	if msg := err.Error(); msg != "argument "+arg+": "+reason || !utf8.ValidString(msg) || strings.ContainsRune(msg, 0) {
		t.Fatalf("message %q, want %q", msg, "argument "+arg+": "+reason)
	}
}
