// Package httpapi is chiso's HTTP API: GraphQL at /graphql (POST and GET)
// behind its middleware (request timeout → body limit → the snapshot pin
// and request loaders → response cache → gqlgen), GraphiQL at /, health
// at /healthz, every request logged with its id. It answers from an
// indicator.Engine and never sees the store behind it.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/vektah/gqlparser/v2/ast"

	"chiso/graph"
	"chiso/indicator"
	"chiso/respcache"
)

// Config is what the HTTP layer needs to know.
type Config struct {
	Timeout     time.Duration // per request, reaches DuckDB through the context
	Limits      graph.Limits
	QueryLimits graph.QueryLimits
	Loader      graph.LoaderOptions
	MaxBody     int64 // bytes of a request body; larger ones get 413
	CacheBytes  int64 // response cache size; 0: none (see package respcache)
	// NoIntrospection refuses __schema and __type (on by default: GraphiQL
	// and code generators use them).
	NoIntrospection bool
	// GqlgenLists leaves every list to gqlgen's per-field execution
	// (without graph.ListWriter); tests compare the two.
	GqlgenLists bool
}

// API is chiso's HTTP handler.
type API struct {
	http.Handler
	// Lists writes long lists in one pass; nil with Config.GqlgenLists.
	Lists *graph.ListWriter
}

// New builds the API over eng.
func New(cfg Config, eng indicator.Engine, log *slog.Logger) *API {
	res := graph.NewResolver(eng, cfg.Limits)
	gql := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: res, Complexity: res.Complexity()}))
	gql.AddTransport(transport{})
	gql.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	if !cfg.NoIntrospection {
		gql.Use(extension.Introspection{})
	}
	gql.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	gql.Use(graph.NewLimits(cfg.QueryLimits))
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

	mux := http.NewServeMux()
	mux.Handle("/graphql", Timeout(cfg.Timeout, LimitBody(cfg.MaxBody, graph.Middleware(eng, cfg.Loader, respcache.New(cfg.CacheBytes).Handler(eng, gql)))))
	mux.Handle("GET /{$}", playground.Handler("chiso GraphiQL", "/graphql"))
	mux.Handle("GET /healthz", Health(eng))
	return &API{Handler: LogRequests(log, mux), Lists: lists}
}

type internalPanic struct{}

func (internalPanic) Error() string { return "internal error" }

var errInternalPanic error = internalPanic{}
