package datasets_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"chiso/datasets"
	"chiso/indicator"
	"chiso/loader"
	"chiso/store"
)

// loadEmbedded loads the embedded Lai Châu dataset with the tree of Việt
// Nam, as go run . serves them, into a real in-memory DuckDB.
func loadEmbedded(t *testing.T) *store.Store {
	t.Helper()
	st := store.New(store.Options{})
	t.Cleanup(func() { st.Close() })
	_, err := loader.New(st, loader.Options{}).Load(context.Background(),
		loader.Dir{Name: "embedded:laichau", FS: datasets.LaiChau()}, loader.Dir{Name: "embedded:vietnam", FS: datasets.Vietnam()})
	require.NoError(t, err)
	return st
}

func day(s string) *time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// TestVietnamTree: the register's counts (its stats: 63 provinces, 696
// districts, 10,047 communes) hold on 2025-03-01; after the reform 915
// lists 34 provinces and 1027 lists 3,321 commune-level units, and no
// district is left. Lai Châu: 8 districts and 106 communes in 2024
// (register 12/105 … 12/112: 7 + 13 + 14 + 22 + 17 + 12 + 10 + 11 = 106),
// 38 communes and no district on 2025-08-01 (1670 clause 37).
func TestVietnamTree(t *testing.T) {
	ctx := context.Background()
	st := loadEmbedded(t)
	count := func(level indicator.Level, asOf *time.Time) int {
		_, info, err := st.ListUnits(ctx, indicator.UnitQuery{Level: level, AsOf: asOf, Page: indicator.Page{First: 1}})
		require.NoError(t, err)
		return info.TotalCount
	}
	before, after := day("2025-03-01"), day("2025-08-01")
	require.Equal(t, 63, count(indicator.LevelProvince, before))
	require.Equal(t, 696, count(indicator.LevelDistrict, before))
	require.Equal(t, 10047, count(indicator.LevelCommune, before))
	require.Equal(t, 34, count(indicator.LevelProvince, after))
	require.Equal(t, 0, count(indicator.LevelDistrict, after))
	require.Equal(t, 3321, count(indicator.LevelCommune, after))

	for _, tc := range []struct {
		asOf                *time.Time
		districts, communes int
	}{{day("2024-06-01"), 8, 106}, {after, 0, 38}} {
		d, err := st.Descendants(ctx, []string{"vn.lai-chau"}, indicator.LevelDistrict, tc.asOf)
		require.NoError(t, err)
		require.Len(t, d["vn.lai-chau"], tc.districts, tc.asOf)
		c, err := st.Descendants(ctx, []string{"vn.lai-chau"}, indicator.LevelCommune, tc.asOf)
		require.NoError(t, err)
		require.Len(t, c["vn.lai-chau"], tc.communes, tc.asOf)
	}
	kids, err := st.Children(ctx, []string{"vn.lai-chau"}, indicator.LevelCommune, after)
	require.NoError(t, err)
	require.Len(t, kids["vn.lai-chau"], 38, "the new communes hang under the province directly")

	// Official codes: 12 is Lai Châu before and after; 03463 is the old
	// xã Tà Tổng (register 12/107/03463) and, from 2025-07-01, the new one
	// (1027 line 438).
	byOC, err := st.UnitsByOfficialCode(ctx, []string{"12", "03463", "99999"}, day("2024-01-01"))
	require.NoError(t, err)
	require.Equal(t, "vn.lai-chau", byOC["12"].Code)
	require.Equal(t, "vn.lai-chau.muong-te.ta-tong", byOC["03463"].Code)
	require.NotContains(t, byOC, "99999")
	byOC, err = st.UnitsByOfficialCode(ctx, []string{"12", "03463"}, nil)
	require.NoError(t, err)
	require.Equal(t, "vn.lai-chau", byOC["12"].Code)
	require.Equal(t, "vn.lai-chau.xa-ta-tong", byOC["03463"].Code)
	require.Equal(t, "xã", byOC["03463"].Type)
	require.Equal(t, "1027_CTK-CSCL", byOC["03463"].Source)
	require.Equal(t, "line 438", byOC["03463"].Locator)

	// Hà Nội, Ba Đình, Phúc Xá: the register's first province, district
	// and commune (01/001/00001).
	u, err := st.Units(ctx, []string{"vn.ha-noi.ba-dinh.phuc-xa"})
	require.NoError(t, err)
	px := u["vn.ha-noi.ba-dinh.phuc-xa"]
	require.Equal(t, "00001", px.OfficialCode)
	require.Equal(t, "phường", px.Type)
	require.Equal(t, "Phúc Xá", px.NameVI)
	require.Equal(t, "phuc xa", px.NameASCII)
	require.Equal(t, "01/001/00001", px.Locator)
	require.Equal(t, "2025-06-30", px.ValidTo.Format(time.DateOnly))
}

