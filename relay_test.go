package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"chiso/datasets"
	"chiso/graph"
	"chiso/loader"
	"chiso/scripttest"
)

// TestRelayConnections walks every connection forward (first/after) and
// backward (last/before) over the Lai Châu data and requires both walks
// to give the whole list once, in order, with pageInfo as Relay's spec
// has it; bad combinations are refused naming the argument.
func TestRelayConnections(t *testing.T) {
	w, _ := scriptWorld(t, graph.DefaultLimits, graph.DefaultQueryLimits, time.Minute)
	s := scripttest.Serve(t, w)
	_, err := w.Loader.Load(context.Background(), loader.Dir{Name: "embedded:laichau", FS: datasets.LaiChau()})
	require.NoError(t, err)

	for _, c := range []struct{ field, args, key string }{
		{"units", `asOf: "2024-12-31", `, "code"},
		{"indicators", `theme: "poverty", `, "code"},
		{"observations", `filter: { units: ["vn.lai-chau.phong-tho"] }, `, "id"},
	} {
		t.Run(c.field, func(t *testing.T) {
			page := func(args string) (keys []string, pi map[string]any, total int) {
				q := fmt.Sprintf(`{ %s(%s%s) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { %s } } } }`,
					c.field, c.args, args, c.key)
				conn := dataOf(t, postScript(t, s, q))[c.field].(map[string]any)
				pi = conn["pageInfo"].(map[string]any)
				edges := conn["edges"].([]any)
				for i, e := range edges {
					e := e.(map[string]any)
					keys = append(keys, e["node"].(map[string]any)[c.key].(string))
					if i == 0 {
						require.Equal(t, e["cursor"], pi["startCursor"])
					}
					if i == len(edges)-1 {
						require.Equal(t, e["cursor"], pi["endCursor"])
					}
				}
				return keys, pi, int(conn["totalCount"].(float64))
			}
			all, pi, total := page("first: 1000")
			require.Len(t, all, total)
			require.Greater(t, total, 7, "enough rows for several pages")
			require.Equal(t, false, pi["hasNextPage"])
			require.Equal(t, false, pi["hasPreviousPage"])

			var fwd []string
			after := ""
			for i := 0; ; i++ {
				require.Less(t, i, 1000)
				keys, pi, _ := page(fmt.Sprintf(`first: 3, after: %q`, after))
				fwd = append(fwd, keys...)
				require.Equal(t, after != "", pi["hasPreviousPage"], "a page after the first has one before it")
				if !pi["hasNextPage"].(bool) {
					break
				}
				after = pi["endCursor"].(string)
			}
			require.Equal(t, all, fwd)

			var back []string
			before := ""
			for i := 0; ; i++ {
				require.Less(t, i, 1000)
				keys, pi, _ := page(fmt.Sprintf(`last: 3, before: %q`, before))
				back = append(slices.Clone(keys), back...)
				require.Equal(t, before != "", pi["hasNextPage"], "a page before the last has one after it")
				if !pi["hasPreviousPage"].(bool) {
					break
				}
				before = pi["startCursor"].(string)
			}
			require.Equal(t, all, back)

			// last alone is the end of the list; before alone pages backward.
			keys, _, _ := page("last: 2")
			require.Equal(t, all[len(all)-2:], keys)
			_, pi, _ = page("first: 5")
			cursor5 := pi["endCursor"].(string)
			keys, _, _ = page(fmt.Sprintf(`before: %q`, cursor5))
			require.Equal(t, all[:4], keys)
			// A window: after the 2nd item and before the 5th.
			_, pi, _ = page("first: 2")
			keys, pi, _ = page(fmt.Sprintf(`first: 10, after: %q, before: %q`, pi["endCursor"], cursor5))
			require.Equal(t, all[2:4], keys)
			require.Equal(t, true, pi["hasNextPage"])
			require.Equal(t, true, pi["hasPreviousPage"])

			for args, want := range map[string][2]string{
				"first: 2, last: 2":           {"INVALID_ARGUMENT", "last"},
				"last: -1":                    {"INVALID_ARGUMENT", "last"},
				"last: 1001":                  {"TOO_LARGE", "last"},
				`last: 2, before: "nonsense"`: {"INVALID_ARGUMENT", "before"},
				`first: 2, after: "nonsense"`: {"INVALID_ARGUMENT", "after"},
			} {
				q := fmt.Sprintf(`{ %s(%s%s) { totalCount } }`, c.field, c.args, args)
				out := postScript(t, s, q)
				require.Nil(t, out["data"].(map[string]any)[c.field], args)
				errs := out["errors"].([]any)
				require.Len(t, errs, 1, args)
				ext := errs[0].(map[string]any)["extensions"].(map[string]any)
				require.Equal(t, want[0], ext["code"], args)
				require.Equal(t, want[1], ext["argument"], args)
			}
		})
	}
}
