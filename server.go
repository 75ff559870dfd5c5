package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"chiso/config"
	"chiso/datasets"
	"chiso/engine"
	"chiso/graph"
	"chiso/httpapi"
	"chiso/loader"
	"chiso/store"
)

// newAPI is where the store is handed to the API (and through it to
// graph.NewResolver): the one place that decides what the GraphQL layer
// answers from. Every server, the tests' included, is built through it.
func newAPI(cfg httpapi.Config, st *store.Store, log *slog.Logger) *httpapi.API {
	return httpapi.New(cfg, engine.New(st, engine.Options{MaxRows: st.MaxRows()}), log)
}

// serveDefaults are serve's defaults, taken from the packages that own
// each limit.
func serveDefaults() config.Serve {
	return config.Serve{
		Addr:          "127.0.0.1:8080",
		Timeout:       10 * time.Second,
		MaxPage:       graph.DefaultLimits.MaxPageSize,
		MaxDepth:      graph.DefaultQueryLimits.MaxDepth,
		MaxCost:       graph.DefaultQueryLimits.MaxCost,
		MaxRootFields: graph.DefaultQueryLimits.MaxRootFields,
		MaxAliases:    graph.DefaultQueryLimits.MaxAliases,
		MaxResponseMB: graph.DefaultQueryLimits.MaxResponseBytes >> 20,
		MaxTokens:     httpapi.DefaultMaxTokens,
		QueryCacheMB:  httpapi.DefaultQueryCacheBytes >> 20,
		MaxExpensive:  runtime.NumCPU(),
		MaxSmall:      16 * runtime.NumCPU(),
		SmallCost:     5_000,
		AdmitWait:     time.Second,
		MaxRows:       store.DefaultMaxRows,
		MaxErrors:     100,
		BatchWait:     2 * time.Millisecond,
		CacheMB:       64,
		PointsMax:     20_000_000,
		LogLevel:      slog.LevelInfo,
		MaxAge:        time.Minute,
		ExportTimeout: 30 * time.Minute,

		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    64 << 10,
		MaxBody:           1 << 20,
		Introspection:     true,
		ReloadMaxDrop:     0.5,
	}
}

// dirs returns the dataset folders to serve: the -data folders, or the
// embedded Lai Châu dataset with the administrative tree of Việt Nam.
func dirs(c config.Serve) []loader.Dir {
	if len(c.Data) == 0 {
		return []loader.Dir{{Name: "embedded:laichau", FS: datasets.LaiChau()}, {Name: "embedded:vietnam", FS: datasets.Vietnam()}}
	}
	out := make([]loader.Dir, len(c.Data))
	for i, d := range c.Data {
		out[i] = loader.OSDir(d)
	}
	return out
}

// defaultGCPercent is the Go collector's target while serving, unless
// GOGC is set. The served data lives in DuckDB, outside Go's heap; what Go
// keeps is small (dimensions and the response cache), while a request
// allocates a lot and briefly (GraphQL fields, JSON). Collecting at 5×
// the live heap instead of 2× took about 15% off the p50 of a 700-row
// comparison at size M. A load holds far more in Go's heap for a while,
// so it runs at Go's default target and gives the garbage back after
// (at size L, 400 during the load raised its peak RSS from 4.6 to 6.1 GB
// and the serving RSS from 1.0 to 2.8 GB: benchmark results 074045 and
// 084453).
const defaultGCPercent = 400

// loadGC runs a load under Go's default collector target, then returns
// what the load freed to the system and goes back to the serving target.
func loadGC(load func() error) error {
	if os.Getenv("GOGC") != "" {
		return load()
	}
	debug.SetGCPercent(100)
	defer func() {
		debug.FreeOSMemory()
		debug.SetGCPercent(defaultGCPercent)
	}()
	return load()
}

// events are told what serve does, for tests to wait on; either may be
// nil.
type events struct {
	ready    func(addr string, st *store.Store) // listening on addr, serving from st
	reloaded func(err error)                    // a SIGHUP reload finished
}