// TestLaiChauChanges: resolution 1670 turns Lai Châu's 106 communes into
// 38 (Article 1: 36 clauses forming 34 xã and 2 phường; clause 37: Mù Cả
// and Tà Tổng not rearranged), and its 8 districts are abolished.
func TestLaiChauChanges(t *testing.T) {
	ctx := context.Background()
	st := loadEmbedded(t)
	old, err := st.Descendants(ctx, []string{"vn.lai-chau"}, indicator.LevelCommune, day("2025-06-30"))
	require.NoError(t, err)
	nu, err := st.Children(ctx, []string{"vn.lai-chau"}, indicator.LevelCommune, day("2025-07-01"))
	require.NoError(t, err)
	var oldCodes, newCodes, dists []string
	for _, u := range old["vn.lai-chau"] {
		oldCodes = append(oldCodes, u.Code)
	}
	for _, u := range nu["vn.lai-chau"] {
		newCodes = append(newCodes, u.Code)
	}
	require.Len(t, oldCodes, 106)
	require.Len(t, newCodes, 38)
	d, err := st.Descendants(ctx, []string{"vn.lai-chau"}, indicator.LevelDistrict, day("2025-06-30"))
	require.NoError(t, err)
	for _, u := range d["vn.lai-chau"] {
		dists = append(dists, u.Code)
	}
	require.Len(t, dists, 8)

	// Every old commune has exactly one successor among the new ones, a
	// whole-unit change (no split in 1670: every clause moves "toàn bộ
	// diện tích tự nhiên, quy mô dân số").
	ch, err := st.UnitChanges(ctx, append(append(oldCodes, newCodes...), dists...))
	require.NoError(t, err)
	isNew := map[string]bool{}
	for _, c := range newCodes {
		isNew[c] = true
	}
	for _, c := range oldCodes {
		require.Len(t, ch[c], 1, c)
		x := ch[c][0]
		require.Equal(t, c, x.Predecessor)
		require.True(t, isNew[x.Successor], "%s → %s", c, x.Successor)
		require.Nil(t, x.Share)
		require.Equal(t, "2025-07-01", x.Date.Format(time.DateOnly))
		require.Equal(t, "1670_NQ-UBTVQH15", x.Source)
		require.Regexp(t, `^Điều 1 khoản \d+, lines? \d+`, x.Locator)
	}
	// Each new commune has at least one predecessor; 36 have two or more
	// (merges), the two carried over have one (a move: same name, same
	// code, new parent).
	merged, moved := 0, 0
	for _, c := range newCodes {
		require.NotEmpty(t, ch[c], c)
		if len(ch[c]) == 1 {
			require.Equal(t, indicator.ChangeMove, ch[c][0].Kind, c)
			moved++
			continue
		}
		for _, x := range ch[c] {
			require.Equal(t, indicator.ChangeMerge, x.Kind)
		}
		merged++
	}
	require.Equal(t, 36, merged)
	require.Equal(t, 2, moved)
	for _, tc := range []struct{ old, new, locator string }{
		{"vn.lai-chau.muong-te.mu-ca", "vn.lai-chau.xa-mu-ca", "Điều 1 khoản 37, line 161"},
		{"vn.lai-chau.muong-te.ta-tong", "vn.lai-chau.xa-ta-tong", "Điều 1 khoản 37, line 162"},
	} {
		require.Equal(t, tc.new, ch[tc.old][0].Successor)
		require.Equal(t, tc.locator, ch[tc.old][0].Locator)
		u, err := st.Units(ctx, []string{tc.old, tc.new})
		require.NoError(t, err)
		require.Equal(t, u[tc.old].OfficialCode, u[tc.new].OfficialCode)
		require.Equal(t, u[tc.old].NameVI, u[tc.new].NameVI)
	}
	// Clause 1 (lines 38–40): Tà Mung, Tà Hừa, Pha Mu and Mường Kim form
	// xã Mường Kim.
	var preds []string
	for _, x := range ch["vn.lai-chau.xa-muong-kim"] {
		preds = append(preds, x.Predecessor)
	}
	require.ElementsMatch(t, []string{"vn.lai-chau.than-uyen.ta-mung", "vn.lai-chau.than-uyen.ta-hua", "vn.lai-chau.than-uyen.pha-mu", "vn.lai-chau.than-uyen.muong-kim"}, preds)
	for _, c := range dists {
		require.Len(t, ch[c], 1, c)
		require.Equal(t, indicator.ChangeAbolished, ch[c][0].Kind)
		require.Empty(t, ch[c][0].Successor)
	}
}

// TestUnitLocators: every unit and unit change citing a source is found
// where its locator says in ../shared/sources (skipped when absent).
func TestUnitLocators(t *testing.T) {
	src := filepath.Join("..", "..", "shared", "sources")
	if _, err := os.Stat(src); err != nil {
		t.Skipf("sources not available (%v)", err)
	}
	rep, err := datasets.VerifyUnits(map[string]fs.FS{"laichau": datasets.LaiChau(), "vietnam": datasets.Vietnam()}, os.DirFS(src))
	require.NoError(t, err)
	require.Empty(t, rep.Problems)
	// 63 + 696 + 10,047 register rows, 34 province rows of 915 (Lai Châu's
	// continues, so 33), 3,321 commune rows of 1027.
	require.Equal(t, 63+696+10047+33+3321, rep.Units)
	require.Equal(t, rep.Units, rep.UnitsChecked)
	require.Equal(t, 114, rep.Changes) // 104 merges, 2 moves, 8 abolished districts
	require.Equal(t, rep.Changes, rep.ChangesChecked)
}

// BenchmarkLoadEmbedded: loading the embedded data as go run . does
// (laichau+vietnam) against Lai Châu alone, each into a fresh store.
func BenchmarkLoadEmbedded(b *testing.B) {
	for _, tc := range []struct {
		name string
		dirs []loader.Dir
	}{
		{"laichau", []loader.Dir{{Name: "embedded:laichau", FS: datasets.LaiChau()}}},
		{"laichau+vietnam", []loader.Dir{{Name: "embedded:laichau", FS: datasets.LaiChau()}, {Name: "embedded:vietnam", FS: datasets.Vietnam()}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				st := store.New(store.Options{})
				if _, err := loader.New(st, loader.Options{}).Load(context.Background(), tc.dirs...); err != nil {
					b.Fatal(err)
				}
				st.Close()
			}
		})
	}
}
