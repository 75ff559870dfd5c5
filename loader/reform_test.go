package loader_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"chiso/indicator"
	"chiso/loader"
	"chiso/store"
)

// A reform on 2025-07-01 in the fixture: Mường So and a new commune
// Khun merge into xã Phong Thổ under the province, Mường So's village
// ends with it, and district Phong Thổ is abolished; Sì Lở Lầu is split
// between xã Phong Thổ and xã Sì Lở Lầu.
const (
	reformUnitsCSV = `code,name_vi,name_en,level,parent,valid_from,valid_to,official_code,type,source_id,locator
vn,Việt Nam,Viet Nam,country,,,,,,,
vn.lc,Lai Châu,Lai Chau Province,province,vn,,,12,tỉnh,doc1,12
vn.lc.pt,Phong Thổ,Phong Tho District,district,vn.lc,,2025-06-30,109,huyện,doc1,12/109
vn.lc.mt,Mường Tè,Muong Te District,district,vn.lc,2004-10-07,2025-06-30,107,huyện,doc1,12/107
vn.lc.pt.ms,Mường So,,commune,vn.lc.pt,,2025-06-30,03550,xã,doc1,12/109/03550
vn.lc.pt.ms.cc,Căn Câu,Can Cau Village,village,vn.lc.pt.ms,,2025-06-30,,,,
vn.lc.pt.sl,Sì Lở Lầu,,commune,vn.lc.pt,,2025-06-30,03562,xã,doc1,12/109/03562
vn.lc.xa-phong-tho,Phong Thổ,,commune,vn.lc,2025-07-01,,03549,xã,doc2,line 414
vn.lc.xa-si-lo-lau,Sì Lở Lầu,,commune,vn.lc,2025-07-01,,03562,xã,doc2,line 415
`
	reformChangesCSV = `predecessor,successor,date,kind,share,source_id,locator
vn.lc.pt.ms,vn.lc.xa-phong-tho,2025-07-01,merge,,doc2,"Điều 1 khoản 14, line 90"
vn.lc.pt.sl,vn.lc.xa-phong-tho,2025-07-01,split,0.25,doc2,"Điều 1 khoản 14, line 90"
vn.lc.pt.sl,vn.lc.xa-si-lo-lau,2025-07-01,split,0.75,doc2,"Điều 1 khoản 16, line 94"
vn.lc.pt,,2025-07-01,abolished,,doc2,preamble
`
)

func reformFixture() fixture {
	return baseFixture().with("units", reformUnitsCSV).with("unit_changes", reformChangesCSV)
}

