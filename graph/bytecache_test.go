package graph

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestByteLRU: the cache keeps entries within its bytes, evicting the
// least recently used first, and never keeps an entry larger than itself.
func TestByteLRU(t *testing.T) {
	ctx := context.Background()
	c := NewByteLRU(100, func(k string, v string) int64 { return int64(len(k) + len(v)) })
	c.Add(ctx, "a", strings.Repeat("x", 39)) // 40
	c.Add(ctx, "b", strings.Repeat("x", 39)) // 80
	_, ok := c.Get(ctx, "a")                 // a is now the most recent
	require.True(t, ok)
	c.Add(ctx, "c", strings.Repeat("x", 39)) // 120 > 100: b goes
	_, ok = c.Get(ctx, "b")
	require.False(t, ok)
	_, ok = c.Get(ctx, "a")
	require.True(t, ok)
	require.Equal(t, int64(80), c.Bytes())
	c.Add(ctx, "big", strings.Repeat("x", 98)) // 101: not kept, nothing evicted
	_, ok = c.Get(ctx, "big")
	require.False(t, ok)
	require.Equal(t, 2, c.Len())
	c.Add(ctx, "a", "") // replacing an entry reweighs it
	require.Equal(t, int64(41), c.Bytes())
}

// TestQueryDocWeight measures what a parsed, validated query document
// holds in Go's heap per byte of its source, for field-dense documents
// (150 aliased scalar fields, the densest a request may send within the
// alias limit, and a nested tree of fields), and requires it within
// QueryDocBytesPerByte, the weight the parsed-query cache charges.
func TestQueryDocWeight(t *testing.T) {
	schema := NewExecutableSchema(Config{Resolvers: NewResolver(nil, DefaultLimits)}).Schema()
	shapes := map[string]func(i int) string{
		"aliases": func(i int) string {
			var b strings.Builder
			fmt.Fprintf(&b, `{ q%d: unit(code: "vn.lai-chau") {`, i)
			for f := range 150 {
				fmt.Fprintf(&b, " f%d: code", f)
			}
			b.WriteString(" } }")
			return b.String()
		},
		"tree": func(i int) string {
			return fmt.Sprintf(`{ q%d: unit(code: "vn") { code nameVi level children { code nameVi children { code nameVi series(indicator: "x") { observations { value periodLabel provenance { raw line source { title } } } } } } } }`, i)
		},
	}
	for name, shape := range shapes {
		const n = 2000
		heap := func() uint64 {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			return m.HeapAlloc
		}
		queries := make([]string, n)
		src := 0
		for i := range queries {
			queries[i] = shape(i)
			src += len(queries[i])
		}
		docs := make([]*ast.QueryDocument, n)
		before := heap()
		for i, q := range queries {
			d, errs := gqlparser.LoadQueryWithRules(schema, q, nil)
			require.Empty(t, errs, name)
			docs[i] = d
		}
		per := float64(heap()-before) / float64(src)
		runtime.KeepAlive(docs)
		t.Logf("%s: %d documents of %d bytes each hold %.1f bytes of heap per source byte", name, n, src/n, per)
		require.LessOrEqual(t, per, float64(QueryDocBytesPerByte), name)
	}
}
