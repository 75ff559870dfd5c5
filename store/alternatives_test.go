package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"chiso/datasets"
	"chiso/loader"
)

// TestAlternatives checks, on the Lai Châu data and the fixture with two
// bases, that every observation's alternatives are exactly the other rows
// of its key (unit, indicator, period, kind, basis) as DuckDB groups them,
// the canonical one first (preferSQL's choice, made at load), and that the
// point index and DuckDB answer alike.
func TestAlternatives(t *testing.T) {
	ctx := context.Background()
	for _, dir := range []loader.Dir{withBases(t), {Name: "embedded:laichau", FS: datasets.LaiChau()}} {
		t.Run(dir.Name, func(t *testing.T) {
			pts, sql := pointStores(t, dir)
			groups, err := sql.RawQuery(ctx, `SELECT o.id, list(o2.id ORDER BY o2.id), count(*) FILTER (WHERE o2.canonical)
				FROM observations o JOIN observations o2 USING (unit, indicator, period, kind, basis)
				GROUP BY o.id ORDER BY o.id`)
			require.NoError(t, err)
			ids := make([]int64, len(groups))
			for i, g := range groups {
				ids[i] = g[0].(int64)
			}
			want, err := sql.Alternatives(ctx, ids)
			require.NoError(t, err)
			got, err := pts.Alternatives(ctx, ids)
			require.NoError(t, err)
			require.Equal(t, want, got, "the point index and DuckDB disagree")
			self, err := sql.ObservationsByID(ctx, ids)
			require.NoError(t, err)
			conflicts := 0
			for _, g := range groups {
				id := g[0].(int64)
				require.Equal(t, int64(1), g[2], "key of %d: one canonical row", id)
				alts := want[id]
				key := fmt.Sprint(g[1])
				members := []any{}
				for _, m := range g[1].([]any) {
					if m.(int64) != id {
						members = append(members, m)
					}
				}
				require.Len(t, alts, len(members), "alternatives of %d (key %s)", id, key)
				canonicals := 0
				for i, a := range alts {
					require.NotEqual(t, id, a.ID)
					require.Contains(t, members, any(a.ID))
					if a.Canonical {
						canonicals++
						require.Zero(t, i, "the canonical alternative of %d comes first", id)
					}
				}
				require.Equal(t, !self[id].Canonical, canonicals == 1, "alternatives of %d hold the canonical row unless it is the canonical one", id)
				for _, a := range alts {
					if a.Value != self[id].Value {
						conflicts++
						break
					}
				}
			}
			t.Logf("%d observations, %d with a conflicting alternative", len(groups), conflicts)
		})
	}
}