// serve loads the dataset and serves it until ctx ends, then shuts down
// gracefully.
func serve(ctx context.Context, args []string, env config.Env, logOut io.Writer, ev events) error {
	cfg, err := config.ParseServe(args, env, serveDefaults(), logOut)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: cfg.LogLevel}))
	st := store.New(store.Options{MaxRows: cfg.MaxRows, Threads: cfg.Threads, MemoryLimit: cfg.MemoryLimit, TempDir: cfg.TempDir, OnDisk: cfg.OnDisk, PointsMax: cfg.PointsMax, Logger: log})
	defer st.Close()
	ld := loader.New(st, loader.Options{MaxErrors: cfg.MaxErrors, Logger: log, Guard: cfg.ReloadMaxDrop < 1, MaxDrop: cfg.ReloadMaxDrop})
	folders := dirs(cfg)
	load := func(force bool) func() error {
		return func() error { _, err := ld.LoadWith(ctx, loader.LoadOptions{Force: force}, folders...); return err }
	}
	began := time.Now()
	if err := loadGC(load(false)); err != nil {
		return fmt.Errorf("not starting: %w", err)
	}
	firstLoad := time.Since(began)

	api := newAPI(httpapi.Config{
		Timeout: cfg.Timeout,
		Limits:  graph.Limits{DefaultPageSize: min(graph.DefaultLimits.DefaultPageSize, cfg.MaxPage), MaxPageSize: cfg.MaxPage},
		QueryLimits: graph.QueryLimits{MaxDepth: cfg.MaxDepth, MaxCost: cfg.MaxCost, MaxRootFields: cfg.MaxRootFields,
			MaxAliases: cfg.MaxAliases, MaxResponseBytes: cfg.MaxResponseMB << 20},
		Loader:          graph.LoaderOptions{Wait: cfg.BatchWait},
		MaxBody:         int64(cfg.MaxBody),
		CacheBytes:      int64(cfg.CacheMB) << 20,
		QueryCacheBytes: int64(cfg.QueryCacheMB) << 20,
		MaxTokens:       cfg.MaxTokens,
		Admission:       httpapi.Admission{Expensive: cfg.MaxExpensive, Small: cfg.MaxSmall, SmallCost: cfg.SmallCost, Wait: cfg.AdmitWait},
		HTTP:            httpapi.Conventions{CORSOrigins: cfg.CORSOrigins, MaxAge: cfg.MaxAge, ExportTimeout: cfg.ExportTimeout},
		NoIntrospection: !cfg.Introspection,
	}, st, log)
	api.Metrics.ObserveLoad(firstLoad, nil)

	// SIGHUP reloads the same folders; a failed reload keeps serving the
	// data already loaded. SIGUSR1 reloads them even if they drop more
	// rows than -reload-max-drop allows.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(hup)
	go func() {
		for sig := range hup {
			force := sig == syscall.SIGUSR1
			log.Info("reloading", "signal", sig.String(), "forced", force)
			began := time.Now()
			err := loadGC(load(force))
			api.Metrics.ObserveLoad(time.Since(began), err)
			if err != nil {
				log.Error("reload failed; still serving the previous dataset", "err", err)
			}
			if ev.reloaded != nil {
				ev.reloaded(err)
			}
		}
	}()
	srv := newHTTPServer(cfg, api, log)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	log.Info("serving", "addr", ln.Addr().String(), "graphql", "/graphql", "graphiql", "/")
	if ev.ready != nil {
		ev.ready(ln.Addr().String(), st)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: no new connections; requests in flight finish")
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.Timeout+5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: requests still running after %s: %w", cfg.Timeout+5*time.Second, err)
	}
	log.Info("shut down")
	return nil
}

// newHTTPServer is the HTTP server with cfg's limits against slow and
// hostile clients: a client must send its headers within
// ReadHeaderTimeout and its whole request within ReadTimeout; a response
// must be written within WriteTimeout of the request's headers however
// slowly the client reads (so a client that never reads holds its
// response's memory no longer than that); idle keep-alive connections
// close after IdleTimeout; headers over MaxHeaderBytes get 431.
func newHTTPServer(cfg config.Serve, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              cfg.Addr,
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		// The server's own complaints (TLS handshakes, bad request lines)
		// at WARN, bounded by the request line limit.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
