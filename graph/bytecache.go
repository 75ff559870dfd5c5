package graph

import (
	"container/list"
	"context"
	"sync"

	"github.com/vektah/gqlparser/v2/ast"
)

// ByteLRU is a least-recently-used cache bounded by the bytes of its
// entries, not their count: gqlgen's parsed-query and persisted-query
// caches, so a thousand distinct large queries cannot hold gigabytes. An
// entry larger than the whole cache is not kept.
type ByteLRU[T any] struct {
	mu    sync.Mutex
	max   int64
	used  int64
	order *list.List // front: most recently used
	items map[string]*list.Element
	size  func(key string, v T) int64
}

type byteEntry[T any] struct {
	key  string
	val  T
	size int64
}

// NewByteLRU returns a cache of at most max bytes, an entry weighing
// size(key, value). max <= 0 keeps nothing.
func NewByteLRU[T any](max int64, size func(key string, v T) int64) *ByteLRU[T] {
	return &ByteLRU[T]{max: max, order: list.New(), items: map[string]*list.Element{}, size: size}
}

// Get returns the value of key, marking it recently used.
func (c *ByteLRU[T]) Get(_ context.Context, key string) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*byteEntry[T]).val, true
	}
	var zero T
	return zero, false
}

// Add keeps value under key, evicting the least recently used entries
// until the cache is within its bytes.
func (c *ByteLRU[T]) Add(_ context.Context, key string, value T) {
	n := c.size(key, value)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.remove(e)
	}
	if n > c.max {
		return
	}
	c.items[key] = c.order.PushFront(&byteEntry[T]{key: key, val: value, size: n})
	c.used += n
	for c.used > c.max {
		c.remove(c.order.Back())
	}
}

func (c *ByteLRU[T]) remove(e *list.Element) {
	ent := e.Value.(*byteEntry[T])
	c.order.Remove(e)
	delete(c.items, ent.key)
	c.used -= ent.size
}

// Bytes is what the entries weigh now.
func (c *ByteLRU[T]) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// Len is the number of entries.
func (c *ByteLRU[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// entryOverhead is what an entry costs besides its key and value: the
// list element, the map slot and the entry.
const entryOverhead = 200

// QueryDocBytesPerByte is the Go heap a parsed and validated query
// document holds per byte of its source, as measured by
// TestQueryDocWeight (the AST keeps positions, names and definitions
// per token).
const QueryDocBytesPerByte = 40

// NewQueryCache is the parsed-query cache of max bytes: a document
// weighs its key (the query) and QueryDocBytesPerByte per byte of it.
func NewQueryCache(max int64) *ByteLRU[*ast.QueryDocument] {
	return NewByteLRU(max, func(key string, _ *ast.QueryDocument) int64 {
		return entryOverhead + int64(len(key))*(1+QueryDocBytesPerByte)
	})
}

// NewPersistedQueryCache is the APQ cache (hash → query) of max bytes.
func NewPersistedQueryCache(max int64) *ByteLRU[string] {
	return NewByteLRU(max, func(key string, v string) int64 { return entryOverhead + int64(len(key)+len(v)) })
}
