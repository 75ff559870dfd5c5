// Command chiso serves indicator statistics over GraphQL from an embedded
// DuckDB. With no arguments it serves the embedded Lai Châu dataset on
// :8080; see README.md for flags, environment variables and subcommands.
package main

//go:generate go tool gqlgen generate

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"chiso/datasets"
	"chiso/engine"
	"chiso/graph"
	"chiso/loader"
	"chiso/store"
)

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = serve(ctx, args, os.Stderr, nil)
		stop()
	case "verify":
		err = verifyCmd(args, os.Stdout)
	case "gen":
		err = genMain(args)
	default:
		err = fmt.Errorf("unknown command %q: expected serve, verify or gen", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chiso:", err)
		os.Exit(1)
	}
}

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// config is everything `chiso serve` can be told.
type config struct {
	addr          string
	data          listFlag
	timeout       time.Duration
	maxPage       int
	maxDepth      int
	maxComplexity int
	maxRows       int
	maxErrors     int
	batchWait     time.Duration
	cacheMB       int
	threads       int
	memoryLimit   string
	tempDir       string
	onDisk        bool
	pointsMax     int
	logLevel      string
}

// env returns the environment variable or the default.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func parseConfig(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("chiso serve", flag.ContinueOnError)
	fs.SetOutput(out)
	defAddr := ":8080"
	if p := os.Getenv("PORT"); p != "" {
		defAddr = ":" + p
	}
	atoi := func(name string, def int) int {
		n, err := strconv.Atoi(env(name, strconv.Itoa(def)))
		if err != nil {
			return def
		}
		return n
	}
	dur := func(name string, def time.Duration) time.Duration {
		d, err := time.ParseDuration(env(name, def.String()))
		if err != nil {
			return def
		}
		return d
	}
	fs.StringVar(&c.addr, "addr", env("CHISO_ADDR", defAddr), "listen address (env CHISO_ADDR, or PORT)")
	fs.Var(&c.data, "data", "dataset folder to serve instead of the embedded one; repeat to serve a union (env CHISO_DATA, comma-separated)")
	fs.DurationVar(&c.timeout, "timeout", dur("CHISO_TIMEOUT", 10*time.Second), "per-request time limit, enforced inside DuckDB (env CHISO_TIMEOUT)")
	fs.IntVar(&c.maxPage, "max-page", atoi("CHISO_MAX_PAGE", graph.DefaultLimits.MaxPageSize), "largest page size (`first`) a request may ask for (env CHISO_MAX_PAGE)")
	fs.IntVar(&c.maxDepth, "max-depth", atoi("CHISO_MAX_DEPTH", graph.DefaultQueryLimits.MaxDepth), "deepest field nesting allowed (env CHISO_MAX_DEPTH)")
	fs.IntVar(&c.maxComplexity, "max-complexity", atoi("CHISO_MAX_COMPLEXITY", graph.DefaultQueryLimits.MaxComplexity), "highest operation complexity allowed (env CHISO_MAX_COMPLEXITY)")
	fs.IntVar(&c.maxRows, "max-rows", atoi("CHISO_MAX_ROWS", store.DefaultMaxRows), "most rows one SQL statement may return (env CHISO_MAX_ROWS)")
	fs.IntVar(&c.maxErrors, "max-errors", atoi("CHISO_MAX_ERRORS", 100), "dataset problems reported before a load gives up (env CHISO_MAX_ERRORS)")
	fs.DurationVar(&c.batchWait, "batch-wait", dur("CHISO_BATCH_WAIT", 2*time.Millisecond), "how long nested lookups wait to be batched into one statement (env CHISO_BATCH_WAIT)")
	fs.IntVar(&c.cacheMB, "cache-mb", atoi("CHISO_CACHE_MB", 64), "memory for whole responses, reused until the data is reloaded; 0 turns the cache off (env CHISO_CACHE_MB)")
	fs.IntVar(&c.threads, "threads", atoi("CHISO_THREADS", 0), "DuckDB threads; 0 lets DuckDB choose (env CHISO_THREADS)")
	fs.StringVar(&c.memoryLimit, "memory-limit", env("CHISO_MEMORY_LIMIT", ""), "DuckDB memory limit such as 8GB; empty lets DuckDB choose (env CHISO_MEMORY_LIMIT)")
	fs.StringVar(&c.tempDir, "temp-dir", env("CHISO_TEMP_DIR", ""), "where DuckDB spills when over its memory limit; default the system temporary folder (env CHISO_TEMP_DIR)")
	fs.BoolVar(&c.onDisk, "on-disk", env("CHISO_ON_DISK", "") == "true", "keep the served dataset in a temporary DuckDB file under -temp-dir instead of memory, for datasets larger than memory (env CHISO_ON_DISK=true)")
	fs.IntVar(&c.pointsMax, "points-max", atoi("CHISO_POINTS_MAX", 20_000_000), "largest dataset (observations) kept also in memory for point reads (series, latest values, observation pages), about 50 bytes each; 0 turns it off (env CHISO_POINTS_MAX)")
	fs.StringVar(&c.logLevel, "log-level", env("CHISO_LOG_LEVEL", "info"), "debug, info, warn or error (env CHISO_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if len(c.data) == 0 {
		if v := os.Getenv("CHISO_DATA"); v != "" {
			c.data = strings.Split(v, ",")
		}
	}
	if c.maxPage < 1 {
		return c, fmt.Errorf("-max-page must be 1 or more, got %d", c.maxPage)
	}
	return c, nil
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: expected debug, info, warn or error, got %q", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// dirs returns the dataset folders to serve: the -data folders, or the
// embedded Lai Châu dataset.
func (c config) dirs() []loader.Dir {
	if len(c.data) == 0 {
		return []loader.Dir{{Name: "embedded:laichau", FS: datasets.LaiChau()}}
	}
	out := make([]loader.Dir, len(c.data))
	for i, d := range c.data {
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

// serve loads the dataset and serves it until ctx ends, then shuts down
// gracefully. ready, if not nil, is told the address listened on.
func serve(ctx context.Context, args []string, logOut io.Writer, ready func(addr string)) error {
	cfg, err := parseConfig(args, logOut)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.logLevel, logOut)
	if err != nil {
		return err
	}
	st := store.New(store.Options{MaxRows: cfg.maxRows, Threads: cfg.threads, MemoryLimit: cfg.memoryLimit, TempDir: cfg.tempDir, OnDisk: cfg.onDisk, PointsMax: cfg.pointsMax, Logger: log})
	defer st.Close()
	ld := loader.New(st, loader.Options{MaxErrors: cfg.maxErrors, Logger: log})
	dirs := cfg.dirs()
	load := func() error { _, err := ld.Load(ctx, dirs...); return err }
	if err := loadGC(load); err != nil {
		return fmt.Errorf("not starting: %w", err)
	}

	// SIGHUP reloads the same folders; a failed reload keeps serving the
	// data already loaded.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			log.Info("reloading on SIGHUP")
			if err := loadGC(load); err != nil {
				log.Error("reload failed; still serving the previous dataset", "err", err)
			}
		}
	}()

	h := newHandler(serverConfig{
		Timeout:     cfg.timeout,
		Limits:      graph.Limits{DefaultPageSize: min(graph.DefaultLimits.DefaultPageSize, cfg.maxPage), MaxPageSize: cfg.maxPage},
		QueryLimits: graph.QueryLimits{MaxDepth: cfg.maxDepth, MaxComplexity: cfg.maxComplexity},
		Loader:      graph.LoaderOptions{Wait: cfg.batchWait},
		MaxBody:     1 << 20,
		CacheBytes:  int64(cfg.cacheMB) << 20,
	}, engine.New(st, engine.Options{MaxRows: cfg.maxRows}), log)
	srv := &http.Server{Addr: cfg.addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	log.Info("serving", "addr", ln.Addr().String(), "graphql", "/graphql", "graphiql", "/")
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.timeout+5*time.Second)
	defer cancel()
	return srv.Shutdown(shutCtx)
}