// TestLoadReform loads official codes, types, sources and unit changes,
// as CSV and as Parquet, and reads them back through the Reader.
func TestLoadReform(t *testing.T) {
	ctx := context.Background()
	for _, format := range []string{"csv", "parquet"} {
		t.Run(format, func(t *testing.T) {
			st := newStore(t, store.Options{})
			_, err := loader.New(st, loader.Options{}).Load(ctx, reformFixture().write(t, "r", format))
			require.NoError(t, err)
			u, err := st.Units(ctx, []string{"vn.lc.pt.ms"})
			require.NoError(t, err)
			ms := u["vn.lc.pt.ms"]
			require.Equal(t, "03550", ms.OfficialCode)
			require.Equal(t, "xã", ms.Type)
			require.Equal(t, "doc1", ms.Source)
			require.Equal(t, "12/109/03550", ms.Locator)

			ch, err := st.UnitChanges(ctx, []string{"vn.lc.pt.sl", "vn.lc.xa-phong-tho", "vn.lc.pt", "vn.lc.mt", "nowhere"})
			require.NoError(t, err)
			require.NotContains(t, ch, "nowhere")
			require.Empty(t, ch["vn.lc.mt"])
			require.Len(t, ch["vn.lc.pt.sl"], 2)
			require.Equal(t, indicator.ChangeSplit, ch["vn.lc.pt.sl"][0].Kind)
			require.Equal(t, 0.25, *ch["vn.lc.pt.sl"][0].Share)
			require.Equal(t, "vn.lc.xa-phong-tho", ch["vn.lc.pt.sl"][0].Successor)
			require.Equal(t, 0.75, *ch["vn.lc.pt.sl"][1].Share)
			require.Len(t, ch["vn.lc.xa-phong-tho"], 2)
			require.Equal(t, "vn.lc.pt.ms", ch["vn.lc.xa-phong-tho"][0].Predecessor)
			require.Nil(t, ch["vn.lc.xa-phong-tho"][0].Share)
			require.Equal(t, "Điều 1 khoản 14, line 90", ch["vn.lc.xa-phong-tho"][0].Locator)
			require.Equal(t, "2025-07-01", ch["vn.lc.pt"][0].Date.Format(time.DateOnly))
			require.Equal(t, indicator.ChangeAbolished, ch["vn.lc.pt"][0].Kind)
			require.Empty(t, ch["vn.lc.pt"][0].Successor)

			// 03562 names the old Sì Lở Lầu until 2025-06-30 and the new
			// one from 2025-07-01; without a date, the one valid latest.
			d := time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
			byOC, err := st.UnitsByOfficialCode(ctx, []string{"03562", "12"}, &d)
			require.NoError(t, err)
			require.Equal(t, "vn.lc.pt.sl", byOC["03562"].Code)
			require.Equal(t, "vn.lc", byOC["12"].Code)
			byOC, err = st.UnitsByOfficialCode(ctx, []string{"03562", "03550"}, nil)
			require.NoError(t, err)
			require.Equal(t, "vn.lc.xa-si-lo-lau", byOC["03562"].Code)
			require.Equal(t, "vn.lc.pt.ms", byOC["03550"].Code)
			d = d.AddDate(0, 0, 1)
			byOC, err = st.UnitsByOfficialCode(ctx, []string{"03550"}, &d)
			require.NoError(t, err)
			require.NotContains(t, byOC, "03550", "Mường So no longer exists on 2025-07-01")

			// The same rows in DuckDB, for SQL and the analytical joins.
			out, err := st.QueryText(ctx, "SELECT predecessor, coalesce(successor, '-') AS successor, date, kind, coalesce(share, -1) AS share, locator FROM unit_changes ORDER BY kind, predecessor, successor")
			require.NoError(t, err)
			require.Contains(t, out, "vn.lc.pt")
			require.Contains(t, out, "0.75")
			require.Contains(t, out, "Điều 1 khoản 16, line 94")
			out, err = st.QueryText(ctx, "SELECT count(*) AS n, count(official_code) AS oc, count(DISTINCT official_code) AS distinct_oc, count(source_id) AS src FROM units")
			require.NoError(t, err)
			// 9 units; 7 with an official code (not vn, not the village), 6
			// distinct (03562 twice), 7 with a source.
			require.Equal(t, "n\toc\tdistinct_oc\tsrc\n9\t7\t6\t7", strings.TrimSpace(out))

			// The tree on each side of the reform.
			list, _, err := st.ListUnits(ctx, indicator.UnitQuery{OfficialCode: "03562", Page: indicator.Page{First: 10}})
			require.NoError(t, err)
			require.Len(t, list, 2)
			list, _, err = st.ListUnits(ctx, indicator.UnitQuery{OfficialCode: "03562", AsOf: &d, Page: indicator.Page{First: 10}})
			require.NoError(t, err)
			require.Len(t, list, 1)
			require.Equal(t, "vn.lc.xa-si-lo-lau", list[0].Code)
			kids, err := st.Children(ctx, []string{"vn.lc"}, "", &d)
			require.NoError(t, err)
			require.Equal(t, []string{"vn.lc.xa-phong-tho", "vn.lc.xa-si-lo-lau"}, codes(kids["vn.lc"]))
			kids, err = st.Children(ctx, []string{"vn.lc"}, "", nil)
			require.NoError(t, err)
			require.Len(t, kids["vn.lc"], 4, "no date: every child")
			before := d.AddDate(-1, 0, 0)
			desc, err := st.Descendants(ctx, []string{"vn.lc"}, "", &before)
			require.NoError(t, err)
			require.Equal(t, []string{"vn.lc.mt", "vn.lc.pt", "vn.lc.pt.ms", "vn.lc.pt.sl", "vn.lc.pt.ms.cc"}, codes(desc["vn.lc"]))
			desc, err = st.Descendants(ctx, []string{"vn.lc"}, indicator.LevelVillage, &d)
			require.NoError(t, err)
			require.Empty(t, desc["vn.lc"], "the village ended with its commune")
		})
	}
}

