package httpapi

import (
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
)

// brotliLevel and gzipLevel trade ratio for speed, as suits responses
// made on the fly (brotli's default, 11, is for static files; gzip's, 6,
// costs an analytic's answer about as much time as computing it).
const (
	brotliLevel = 4
	gzipLevel   = gzip.BestSpeed
)

var (
	gzipPool   = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzipLevel); return w }}
	brotliPool = sync.Pool{New: func() any { return brotli.NewWriterLevel(nil, brotliLevel) }}
)

// acceptedEncoding picks br or gzip from an Accept-Encoding header (br
// first when both are acceptable), or "" for none.
func acceptedEncoding(h string) string {
	q := map[string]float64{}
	for _, part := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		v := 1.0
		if k, val, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil {
				continue
			}
			v = f
		}
		q[name] = v
	}
	star, hasStar := q["*"]
	ok := func(name string) bool {
		if v, set := q[name]; set {
			return v > 0
		}
		return hasStar && star > 0
	}
	switch {
	case ok("br"):
		return "br"
	case ok("gzip"):
		return "gzip"
	}
	return ""
}

// incompressible are content types already compressed.
var incompressible = []string{"application/vnd.apache.parquet", "application/vnd.openxmlformats", "application/zip", "application/gzip", "image/png", "image/jpeg", "image/webp", "font/woff"}

// Compress compresses responses with br or gzip, as the request's
// Accept-Encoding allows, once they reach min bytes: a smaller answer
// goes out as it is, and so does one already compressed (Parquet, xlsx,
// images) or with a Content-Encoding of its own. A flush (a streamed
// export) sends what is compressed so far.
func Compress(min int, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		enc := acceptedEncoding(r.Header.Get("Accept-Encoding"))
		if enc == "" || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		cw := &compressWriter{ResponseWriter: w, enc: enc, min: min}
		next.ServeHTTP(cw, r)
		cw.close()
	})
}

type compressWriter struct {
	http.ResponseWriter
	enc     string
	min     int
	status  int
	buf     []byte
	decided bool
	z       io.WriteCloser // nil: written as it is
}

func (c *compressWriter) WriteHeader(code int) {
	if c.status != 0 {
		return
	}
	c.status = code
	if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
		c.decide(false)
	}
}

// decide starts the response: compressed or not.
func (c *compressWriter) decide(compress bool) {
	if c.decided {
		return
	}
	c.decided = true
	h := c.Header()
	if compress && h.Get("Content-Encoding") == "" {
		ct := h.Get("Content-Type")
		for _, t := range incompressible {
			if strings.HasPrefix(ct, t) {
				compress = false
			}
		}
	} else {
		compress = false
	}
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if compress {
		h.Set("Content-Encoding", c.enc)
		h.Del("Content-Length")
		switch c.enc {
		case "br":
			bw := brotliPool.Get().(*brotli.Writer)
			bw.Reset(c.ResponseWriter)
			c.z = bw
		default:
			gw := gzipPool.Get().(*gzip.Writer)
			gw.Reset(c.ResponseWriter)
			c.z = gw
		}
	}
	c.ResponseWriter.WriteHeader(c.status)
	if len(c.buf) > 0 {
		c.write(c.buf)
		c.buf = nil
	}
}

func (c *compressWriter) write(b []byte) (int, error) {
	if c.z != nil {
		return c.z.Write(b)
	}
	return c.ResponseWriter.Write(b)
}

func (c *compressWriter) Write(b []byte) (int, error) {
	if c.decided {
		return c.write(b)
	}
	c.buf = append(c.buf, b...)
	if len(c.buf) >= c.min {
		c.decide(true)
	}
	return len(b), nil
}

func (c *compressWriter) Flush() {
	if !c.decided {
		// Nothing written yet: a stream sending its headers ahead of a
		// body to come, compressed unless its type is.
		c.decide(len(c.buf) >= c.min || len(c.buf) == 0)
	}
	if f, ok := c.z.(interface{ Flush() error }); ok {
		f.Flush()
	}
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// close ends the response once the handler has returned normally (a
// handler that panics leaves the stream unfinished on purpose).
func (c *compressWriter) close() {
	if !c.decided {
		c.decide(len(c.buf) >= c.min)
	}
	if c.z == nil {
		return
	}
	c.z.Close()
	switch z := c.z.(type) {
	case *gzip.Writer:
		z.Reset(io.Discard)
		gzipPool.Put(z)
	case *brotli.Writer:
		z.Reset(io.Discard)
		brotliPool.Put(z)
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (c *compressWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
