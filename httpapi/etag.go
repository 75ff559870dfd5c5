package httpapi

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"

	"chiso/indicator"
)

// CacheHeaders makes GET answers cacheable by a browser or a CDN: an
// answer depends only on its URL and the dataset served, so its ETag is
// the dataset version (weak: the same whether compressed or not), and a
// request whose If-None-Match holds it is answered 304 without running
// the query. A successful answer gets Cache-Control: public with maxAge
// (maxAge 0: no-cache, so a cache revalidates every time); an error, or
// an answer carrying GraphQL errors, gets no-store. Requests other than
// GET and HEAD pass untouched. It must run inside the snapshot pin, so
// the version is the one the answer is computed from.
func CacheHeaders(eng indicator.Engine, maxAge time.Duration, next http.Handler) http.Handler {
	cc := "no-cache"
	if maxAge > 0 {
		cc = "public, max-age=" + strconv.Itoa(int(maxAge.Seconds()))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		info, err := eng.Dataset(r.Context())
		if err != nil || info.Version == "" {
			next.ServeHTTP(w, r)
			return
		}
		etag := `W/"` + info.Version + `"`
		if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
			h := w.Header()
			h.Set("ETag", etag)
			h.Set("Cache-Control", cc)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		next.ServeHTTP(&etagWriter{ResponseWriter: w, etag: etag, cc: cc}, r)
	})
}

// etagMatch is If-None-Match's weak comparison against etag.
func etagMatch(header, etag string) bool {
	strip := func(t string) string { return strings.TrimPrefix(strings.TrimSpace(t), "W/") }
	want := strip(etag)
	for _, t := range strings.Split(header, ",") {
		if t = strings.TrimSpace(t); t == "*" || strip(t) == want {
			return true
		}
	}
	return false
}

// etagWriter sets the caching headers when the answer begins: ETag and
// Cache-Control for a 200 whose body does not open with GraphQL errors,
// no-store otherwise.
type etagWriter struct {
	http.ResponseWriter
	etag, cc string
	status   int
	started  bool
}

var errorsPrefix = []byte(`{"errors"`)

func (e *etagWriter) WriteHeader(code int) {
	if e.status == 0 {
		e.status = code
	}
	if code != http.StatusOK {
		e.begin(nil)
	}
}

func (e *etagWriter) begin(body []byte) {
	if e.started {
		return
	}
	e.started = true
	if e.status == 0 {
		e.status = http.StatusOK
	}
	h := e.Header()
	n := min(len(body), len(errorsPrefix))
	if errs := n > 0 && bytes.Equal(body[:n], errorsPrefix[:n]); e.status == http.StatusOK && !errs {
		h.Set("ETag", e.etag)
		h.Set("Cache-Control", e.cc)
	} else {
		h.Del("ETag")
		h.Set("Cache-Control", "no-store")
	}
	e.ResponseWriter.WriteHeader(e.status)
}

func (e *etagWriter) Write(b []byte) (int, error) {
	e.begin(b)
	return e.ResponseWriter.Write(b)
}

func (e *etagWriter) Flush() {
	e.begin(nil)
	if f, ok := e.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (e *etagWriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }
