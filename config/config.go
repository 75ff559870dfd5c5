// Package config reads chiso's command lines: which command runs, and each
// command's flags, with an environment variable behind every flag of
// serve (and verify's -seeds). A flag wins over its variable, which wins
// over the default. A value that does not parse or is out of range is an
// error naming the flag or the variable and what was expected; no value
// falls back to a default unannounced.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Env looks up an environment variable, as os.LookupEnv does. A variable
// set to the empty string counts as unset.
type Env func(name string) (string, bool)

// Commands are chiso's commands, the first being the default.
var Commands = []struct{ Name, Doc string }{
	{"serve", "serve a dataset over GraphQL (the default command)"},
	{"verify", "check a curated dataset against its source documents"},
	{"gen", "write a synthetic dataset with the shape of Việt Nam"},
	{"help", "print this help: every command and its flags (also -h or --help alone)"},
}

// Split returns the command named by args (serve when the first argument
// is a flag or there is none) and the arguments after it.
func Split(args []string) (cmd string, rest []string) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "serve", args
	}
	return args[0], args[1:]
}

// UnknownCommand is the error for a command chiso does not have.
func UnknownCommand(cmd string) error {
	names := make([]string, len(Commands))
	for i, c := range Commands {
		names[i] = c.Name
	}
	return fmt.Errorf("unknown command %q: expected one of %s (chiso -h lists them)", cmd, strings.Join(names, ", "))
}

// Usage writes the list of commands.
func Usage(w io.Writer) {
	fmt.Fprintln(w, "usage: chiso [command] [flags]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range Commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.Name, c.Doc)
	}
	fmt.Fprintln(w, "\nchiso COMMAND -h lists the flags of a command.")
}

// IsHelp reports whether args ask for chiso's help as a whole: no
// command, only -h, -help or --help.
func IsHelp(args []string) bool {
	return len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help")
}

// Help writes the list of commands, then every command's flags with
// their variables and defaults (serve's with def as defaults, gen's -size
// choosing among sizes).
func Help(w io.Writer, def Serve, sizes []string) {
	Usage(w)
	_, _ = parseServe([]string{"-h"}, nil, def, w, false)
	_, _ = parseVerify([]string{"-h"}, nil, w, false)
	_, _ = parseGen([]string{"-h"}, sizes, w, false)
}

// Serve is everything `chiso serve` can be told.
type Serve struct {
	Addr          string
	Data          []string // dataset folders; none: the embedded dataset
	Timeout       time.Duration
	MaxPage       int
	MaxDepth      int
	MaxCost       int
	MaxRootFields int
	MaxAliases    int
	MaxResponseMB int
	MaxTokens     int
	QueryCacheMB  int
	MaxExpensive  int
	MaxSmall      int
	SmallCost     int
	AdmitWait     time.Duration
	MaxRows       int
	MaxErrors     int
	BatchWait     time.Duration
	CacheMB       int
	Threads       int
	MemoryLimit   string
	TempDir       string
	OnDisk        bool
	PointsMax     int
	LogLevel      slog.Level
	CORSOrigins   []string      // origins allowed to call from a browser; none: CORS off
	MaxAge        time.Duration // Cache-Control max-age of GET answers
	ExportTimeout time.Duration // time limit of a streamed export

	// The HTTP server's limits against slow and hostile clients.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	MaxBody           int // bytes of a request body
	Introspection     bool
	// ReloadMaxDrop is the largest share of a table's rows a reload may
	// drop; a reload dropping more, or emptying a table, is refused
	// unless forced. 1 turns the guard off.
	ReloadMaxDrop float64
}

// WriteGrace is how much longer than -timeout the write timeout is when
// not given.
const WriteGrace = 20 * time.Second

// ParseServe parses serve's flags, with env behind each and def's values
// as defaults. -h and -help write the usage to out and return
// flag.ErrHelp.
func ParseServe(args []string, env Env, def Serve, out io.Writer) (Serve, error) {
	return parseServe(args, env, def, out, true)
}

// parseServe is ParseServe; head says whether its usage starts with the
// list of commands.
func parseServe(args []string, env Env, def Serve, out io.Writer, head bool) (Serve, error) {
	c := def
	s := newSet("serve", env, out, head)
	s.add(addrValue{&c.Addr}, "addr", "CHISO_ADDR", "listen `address`, host:port (env CHISO_ADDR, or PORT for :PORT)")
	s.addList(&c.Data, "data", "CHISO_DATA", "dataset `folder` to serve instead of the embedded one; repeat to serve a union (env CHISO_DATA, comma-separated)")
	s.add(durationValue{&c.Timeout}, "timeout", "CHISO_TIMEOUT", "per-request time limit (a `duration`), enforced inside DuckDB; 0: none (env CHISO_TIMEOUT)")
	s.add(intValue{&c.MaxPage, 1}, "max-page", "CHISO_MAX_PAGE", "largest page size (`n`) a request may ask for with first (env CHISO_MAX_PAGE)")
	s.add(intValue{&c.MaxDepth, 0}, "max-depth", "CHISO_MAX_DEPTH", "deepest field nesting (`n`) allowed (env CHISO_MAX_DEPTH)")
	s.add(intValue{&c.MaxCost, 0}, "max-cost", "CHISO_MAX_COST", "budget: highest estimated cost (`n`) of a request, about one row read or value written a unit; 0: none (env CHISO_MAX_COST)")
	s.add(intValue{&c.MaxRootFields, 0}, "max-root-fields", "CHISO_MAX_ROOT_FIELDS", "most root fields (`n`, aliases and fragments expanded) in a request; 0: no limit (env CHISO_MAX_ROOT_FIELDS)")
	s.add(intValue{&c.MaxAliases, 0}, "max-aliases", "CHISO_MAX_ALIASES", "most aliased fields (`n`) in a request; 0: no limit (env CHISO_MAX_ALIASES)")
	s.add(intValue{&c.MaxResponseMB, 0}, "max-response-mb", "CHISO_MAX_RESPONSE_MB", "largest answer (`MB`) a request may get; 0: no limit (env CHISO_MAX_RESPONSE_MB)")
	s.add(intValue{&c.MaxTokens, 1}, "max-tokens", "CHISO_MAX_TOKENS", "most tokens (`n`) the parser reads of a query (env CHISO_MAX_TOKENS)")
	s.add(intValue{&c.QueryCacheMB, 1}, "query-cache-mb", "CHISO_QUERY_CACHE_MB", "memory (`MB`) for parsed queries, and as much again for persisted queries (env CHISO_QUERY_CACHE_MB)")
	s.add(intValue{&c.MaxExpensive, 0}, "max-expensive", "CHISO_MAX_EXPENSIVE", "expensive requests (`n`, cost over -small-cost) run at once; 0: no limit (env CHISO_MAX_EXPENSIVE)")
	s.add(intValue{&c.MaxSmall, 0}, "max-small", "CHISO_MAX_SMALL", "small requests (`n`) run at once, in their own lane; 0: no limit (env CHISO_MAX_SMALL)")
	s.add(intValue{&c.SmallCost, 0}, "small-cost", "CHISO_SMALL_COST", "highest cost (`n`) of a small request (env CHISO_SMALL_COST)")
	s.add(durationValue{&c.AdmitWait}, "admit-wait", "CHISO_ADMIT_WAIT", "how long (a `duration`) a request waits for a slot in its lane before 503 (env CHISO_ADMIT_WAIT)")
	s.add(intValue{&c.MaxRows, 0}, "max-rows", "CHISO_MAX_ROWS", "most rows (`n`) one SQL statement may return (env CHISO_MAX_ROWS)")
	s.add(intValue{&c.MaxErrors, 1}, "max-errors", "CHISO_MAX_ERRORS", "dataset problems (`n`) reported before a load gives up (env CHISO_MAX_ERRORS)")
	s.add(durationValue{&c.BatchWait}, "batch-wait", "CHISO_BATCH_WAIT", "how long (a `duration`) nested lookups wait to be batched into one statement (env CHISO_BATCH_WAIT)")
	s.add(intValue{&c.CacheMB, 0}, "cache-mb", "CHISO_CACHE_MB", "memory (`MB`) for whole responses, reused until the data is reloaded; 0 turns the cache off (env CHISO_CACHE_MB)")
	s.add(intValue{&c.Threads, 0}, "threads", "CHISO_THREADS", "DuckDB threads (`n`); 0 lets DuckDB choose (env CHISO_THREADS)")
	s.add(stringValue{&c.MemoryLimit}, "memory-limit", "CHISO_MEMORY_LIMIT", "DuckDB memory `limit` such as 8GB; empty lets DuckDB choose (env CHISO_MEMORY_LIMIT)")
	s.add(stringValue{&c.TempDir}, "temp-dir", "CHISO_TEMP_DIR", "`folder` where DuckDB spills when over its memory limit; default the system temporary folder (env CHISO_TEMP_DIR)")
	s.add(boolValue{&c.OnDisk}, "on-disk", "CHISO_ON_DISK", "keep the served dataset in a temporary DuckDB file under -temp-dir instead of memory, for datasets larger than memory (env CHISO_ON_DISK=true)")
	s.add(intValue{&c.PointsMax, 0}, "points-max", "CHISO_POINTS_MAX", "largest dataset (`n` observations) kept also in memory for point reads (series, latest values, observation pages), about 50 bytes each; 0 turns it off (env CHISO_POINTS_MAX)")
	s.addList(&c.CORSOrigins, "cors-origin", "CHISO_CORS_ORIGINS", "`origin` (https://host:port, or * for any) allowed to call the API from a browser; repeat for several; none: CORS off (env CHISO_CORS_ORIGINS, comma-separated)")
	s.add(durationValue{&c.MaxAge}, "max-age", "CHISO_MAX_AGE", "how long (a `duration`) a browser or CDN may reuse a GET answer before revalidating its ETag; 0: revalidate every time (env CHISO_MAX_AGE)")
	s.add(durationValue{&c.ExportTimeout}, "export-timeout", "CHISO_EXPORT_TIMEOUT", "time limit (a `duration`) of an export that streams the observations table; other exports have -timeout; 0: none (env CHISO_EXPORT_TIMEOUT)")
	s.add(levelValue{&c.LogLevel}, "log-level", "CHISO_LOG_LEVEL", "`level`: debug, info, warn or error (env CHISO_LOG_LEVEL)")
	s.add(positiveDuration{&c.ReadHeaderTimeout}, "read-header-timeout", "CHISO_READ_HEADER_TIMEOUT", "longest time (a `duration`) a client may take to send a request's headers (env CHISO_READ_HEADER_TIMEOUT)")
	s.add(positiveDuration{&c.ReadTimeout}, "read-timeout", "CHISO_READ_TIMEOUT", "longest time (a `duration`) a client may take to send a whole request, body included (env CHISO_READ_TIMEOUT)")
	s.add(positiveDuration{&c.WriteTimeout}, "write-timeout", "CHISO_WRITE_TIMEOUT", "longest time (a `duration`) from a request's headers to the end of its response, however slowly the client reads; must be longer than -timeout; default -timeout + 20s, none when -timeout is 0 (env CHISO_WRITE_TIMEOUT)")
	s.add(positiveDuration{&c.IdleTimeout}, "idle-timeout", "CHISO_IDLE_TIMEOUT", "how long (a `duration`) an idle keep-alive connection stays open (env CHISO_IDLE_TIMEOUT)")
	s.add(intValue{&c.MaxHeaderBytes, 4096}, "max-header-bytes", "CHISO_MAX_HEADER_BYTES", "largest request header (`bytes`), request line included (env CHISO_MAX_HEADER_BYTES)")
	s.add(intValue{&c.MaxBody, 1024}, "max-body", "CHISO_MAX_BODY", "largest request body (`bytes`); larger ones get 413 (env CHISO_MAX_BODY)")
	s.add(boolValue{&c.Introspection}, "introspection", "CHISO_INTROSPECTION", "answer introspection queries (__schema, __type), which GraphiQL and code generators use; -introspection=false turns them off (env CHISO_INTROSPECTION)")
	s.add(shareValue{&c.ReloadMaxDrop}, "reload-max-drop", "CHISO_RELOAD_MAX_DROP", "largest `share` of a table's rows a reload may drop (0.5: half); a reload dropping more or emptying a table is refused, unless forced by SIGUSR1; 1 turns the guard off (env CHISO_RELOAD_MAX_DROP)")
	if err := s.parse(args); err != nil {
		return c, err
	}
	if v, ok := lookup(env, "GOGC"); ok {
		// The Go runtime reads GOGC itself and ignores a value it cannot
		// parse, silently collecting at its default: refuse it here.
		if n, err := strconv.Atoi(strings.TrimSpace(v)); (err != nil || n < 0) && strings.TrimSpace(v) != "off" {
			return c, fmt.Errorf("GOGC=%q: expected a percentage of 0 or more such as 400, or off", v)
		}
	}
	if c.WriteTimeout == 0 && c.Timeout > 0 {
		// Not given: long enough for a request that uses its whole time
		// limit to be written to a client reading at a normal pace.
		c.WriteTimeout = c.Timeout + WriteGrace
	}
	if c.Timeout > 0 && c.WriteTimeout <= c.Timeout {
		return c, fmt.Errorf("-write-timeout %s must be longer than -timeout %s, or every request that uses its whole time limit is cut off unanswered", c.WriteTimeout, c.Timeout)
	}
	if !s.given["addr"] {
		if _, ok := lookup(env, "CHISO_ADDR"); !ok {
			if p, ok := lookup(env, "PORT"); ok {
				if err := (addrValue{&c.Addr}).Set(":" + p); err != nil {
					return c, fmt.Errorf("PORT=%q: expected a port number such as 8080", p)
				}
			}
		}
	}
	return c, nil
}

