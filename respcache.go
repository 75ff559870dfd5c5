package main

import (
	"bytes"
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"

	"chiso/indicator"
)

// responseCache keeps whole GraphQL responses in memory, bounded in bytes
// and evicted least recently used first. An answer depends only on the
// request and on the snapshot it was computed from, so the key is the
// snapshot (content version and load time: a reload of the same files is a
// new snapshot) plus the method, URL query and body. A reload therefore
// never serves an old answer; the old snapshot's entries just age out.
//
// Only complete successes are kept: a response with errors (a timeout, a
// limit, a bad argument) is computed again next time. A client that sends
// Cache-Control: no-cache bypasses the cache both ways.
type responseCache struct {
	max int64 // bytes of bodies kept

	mu      sync.Mutex
	size    int64
	order   *list.List // front: most recently used *cacheEntry
	entries map[[sha256.Size]byte]*list.Element
}

type cacheEntry struct {
	key         [sha256.Size]byte
	contentType string
	body        []byte
}

// newResponseCache returns a cache of at most max bytes, or nil (no
// caching) when max <= 0.
func newResponseCache(max int64) *responseCache {
	if max <= 0 {
		return nil
	}
	return &responseCache{max: max, order: list.New(), entries: map[[sha256.Size]byte]*list.Element{}}
}

func (c *responseCache) get(k [sha256.Size]byte) (*cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry), true
}

func (c *responseCache) put(e *cacheEntry) {
	n := int64(len(e.body))
	if n > c.max/4 { // one answer may not push out most of the others
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[e.key]; ok {
		return
	}
	c.entries[e.key] = c.order.PushFront(e)
	c.size += n
	for c.size > c.max {
		old := c.order.Back()
		oe := old.Value.(*cacheEntry)
		c.order.Remove(old)
		delete(c.entries, oe.key)
		c.size -= int64(len(oe.body))
	}
}

// len is the number of responses kept.
func (c *responseCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// cacheHeader says whether a response came from the cache: hit or miss.
const cacheHeader = "X-Chiso-Cache"

// cached serves GraphQL responses from c. It must run inside the snapshot
// pin (graph.Middleware), so the version it keys on is the one the
// response is computed from.
func cached(c *responseCache, eng indicator.Engine, next http.Handler) http.Handler {
	if c == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Cache-Control"), "no-cache") || (r.Method != http.MethodGet && r.Method != http.MethodPost) {
			next.ServeHTTP(w, r)
			return
		}
		info, err := eng.Dataset(r.Context())
		if err != nil {
			next.ServeHTTP(w, r) // nothing served yet: let the handler say so
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			status, code := http.StatusBadRequest, "INVALID_ARGUMENT"
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				status, code = http.StatusRequestEntityTooLarge, "TOO_LARGE"
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{
				"message": "request body: " + err.Error(), "extensions": map[string]string{"code": code}}}})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h := sha256.New()
		var ts [8]byte
		binary.BigEndian.PutUint64(ts[:], uint64(info.LoadedAt.UnixNano()))
		for _, part := range [][]byte{[]byte(info.Version), ts[:], []byte(r.Method), []byte(r.URL.RawQuery), []byte(r.Header.Get("Content-Type")), body} {
			var n [8]byte
			binary.BigEndian.PutUint64(n[:], uint64(len(part)))
			h.Write(n[:])
			h.Write(part)
		}
		var key [sha256.Size]byte
		h.Sum(key[:0])
		if e, ok := c.get(key); ok {
			w.Header().Set("Content-Type", e.contentType)
			w.Header().Set(cacheHeader, "hit")
			w.Write(e.body)
			return
		}
		w.Header().Set(cacheHeader, "miss")
		rec := &recorder{statusWriter: statusWriter{ResponseWriter: w}}
		next.ServeHTTP(rec, r)
		if rec.status == http.StatusOK && !rec.failed && !bytes.Contains(rec.body.Bytes(), []byte(`"errors":`)) {
			c.put(&cacheEntry{key: key, contentType: w.Header().Get("Content-Type"), body: bytes.Clone(rec.body.Bytes())})
		}
	})
}

// recorder passes a response through, recording its status, and keeps a
// copy of its body.
type recorder struct {
	statusWriter
	body   bytes.Buffer
	failed bool
}

func (w *recorder) Write(b []byte) (int, error) {
	w.body.Write(b)
	n, err := w.statusWriter.Write(b)
	if err != nil {
		w.failed = true
	}
	return n, err
}
