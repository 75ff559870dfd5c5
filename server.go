package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/vektah/gqlparser/v2/ast"

	"chiso/engine"
	"chiso/graph"
	"chiso/indicator"
)

// serverConfig is what the HTTP layer needs to know.
type serverConfig struct {
	Timeout     time.Duration // per request, reaches DuckDB through the context
	Limits      graph.Limits
	QueryLimits graph.QueryLimits
	Loader      graph.LoaderOptions
	MaxBody     int64 // bytes of a request body
	CacheBytes  int64 // response cache size; 0: none (see responseCache)
	// GqlgenLists leaves every list to gqlgen's per-field execution
	// (without graph.FastLists); tests compare the two.
	GqlgenLists bool
}

// newHandler builds chiso's HTTP handler: GraphQL at /graphql (POST and
// GET), GraphiQL at /, health at /healthz, every request logged.
func newHandler(cfg serverConfig, eng indicator.Engine, log *slog.Logger) http.Handler {
	h, _ := buildHandler(cfg, eng, log)
	return h
}

// buildHandler is newHandler, also returning its list writer (nil with
// GqlgenLists).
func buildHandler(cfg serverConfig, eng indicator.Engine, log *slog.Logger) (http.Handler, *graph.FastLists) {
	res := &graph.Resolver{Engine: eng, Limits: cfg.Limits}
	gql := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: res, Complexity: res.Complexity()}))
	gql.AddTransport(transport.GET{})
	gql.AddTransport(transport.POST{})
	gql.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	gql.Use(extension.Introspection{})
	gql.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	gql.Use(graph.NewLimits(cfg.QueryLimits))
	var fast *graph.FastLists
	if !cfg.GqlgenLists {
		fast = graph.NewFastLists(res)
		gql.Use(fast)
	}
	gql.SetErrorPresenter(graph.ErrorPresenter(log))
	gql.SetRecoverFunc(func(ctx context.Context, v any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", v)
		return errInternalPanic
	})

	mux := http.NewServeMux()
	mux.Handle("/graphql", withTimeout(cfg.Timeout, limitBody(cfg.MaxBody, graph.Middleware(eng, cfg.Loader, cached(newResponseCache(cfg.CacheBytes), eng, gql)))))
	mux.Handle("GET /{$}", playground.Handler("chiso GraphiQL", "/graphql"))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		info, err := eng.Dataset(r.Context())
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"status": "unavailable", "error": err.Error()})
			return
		}
		body := map[string]any{"status": "ok", "version": info.Version, "loadedAt": info.LoadedAt, "observations": info.Observations}
		src := any(eng)
		if w, ok := eng.(interface{ Unwrap() engine.Store }); ok {
			src = w.Unwrap()
		}
		if pi, ok := src.(interface{ PointIndex() string }); ok {
			body["pointIndex"] = pi.PointIndex() // off, building or ready
		}
		json.NewEncoder(w).Encode(body)
	})
	return logRequests(log, mux), fast
}

type internalPanic struct{}

func (internalPanic) Error() string { return "internal error" }

var errInternalPanic error = internalPanic{}

func withTimeout(d time.Duration, next http.Handler) http.Handler {
	if d <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func limitBody(n int64, next http.Handler) http.Handler {
	if n <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
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

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

var requestSeq atomic.Uint64

func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := strconv.FormatUint(requestSeq.Add(1), 36)
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Int("bytes", sw.bytes), slog.Duration("elapsed", time.Since(start)))
	})
}