// Verify is what `chiso verify` is told.
type Verify struct {
	Data  string // dataset folder; empty: the embedded dataset
	Seeds string // folder of source documents <id>.txt
	// Sources is the folder of the administrative sources (the register,
	// resolution 1670, 1027, 915) that units' locators cite.
	Sources string
}

// ParseVerify parses verify's flags.
func ParseVerify(args []string, env Env, out io.Writer) (Verify, error) {
	return parseVerify(args, env, out, true)
}

func parseVerify(args []string, env Env, out io.Writer, head bool) (Verify, error) {
	c := Verify{Seeds: "../shared/seeds", Sources: "../shared/sources"}
	s := newSet("verify", env, out, head)
	s.add(stringValue{&c.Data}, "data", "", "dataset `folder` to verify (default: the embedded Lai Châu dataset)")
	s.add(stringValue{&c.Seeds}, "seeds", "CHISO_SEEDS", "`folder` of source documents <id>.txt (env CHISO_SEEDS); if missing, the raw-on-line check is skipped and said so")
	s.add(stringValue{&c.Sources}, "sources", "CHISO_SOURCES", "`folder` of the administrative sources units and unit changes cite (env CHISO_SOURCES); if missing, their locator check is skipped and said so")
	return c, s.parse(args)
}

// Gen is what `chiso gen` is told. The pointers are the flags that
// reshape the named size: nil when not given, so 0 can be asked for.
type Gen struct {
	Size, Out, Format string
	Seed              *int64
	Provinces         *int
	Districts         *int
	Communes          *int
	Indicators        *int
	From, To          *int
	GapRate           *float64
	TargetShare       *float64
}

