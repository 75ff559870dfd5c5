// Package respcache keeps whole GraphQL responses in memory, bounded in
// bytes and evicted least recently used first. An answer depends only on
// the request and on the snapshot it was computed from, so the key is the
// snapshot (content version and load time: a reload of the same files is
// a new snapshot) plus everything of the request that changes the bytes
// of the answer: the method, URL query, content type, Accept (which
// chooses the answer's media type) and body. A reload therefore never
// serves an old answer; the old snapshot's entries just age out.
//
// Only complete successes are kept: a response with errors (a timeout, a
// limit, a bad argument) is computed again next time, and so is the
// answer to a request whose context ended before it was answered (its
// client left, or its time limit passed), whatever it says. A client that sends
// Cache-Control: no-cache bypasses the cache both ways.
package respcache

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"

	"chiso/indicator"
)

// Header says whether a response came from the cache: hit or miss.
const Header = "X-Chiso-Cache"

// Snapshots tells which snapshot a request is answered from.
type Snapshots interface {
	Dataset(ctx context.Context) (indicator.DatasetInfo, error)
}

// Cache is a response cache; a nil *Cache caches nothing.
type Cache struct {
	max int64 // bytes of bodies kept

	mu      sync.Mutex
	size    int64
	order   *list.List // front: most recently used *entry
	entries map[[sha256.Size]byte]*list.Element
}

type entry struct {
	key         [sha256.Size]byte
	contentType string
	body        []byte
}

// New returns a cache of at most max bytes, or nil (no caching) when
// max <= 0.
func New(max int64) *Cache {
	if max <= 0 {
		return nil
	}
	return &Cache{max: max, order: list.New(), entries: map[[sha256.Size]byte]*list.Element{}}
}

func (c *Cache) get(k [sha256.Size]byte) (*entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry), true
}

func (c *Cache) put(e *entry) {
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
		oe := old.Value.(*entry)
		c.order.Remove(old)
		delete(c.entries, oe.key)
		c.size -= int64(len(oe.body))
	}
}

// Len is the number of responses kept.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Handler serves GraphQL responses from c, and keeps next's successful
// ones. It must run inside the snapshot pin (graph.Middleware), so the
// version it keys on is the one the response is computed from.
func (c *Cache) Handler(s Snapshots, next http.Handler) http.Handler {
	if c == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Cache-Control"), "no-cache") || (r.Method != http.MethodGet && r.Method != http.MethodPost) {
			next.ServeHTTP(w, r)
			return
		}
		info, err := s.Dataset(r.Context())
		if err != nil {
			next.ServeHTTP(w, r) // nothing served yet: let the handler say so
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{
				"message": "request body: " + err.Error(), "extensions": map[string]string{"code": string(indicator.CodeInvalidArgument)}}}})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		key := keyOf(info, r, body)
		if e, ok := c.get(key); ok {
			w.Header().Set("Content-Type", e.contentType)
			w.Header().Set(Header, "hit")
			w.Write(e.body)
			return
		}
		w.Header().Set(Header, "miss")
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if r.Context().Err() == nil && rec.status == http.StatusOK && !rec.failed && !bytes.Contains(rec.body.Bytes(), []byte(`"errors":`)) && validAnswer(rec.body.Bytes()) {
			c.put(&entry{key: key, contentType: w.Header().Get("Content-Type"), body: bytes.Clone(rec.body.Bytes())})
		}
	})
}

// keyOf is the key of a request's answer from the snapshot info: each
// part length-prefixed, so no two requests share one.
func keyOf(info indicator.DatasetInfo, r *http.Request, body []byte) [sha256.Size]byte {
	h := sha256.New()
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(info.LoadedAt.UnixNano()))
	for _, part := range [][]byte{[]byte(info.Version), ts[:], []byte(r.Method), []byte(r.URL.RawQuery), []byte(r.Header.Get("Content-Type")),
		[]byte(strings.Join(r.Header.Values("Accept"), ", ")), body} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}

// validAnswer is whether b is a GraphQL answer with data: an object with
// a non-null data entry. ("null", what an ended request once answered, is
// not.)
func validAnswer(b []byte) bool {
	var resp struct {
		Data json.RawMessage `json:"data"`
	}
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) || json.Unmarshal(b, &resp) != nil {
		return false
	}
	return len(resp.Data) > 0 && !bytes.Equal(resp.Data, []byte("null"))
}

// recorder passes a response through, recording its status, and keeps a
// copy of its body.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
	failed bool
}

func (w *recorder) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(b)
	n, err := w.ResponseWriter.Write(b)
	if err != nil {
		w.failed = true
	}
	return n, err
}

// Unwrap is the writer below, for http.ResponseController.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes a flush on.
func (w *recorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