// TestLoadReformErrors: each problem of the reform's data is refused at
// its file, line and column with what was expected, and a refused load
// leaves the served data as it was.
func TestLoadReformErrors(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, store.Options{})
	ld := loader.New(st, loader.Options{})
	good, err := ld.Load(ctx, reformFixture().write(t, "good", "csv"))
	require.NoError(t, err)
	units := func(extra string) fixture { return reformFixture().with("units", reformUnitsCSV+extra) }
	changes := func(extra string) fixture { return reformFixture().with("unit_changes", reformChangesCSV+extra) }
	for _, tc := range []struct {
		name string
		fix  fixture
		file string
		want []string
	}{
		{"overlapping official code", units("vn.lc.pt.ms2,Mường So 2,,commune,vn.lc.pt,2025-01-01,2025-06-30,03550,xã,doc1,x\n"), "units.csv",
			[]string{`:11:8: column "official_code": official code "03550" is also the code of "vn.lc.pt.ms" (UNITS:6), valid [always, 2025-06-30], which overlaps this unit's validity [2025-01-01, 2025-06-30]: expected one unit per official code on any day`}},
		{"child open after its parent", units("vn.lc.pt.x,X,,commune,vn.lc.pt,,,,,,\n"), "units.csv",
			[]string{`:11:7: column "valid_to": valid to open (empty), after its parent "vn.lc.pt" (valid [always, 2025-06-30], UNITS:4): expected valid_to on or before 2025-06-30`}},
		{"child before its parent", units("vn.lc.mt.y,Y,,commune,vn.lc.mt,2000-01-01,2025-06-30,,,,\n"), "units.csv",
			[]string{`:11:6: column "valid_from": valid from 2000-01-01, before its parent "vn.lc.mt" (valid [2004-10-07, 2025-06-30], UNITS:5): expected valid_from on or after 2004-10-07`}},
		{"bad date", units("vn.lc.z,Z,,commune,vn.lc,2024-13-45,,,,,\n"), "units.csv",
			[]string{`:11:6: column "valid_from": expected a date YYYY-MM-DD, got "2024-13-45"`}},
		{"unknown source of a unit", units("vn.lc.w,W,,commune,vn.lc,,,,,doc9,\n"), "units.csv",
			[]string{`:11:10: column "source_id": expected the id of a source in sources, got "doc9"`}},
		{"change date not a date", changes("vn.lc.pt.sl,vn.lc.xa-si-lo-lau,2024-13-45,rename,,doc2,x\n"), "unit_changes.csv",
			[]string{`:6:3: column "date": expected a date YYYY-MM-DD, got "2024-13-45"`}},
		{"unknown kind", changes("vn.lc.pt.ms,vn.lc.xa-si-lo-lau,2025-07-01,swap,,doc2,x\n"), "unit_changes.csv",
			[]string{`:6:4: column "kind": expected one of merge, split, rename, move, abolished, got "swap"`}},
		{"unknown unit", changes("vn.lc.nowhere,vn.lc.xa-si-lo-lau,2025-07-01,merge,,doc2,x\n"), "unit_changes.csv",
			[]string{`:6:1: column "predecessor": expected the code of a unit in units, got "vn.lc.nowhere"`}},
		{"unknown successor", changes("vn.lc.pt.ms,vn.lc.xa-nowhere,2025-07-01,merge,,doc2,x\n"), "unit_changes.csv",
			[]string{`:6:2: column "successor": expected the code of a unit in units, got "vn.lc.xa-nowhere"`}},
		{"date misses the predecessor", changes("vn.lc.mt,vn.lc.xa-si-lo-lau,2025-06-01,merge,,doc2,x\n"), "unit_changes.csv",
			[]string{`:6:3: column "date": the change on 2025-06-01 needs its predecessor "vn.lc.mt" valid to 2025-05-31, the day before; it is valid [2004-10-07, 2025-06-30]`,
				`:6:3: column "date": the change on 2025-06-01 needs its successor "vn.lc.xa-si-lo-lau" valid from that day; it is valid [2025-07-01, open]`}},
		{"successor not new", changes("vn.lc.mt,vn.lc.pt,2025-07-01,merge,,doc2,x\n"), "unit_changes.csv",
			[]string{`:6:3: column "date": the change on 2025-07-01 needs its successor "vn.lc.pt" valid from that day; it is valid [always, 2025-06-30]`}},
		{"abolished with a successor", changes("vn.lc.mt,vn.lc.xa-si-lo-lau,2025-07-01,abolished,,doc2,x\n"), "unit_changes.csv",
			[]string{`:6:2: column "successor": an abolished unit has no successor: expected it empty, got "vn.lc.xa-si-lo-lau"`}},
		{"shares off", reformFixture().with("unit_changes", `predecessor,successor,date,kind,share,source_id,locator
vn.lc.pt.sl,vn.lc.xa-phong-tho,2025-07-01,split,0.25,doc2,a
vn.lc.pt.sl,vn.lc.xa-si-lo-lau,2025-07-01,split,0.7,doc2,b
`), "unit_changes.csv",
			[]string{`:3:5: column "share": the shares of the split of "vn.lc.pt.sl" on 2025-07-01 sum to 0.95: expected 1 (±0.001)`}},
		{"shares partly given", reformFixture().with("unit_changes", `predecessor,successor,date,kind,share,source_id,locator
vn.lc.pt.sl,vn.lc.xa-phong-tho,2025-07-01,split,0.25,doc2,a
vn.lc.pt.sl,vn.lc.xa-si-lo-lau,2025-07-01,split,,doc2,b
`), "unit_changes.csv",
			[]string{`:3:5: column "share": the split of "vn.lc.pt.sl" on 2025-07-01 gives shares for 1 of its 2 successors: expected a share on every row or on none`}},
		{"share on a merge", changes("vn.lc.mt,vn.lc.xa-si-lo-lau,2025-07-01,merge,0.5,doc2,x\n"), "unit_changes.csv",
			[]string{`:6:5: column "share": a share belongs to a split; a merge passes the whole unit: expected it empty`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.fix.write(t, "bad", "csv")
			_, err := ld.Load(ctx, dir)
			le := loadError(t, err)
			var got []string
			for _, e := range le.Errors {
				got = append(got, e.Error())
			}
			var want []string
			for _, w := range tc.want {
				w = dir.Name + "/" + tc.file + w
				w = strings.ReplaceAll(w, "UNITS", dir.Name+"/units.csv")
				want = append(want, w)
			}
			require.Equal(t, want, got)
			info, err := st.Dataset(ctx)
			require.NoError(t, err)
			require.Equal(t, good.Version, info.Version, "a refused load leaves the served data")
		})
	}
	// Splits without shares load (the source gives none): they cannot be
	// apportioned, which the query half reports.
	_, err = ld.Load(ctx, reformFixture().with("unit_changes", `predecessor,successor,date,kind,share,source_id,locator
vn.lc.pt.sl,vn.lc.xa-phong-tho,2025-07-01,split,,doc2,a
vn.lc.pt.sl,vn.lc.xa-si-lo-lau,2025-07-01,split,,doc2,b
`).write(t, "noshares", "csv"))
	require.NoError(t, err)
}

func codes(us []indicator.Unit) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Code
	}
	return out
}