// ParseGen parses gen's flags; sizes are the named sizes it may ask for.
func ParseGen(args []string, sizes []string, out io.Writer) (Gen, error) {
	return parseGen(args, sizes, out, true)
}

func parseGen(args []string, sizes []string, out io.Writer, head bool) (Gen, error) {
	c := Gen{Size: "S", Format: "parquet"}
	s := newSet("gen", nil, out, head)
	s.add(choiceValue{&c.Size, sizes, true}, "size", "", "named `size`: "+strings.Join(sizes, ", ")+" (about 10 thousand, 1, 10 and 100 million observations)")
	s.add(stringValue{&c.Out}, "out", "", "`folder` to write into (default: chiso-synth-SIZE-FORMAT in the temporary folder)")
	s.add(choiceValue{&c.Format, []string{"parquet", "csv"}, false}, "format", "", "`format`: parquet or csv")
	seed := new(int64)
	s.add(int64Value{seed}, "seed", "", "random `seed` (default: the size's, 1)")
	ints := map[string]*int{}
	for _, f := range [...]struct{ name, usage string }{
		{"provinces", "provinces (default: the size's)"},
		{"districts", "districts (default: the size's)"},
		{"communes", "communes (default: the size's)"},
		{"indicators", "indicators (default: the size's)"},
		{"from", "first year (default: the size's)"},
		{"to", "last year of actual values; targets are for to+2 (default: the size's)"},
	} {
		ints[f.name] = new(int)
		s.add(intValue{ints[f.name], 0}, f.name, "", "`n` "+f.usage)
	}
	gaps, targets := new(float64), new(float64)
	s.add(shareValue{gaps}, "gap-rate", "", "`share` of communes missing in each indicator and year (default: the size's, 0.05)")
	s.add(shareValue{targets}, "target-share", "", "`share` of indicators with targets (default: the size's, 0.1)")
	if err := s.parse(args); err != nil {
		return c, err
	}
	pick := func(name string) *int {
		if s.given[name] {
			return ints[name]
		}
		return nil
	}
	c.Provinces, c.Districts, c.Communes, c.Indicators = pick("provinces"), pick("districts"), pick("communes"), pick("indicators")
	c.From, c.To = pick("from"), pick("to")
	if s.given["seed"] {
		c.Seed = seed
	}
	if s.given["gap-rate"] {
		c.GapRate = gaps
	}
	if s.given["target-share"] {
		c.TargetShare = targets
	}
	return c, nil
}

