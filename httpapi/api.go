// Package httpapi is chiso's HTTP API: GraphQL at /graphql (POST and GET)
// behind its middleware (request timeout → body limit → the snapshot pin
// and request loaders → response cache → gqlgen), GraphiQL at / and the
// explorer at /explore (package web, embedded), health at /healthz,
// every request logged with its id. It answers from an indicator.Engine
// and never sees the store behind it.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"

	"chiso/graph"
	"chiso/indicator"
	"chiso/respcache"
	"chiso/web"
)

// Config is what the HTTP layer needs to know.
type Config struct {
	Timeout     time.Duration // per request, reaches DuckDB through the context
	Limits      graph.Limits
	QueryLimits graph.QueryLimits
	Loader      graph.LoaderOptions
	MaxBody     int64 // bytes of a request body; larger ones get 413
	CacheBytes  int64 // response cache size; 0: none (see package respcache)
	// QueryCacheBytes bounds the parsed-query cache and, apart, the
	// persisted-query cache; 0: DefaultQueryCacheBytes.
	QueryCacheBytes int64
	// MaxTokens caps the tokens the parser reads of a query; 0:
	// DefaultMaxTokens.
	MaxTokens int
	Admission Admission
	// NoIntrospection refuses __schema and __type (on by default: GraphiQL
	// and code generators use them).
	NoIntrospection bool
	// GqlgenLists leaves every list to gqlgen's per-field execution
	// (without graph.ListWriter); tests compare the two.
	GqlgenLists bool
	HTTP        Conventions
}

// Conventions are what a front end or a CDN expects of the HTTP layer
// (see README, "HTTP conventions").
type Conventions struct {
	CORSOrigins []string      // origins allowed to call from a browser; none: CORS off
	MaxAge      time.Duration // Cache-Control max-age of GET answers; 0: no-cache (revalidate)
	CompressMin int           // smallest body compressed; 0: 1 KiB
	// ExportTimeout bounds an export that streams the observations table
	// (other exports have Timeout); 0: none.
	ExportTimeout time.Duration
	ExportPage    int // observations read per page while streaming; 0: 50,000
}

// Defaults of Config's zero values.
const (
	DefaultQueryCacheBytes = 32 << 20
	DefaultMaxTokens       = 15_000
)

// API is chiso's HTTP handler.
type API struct {
	http.Handler
	// Lists writes long lists in one pass; nil with Config.GqlgenLists.
	Lists *graph.ListWriter
	// Queries and Persisted are the parsed-query and persisted-query
	// caches.
	Queries   *graph.ByteLRU[*ast.QueryDocument]
	Persisted *graph.ByteLRU[string]
	// Metrics are served at /metrics; the server records its loads there.
	Metrics *Metrics
}

// New builds the API over eng.
func New(cfg Config, eng indicator.Engine, log *slog.Logger) *API {
	res := graph.NewResolver(eng, cfg.Limits)
	gql := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: res}))
	gql.AddTransport(transport{})
	if cfg.QueryCacheBytes <= 0 {
		cfg.QueryCacheBytes = DefaultQueryCacheBytes
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = DefaultMaxTokens
	}
	queries := graph.NewQueryCache(cfg.QueryCacheBytes)
	gql.SetQueryCache(queries)
	gql.SetParserTokenLimit(cfg.MaxTokens)
	if !cfg.NoIntrospection {
		gql.Use(extension.Introspection{})
	}
	persisted := graph.NewPersistedQueryCache(cfg.QueryCacheBytes)
	gql.Use(extension.AutomaticPersistedQuery{Cache: persisted})
	gql.Use(graph.NewLimits(cfg.QueryLimits, eng, cfg.Limits))
	var lists *graph.ListWriter
	if !cfg.GqlgenLists {
		lists = graph.NewListWriter(res)
		gql.Use(lists)
	}
	gql.SetErrorPresenter(graph.ErrorPresenter(log))
	gql.SetRecoverFunc(func(ctx context.Context, v any) error {
		log.ErrorContext(ctx, "panic in resolver", "request", RequestID(ctx), "panic", v)
		return errInternalPanic
	})

	met := NewMetrics(eng)
	exp := newExporter(cfg, eng, res, lists, queries, log)
	conv := cfg.HTTP
	mux := http.NewServeMux()
	adm := newAdmission(cfg.Admission)
	mux.Handle("/graphql", Timeout(cfg.Timeout, LimitBody(cfg.MaxBody, met.OperationName(graph.Middleware(eng, cfg.Loader, adm.Handler(CacheHeaders(eng, conv.MaxAge, respcache.New(cfg.CacheBytes).Handler(eng, gql))))))))
	mux.Handle("/export", Timeout(conv.ExportTimeout, LimitBody(cfg.MaxBody, met.OperationName(graph.Middleware(eng, cfg.Loader, CacheHeaders(eng, conv.MaxAge, exp))))))
	web.Register(mux)
	mux.Handle("GET /healthz", Health(eng))
	mux.Handle("GET /metrics", met.Handler())
	minSize := conv.CompressMin
	if minSize <= 0 {
		minSize = 1 << 10
	}
	return &API{Handler: LogRequests(log, met.Middleware(CORS(conv.CORSOrigins, Compress(minSize, mux)))), Lists: lists, Queries: queries, Persisted: persisted, Metrics: met}
}

// newExporter builds /export's handler: its own executor over the same
// schema, extensions and limits as /graphql.
func newExporter(cfg Config, eng indicator.Engine, res *graph.Resolver, lists *graph.ListWriter, queries *graph.ByteLRU[*ast.QueryDocument], log *slog.Logger) *exporter {
	es := graph.NewExecutableSchema(graph.Config{Resolvers: res})
	exec := executor.New(es)
	exec.SetQueryCache(queries)
	exec.SetParserTokenLimit(cfg.MaxTokens)
	exec.Use(graph.NewLimits(cfg.QueryLimits, eng, cfg.Limits))
	if lists != nil {
		exec.Use(lists)
	}
	exec.SetErrorPresenter(graph.ErrorPresenter(log))
	exec.SetRecoverFunc(func(ctx context.Context, v any) error {
		log.ErrorContext(ctx, "panic in resolver", "request", RequestID(ctx), "panic", v)
		return errInternalPanic
	})
	page := cfg.HTTP.ExportPage
	if page <= 0 {
		page = 50_000
	}
	return &exporter{exec: exec, schema: es.Schema(), eng: eng, log: log, timeout: cfg.Timeout, limits: cfg.Limits, page: page}
}

type internalPanic struct{}

func (internalPanic) Error() string { return "internal error" }

var errInternalPanic error = internalPanic{}
