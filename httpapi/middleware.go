package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"chiso/engine"
	"chiso/indicator"
)

// Timeout gives each request d to finish: its context ends after d, and
// the context reaches DuckDB, which stops the statement. d <= 0: no limit.
func Timeout(d time.Duration, next http.Handler) http.Handler {
	if d <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// LimitBody refuses a request body over n bytes with 413 and a GraphQL
// error of code TOO_LARGE, before anything reads it; a body within the
// limit is read whole and handed on. The body must arrive within the
// request's time limit (its context's deadline, see Timeout): a body
// still uploading then is refused with 408 and never reaches GraphQL.
// n <= 0: no limit.
func LimitBody(n int64, next http.Handler) http.Handler {
	if n <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > n {
			writeError(w, http.StatusRequestEntityTooLarge, indicator.CodeTooLarge, fmt.Sprintf("request body: %d bytes is over the limit of %d", r.ContentLength, n))
			return
		}
		if d, ok := r.Context().Deadline(); ok {
			// Not supported under some writers: the server's ReadTimeout
			// still bounds the read, and the context is checked after.
			_ = http.NewResponseController(w).SetReadDeadline(d)
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, n))
		if err == nil && r.Context().Err() != nil {
			err = r.Context().Err()
		}
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				writeError(w, http.StatusRequestEntityTooLarge, indicator.CodeTooLarge, fmt.Sprintf("request body: over the limit of %d bytes", n))
				return
			}
			if ne, ok := errors.AsType[net.Error](err); (ok && ne.Timeout()) || errors.Is(err, context.DeadlineExceeded) {
				w.Header().Set("Connection", "close")
				writeError(w, http.StatusRequestTimeout, indicator.CodeTimeout, "request body: not received within the request's time limit")
				return
			}
			writeError(w, http.StatusBadRequest, CodeBadRequest, "request body could not be read: the connection failed or the body is malformed")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// writeError answers with one GraphQL error: its message and
// extensions.code.
func writeError(w http.ResponseWriter, status int, code indicator.Code, msg string) {
	w.Header().Set("Content-Type", ContentTypeJSON)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{
		"message": msg, "extensions": map[string]string{"code": string(code)}}}})
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap is the writer below, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

var requestSeq atomic.Uint64

type requestIDKey struct{}

// RequestID is the id LogRequests gave the request of ctx ("" outside
// one).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// LogRequests gives each request an id, sent back as X-Request-Id and
// kept in its context (RequestID), and logs the request when it is
// answered: id, method, path, status, bytes and time taken. The id is
// the request's own X-Request-Id when that is sane (see saneRequestID),
// so a proxy's id follows the request through; else chiso numbers it.
func LogRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !saneRequestID(id) {
			id = strconv.FormatUint(requestSeq.Add(1), 36)
		}
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Int("bytes", sw.bytes), slog.Duration("elapsed", time.Since(start)))
	})
}

// saneRequestID accepts an incoming request id of 1 to 128 letters,
// digits and . _ - : (a UUID, a trace id, a proxy's counter), nothing a
// log or a header could be confused by.
func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}

// Health answers /healthz: the served dataset's version, load time and
// size, the point index's state when the engine has one (off, building
// or ready), and a load in progress (phase, rows read, rate); 503 when no
// dataset is served.
func Health(eng indicator.Engine) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, err := eng.Dataset(r.Context())
		w.Header().Set("Content-Type", ContentTypeJSON)
		// The point index and the load in progress are the store's; an
		// engine over the store unwraps to it.
		src := any(eng)
		if w, ok := src.(interface{ Unwrap() engine.Store }); ok {
			src = w.Unwrap()
		}
		var load map[string]any
		if lp, ok := src.(interface {
			LoadInProgress() (string, int64, int64, time.Time, bool)
		}); ok {
			if phase, rows, expected, started, on := lp.LoadInProgress(); on {
				load = map[string]any{"phase": phase, "rows": rows, "expectedRows": expected, "startedAt": started.UTC(),
					"rowsPerSecond": int64(float64(rows) / max(time.Since(started).Seconds(), 1e-3))}
			}
		}
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			body := map[string]any{"status": "unavailable", "error": err.Error()}
			if load != nil {
				body["load"] = load
			}
			json.NewEncoder(w).Encode(body)
			return
		}
		body := map[string]any{"status": "ok", "version": info.Version, "loadedAt": info.LoadedAt, "observations": info.Observations}
		if load != nil {
			body["load"] = load // a reload in progress
		}
		if pi, ok := src.(interface{ PointIndex() string }); ok {
			body["pointIndex"] = pi.PointIndex() // off, building or ready
		}
		json.NewEncoder(w).Encode(body)
	})
}