// set is one command's flags and the variables behind them.
type set struct {
	fs    *flag.FlagSet
	env   Env
	vars  []envVar
	given map[string]bool
}

type envVar struct {
	flag, name string
	set        func(string) error
}

// newSet makes a command's flag set; its usage lists the commands first
// when head is set, then the command's flags.
func newSet(cmd string, env Env, out io.Writer, head bool) *set {
	fs := flag.NewFlagSet("chiso "+cmd, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		if head {
			Usage(out)
		}
		fmt.Fprintf(out, "\nflags of chiso %s:\n", cmd)
		fs.PrintDefaults()
	}
	return &set{fs: fs, env: env, given: map[string]bool{}}
}

func (s *set) add(v flag.Value, name, envName, usage string) {
	s.fs.Var(v, name, usage)
	if envName != "" {
		s.vars = append(s.vars, envVar{name, envName, v.Set})
	}
}

// addList adds a flag that may be repeated; its variable is a
// comma-separated list.
func (s *set) addList(p *[]string, name, envName, usage string) {
	s.fs.Var((*listValue)(p), name, usage)
	s.vars = append(s.vars, envVar{name, envName, func(v string) error { *p = strings.Split(v, ","); return nil }})
}

// parse parses args, then applies the variable of every flag not given.
func (s *set) parse(args []string) error {
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	if s.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags come as -name value)", s.fs.Arg(0))
	}
	s.fs.Visit(func(f *flag.Flag) { s.given[f.Name] = true })
	var errs []error
	for _, v := range s.vars {
		if s.given[v.flag] {
			continue
		}
		if val, ok := lookup(s.env, v.name); ok {
			if err := v.set(val); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q (the -%s flag's variable): %w", v.name, val, v.flag, err))
			}
		}
	}
	return errors.Join(errs...)
}

func lookup(env Env, name string) (string, bool) {
	if env == nil {
		return "", false
	}
	v, ok := env(name)
	return v, ok && v != ""
}
