package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"chiso/store"
)

type results struct {
	Machine  map[string]string `json:"machine"`
	Commit   string            `json:"commit"`
	Started  time.Time         `json:"started"`
	Finished time.Time         `json:"finished"`
	Quick    bool              `json:"quick"`
	Sizes    []sizeResult      `json:"sizes"`
}

type sizeResult struct {
	Size         string           `json:"size"`
	Observations int              `json:"observations"`
	Load         []loadResult     `json:"load"`
	Checks       []check          `json:"checks"`
	Questions    []questionResult `json:"questions"`
	ServeRSSMB   float64          `json:"serve_peak_rss_mb"`
	// LoadOnly sizes are loaded with Flags and measured for memory only.
	LoadOnly    bool     `json:"load_only,omitempty"`
	Flags       []string `json:"chiso_flags,omitempty"`
	SteadyRSSMB float64  `json:"steady_rss_mb,omitempty"`
	// The export phase (-export): the whole observations table to files.
	Exports []exportResult `json:"exports,omitempty"`
}

type loadResult struct {
	Format    string  `json:"format"`
	Seconds   float64 `json:"seconds"`
	ObsPerSec float64 `json:"obs_per_sec"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
	FilesMB   float64 `json:"files_mb"`
	// The point index built after the load (0 when the size is over
	// -points-max, on disk, or the index is off).
	PointIndexSeconds float64 `json:"point_index_seconds,omitempty"`
	PointIndexMB      float64 `json:"point_index_mb,omitempty"`
}

type check struct {
	Question string `json:"question"`
	System   string `json:"system"`
	Draws    int    `json:"draws"`
	OK       bool   `json:"ok"`
	Detail   string `json:"detail,omitempty"`
}

type questionResult struct {
	ID      string         `json:"id"`
	Name    string         `json:"name"`
	Small   bool           `json:"small"`
	Systems []systemResult `json:"systems"`
}

type systemResult struct {
	System     string          `json:"system"`
	P50ms      float64         `json:"p50_ms"`
	P95ms      float64         `json:"p95_ms"`
	P99ms      float64         `json:"p99_ms"`
	Throughput map[int]float64 `json:"throughput_rps"`
	CPUms      float64         `json:"cpu_ms_per_request"`
	Note       string          `json:"note,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func percentiles(ds []time.Duration) (p50, p95, p99 float64) {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) float64 { return ms(s[min(len(s)-1, int(p*float64(len(s))))]) }
	return at(0.50), at(0.95), at(0.99)
}

func dirMB(dir string) float64 {
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return float64(n) / (1 << 20)
}

func runSize(ctx context.Context, o options, bin, tmp, size string) (sizeResult, error) {
	sr := sizeResult{Size: size}
	pq, err := generate(ctx, bin, tmp, size, "parquet", o.seed)
	if err != nil {
		return sr, err
	}
	if o.loadOnly[size] {
		return loadOnly(ctx, o, bin, pq, size)
	}
	flags := o.chisoFlags
	if o.onDisk[size] {
		flags = append(append([]string{}, o.chisoFlags...), o.loadFlags...)
		sr.Flags = flags
	}
	if !o.quick && !o.exportOnly && !o.onDisk[size] {
		csvDir, err := generate(ctx, bin, tmp, size, "csv", o.seed)
		if err != nil {
			return sr, err
		}
		s, err := startLoad(ctx, bin, csvDir, "csv", flags, &sr)
		if err != nil {
			return sr, err
		}
		s.stop()
	}
	srv, err := startLoad(ctx, bin, pq, "parquet", flags, &sr)
	if err != nil {
		return sr, err
	}
	defer srv.stop()
	pid := srv.cmd.Process.Pid
	log.Printf("%s: %d observations; parquet load %.2fs", size, srv.obs, srv.loadTime.Seconds())
	// The engine's own floor, while the server idles.
	if !o.exportOnly {
		if err := loadFloorRows(ctx, pq, flags, &sr); err != nil {
			return sr, err
		}
	}

	fl, err := loadFloor(ctx, pq, storeOptions(flags, filepath.Join(tmp, "floor")))
	if err != nil {
		return sr, fmt.Errorf("floor load: %w", err)
	}
	defer fl.st.Close()
	if o.exportOnly {
		err := measureExports(ctx, srv, fl, tmp, &sr)
		return sr, err
	}
	u, err := fl.universe(ctx)
	if err != nil {
		return sr, err
	}
	var pr *peer
	if o.peer {
		csvDir, err := generate(ctx, bin, tmp, size, "csv", o.seed)
		if err != nil {
			return sr, err
		}
		log.Printf("%s: starting the peer (PostgreSQL + PostGraphile)", size)
		if pr, err = startPeer(ctx, csvDir, tmp, size); err != nil {
			return sr, err
		}
		defer pr.stop()
		sr.Load = append(sr.Load, loadResult{Format: "csv into PostgreSQL (peer)", Seconds: pr.loadTime.Seconds(),
			ObsPerSec: float64(srv.obs) / pr.loadTime.Seconds(), FilesMB: dirMB(csvDir)})
	}
	gql := newGQLClient(srv.base + "/graphql")
	for _, q := range questions {
		ds := draws(q, u, o.seed, max(o.requests, 50))
		qr := questionResult{ID: q.id, Name: q.name, Small: q.small}
		// Correctness first: chiso's answers must equal the SQL answers.
		c := check{Question: q.id, System: "chiso", Draws: min(5, len(ds)), OK: true}
		for _, p := range ds[:c.Draws] {
			data, err := gql.do(ctx, q.graphql, q.vars(p))
			if err != nil {
				return sr, fmt.Errorf("%s: %w", q.id, err)
			}
			rows, err := fl.st.RawQuery(ctx, q.sql, q.args(p)...)
			if err != nil {
				return sr, fmt.Errorf("%s floor: %w", q.id, err)
			}
			if d := diff(q.fromGraphQL(data), q.fromSQL(rows)); d != "" {
				c.OK = false
				c.Detail = fmt.Sprintf("params %v: %s", p, d)
				break
			}
		}
		sr.Checks = append(sr.Checks, c)
		log.Printf("%s %s: correctness %v", size, q.id, c.OK)

		// chiso and the floor are measured interleaved, sample by sample and
		// client count by client count, so both see the same machine
		// (measure runs one system at a time, for the extra rows).
		chiso := systemResult{System: "chiso (GraphQL over HTTP)", Throughput: map[int]float64{}}
		raw := systemResult{System: "DuckDB raw SQL (in-process)", Throughput: map[int]float64{}}
		var lc, lr []time.Duration
		for i := 0; i < o.requests; i++ {
			p := ds[i%len(ds)]
			d, err := timeOne(func() error { _, err := gql.fetch(ctx, q.graphql, q.vars(p)); return err })
			if err != nil {
				return sr, err
			}
			lc = append(lc, d)
			d, err = timeOne(func() error { _, err := fl.st.RawQuery(ctx, q.sql, q.args(p)...); return err })
			if err != nil {
				return sr, err
			}
			lr = append(lr, d)
		}
		chiso.P50ms, chiso.P95ms, chiso.P99ms = percentiles(lc)
		raw.P50ms, raw.P95ms, raw.P99ms = percentiles(lr)
		for _, n := range o.clients {
			cpu0 := cpuTime(pid)
			rps, total, err := throughput(ctx, n, o.duration, func(i int) error {
				p := ds[i%len(ds)]
				_, err := gql.fetch(ctx, q.graphql, q.vars(p))
				return err
			})
			if err != nil {
				return sr, err
			}
			chiso.Throughput[n] = rps
			if n == 1 && total > 0 {
				chiso.CPUms = ms(cpuTime(pid)-cpu0) / float64(total)
			}
			r0 := rusageCPU()
			rps, total, err = throughput(ctx, n, o.duration, func(i int) error {
				p := ds[i%len(ds)]
				_, err := fl.st.RawQuery(ctx, q.sql, q.args(p)...)
				return err
			})
			if err != nil {
				return sr, err
			}
			raw.Throughput[n] = rps
			if n == 1 && total > 0 {
				raw.CPUms = ms(rusageCPU()-r0) / float64(total)
			}
		}
		qr.Systems = append(qr.Systems, chiso, raw)
		if q.small {
			cs, err := measureCached(ctx, o, srv, q, ds)
			if err != nil {
				return sr, err
			}
			qr.Systems = append(qr.Systems, cs)
		}
		if pr != nil {
			ps, pc, err := measurePeer(ctx, o, pr, q, ds, fl)
			if err != nil {
				return sr, err
			}
			sr.Checks = append(sr.Checks, pc)
			qr.Systems = append(qr.Systems, ps)
		}
		log.Printf("%s %s: chiso p50 %.2fms, raw p50 %.2fms", size, q.id, chiso.P50ms, raw.P50ms)
		sr.Questions = append(sr.Questions, qr)
	}
	sr.ServeRSSMB = float64(procStatus(pid, "VmHWM")) / 1024
	if o.export {
		if err := measureExports(ctx, srv, fl, tmp, &sr); err != nil {
			return sr, err
		}
	}
	if !o.keepData {
		os.RemoveAll(pq)
	}
	return sr, nil
}

func machine() map[string]string {
	m := map[string]string{"go": runtime.Version(), "os": runtime.GOOS + "/" + runtime.GOARCH, "cpus": fmt.Sprint(runtime.NumCPU())}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				m["cpu"] = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m["memory"] = strings.TrimSpace(strings.TrimPrefix(strings.Split(string(b), "\n")[0], "MemTotal:"))
	}
	m["duckdb"] = duckdbVersion()
	return m
}

// duckdbVersion is the linked DuckDB's version and the driver module's.
func duckdbVersion() string {
	v := "unknown"
	if db, err := sql.Open("duckdb", ""); err == nil {
		db.QueryRow(`SELECT version()`).Scan(&v)
		db.Close()
	}
	v = strings.TrimPrefix(v, "v")
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/duckdb/duckdb-go/v2" {
				v += " (duckdb-go " + d.Version + ")"
			}
		}
	}
	return v
}

func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func (r *results) writeJSON(dir string) (string, error) {
	name := fmt.Sprintf("results-%s-%s.json", r.Started.Format("20060102-150405"), strings.Join(sizesOf(r), "-"))
	if r.Quick {
		name = "smoke-" + name
	}
	path := filepath.Join(dir, name)
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, b, 0o644)
}

func sizesOf(r *results) []string {
	var s []string
	for _, x := range r.Sizes {
		s = append(s, x.Size)
	}
	return s
}

// measurePeer checks and times one question on the peer.
func measurePeer(ctx context.Context, o options, pr *peer, q question, ds []params, fl *floor) (systemResult, check, error) {
	pq := peerQuestions[q.id]
	client := newGQLClient(pr.url)
	sys := systemResult{System: "PostGraphile v5 + PostgreSQL 15", Throughput: map[int]float64{}, Note: peerNotes[q.id]}
	c := check{Question: q.id, System: "peer", Draws: min(5, len(ds)), OK: true}
	for _, p := range ds[:c.Draws] {
		data, err := client.do(ctx, pr.queries[q.id], pq.vars(p))
		if err != nil {
			return sys, c, fmt.Errorf("peer %s: %w", q.id, err)
		}
		rows, err := fl.st.RawQuery(ctx, q.sql, q.args(p)...)
		if err != nil {
			return sys, c, err
		}
		if d := diff(pq.rows(data), q.fromSQL(rows)); d != "" {
			c.OK, c.Detail = false, fmt.Sprintf("params %v: %s", p, d)
			break
		}
	}
	if err := measure(ctx, o, &sys, ds, pr.cpu, func(p params) error {
		_, err := client.fetch(ctx, pr.queries[q.id], pq.vars(p))
		return err
	}); err != nil {
		return sys, c, err
	}
	log.Printf("%s peer: p50 %.2fms, correctness %v", q.id, sys.P50ms, c.OK)
	return sys, c, nil
}

// peerNotes label how the peer answers each question.
var peerNotes = map[string]string{
	"q1": "plain PostGraphile",
	"q2": "plain nested relations + a custom computed column (latest)",
	"q3": "custom SQL function (compare_units)",
	"q4": "pg-aggregates groupedAggregates on a custom view; client combines coverage",
	"q5": "custom SQL function (growth_ranking)",
	"q6": "plain PostGraphile",
}

// loadOnly loads a size from Parquet with the -load-only-flags and records
// its load rate, peak RSS during the load and RSS once it serves.
func loadOnly(ctx context.Context, o options, bin, pq, size string) (sizeResult, error) {
	sr := sizeResult{Size: size, LoadOnly: true, Flags: append(append([]string{}, o.chisoFlags...), o.loadFlags...)}
	srv, err := startLoad(ctx, bin, pq, "parquet", sr.Flags, &sr)
	if err != nil {
		return sr, err
	}
	defer srv.stop()
	sr.SteadyRSSMB = float64(procStatus(srv.cmd.Process.Pid, "VmRSS")) / 1024
	sr.ServeRSSMB = sr.Load[0].PeakRSSMB // nothing ran after the load
	log.Printf("%s: %d observations; parquet load %.2fs, peak RSS %.0f MB, serving at %.0f MB", size, srv.obs, srv.loadTime.Seconds(), sr.ServeRSSMB, sr.SteadyRSSMB)
	srv.stop() // the floor runs alone, with the same flags
	if err := loadFloorRows(ctx, pq, sr.Flags, &sr); err != nil {
		return sr, err
	}
	if !o.keepData {
		os.RemoveAll(pq)
	}
	return sr, nil
}

// measureCached measures chiso with its response cache on, shown apart
// from the main rows: the cache is warmed with every parameter set of the
// draw list, so every measured request is a hit. It shows what a front end
// asking the same questions again gets, not what a new question costs.
func measureCached(ctx context.Context, o options, srv *server, q question, ds []params) (systemResult, error) {
	gql := newGQLClient(srv.base + "/graphql")
	gql.cached = true
	res := systemResult{System: "chiso, response cache on", Throughput: map[int]float64{},
		Note: fmt.Sprintf("cache warmed with the %d parameter sets, then every request a hit", len(ds))}
	ask := func(p params) error { _, err := gql.fetch(ctx, q.graphql, q.vars(p)); return err }
	for _, p := range ds {
		if err := ask(p); err != nil {
			return res, err
		}
	}
	pid := srv.cmd.Process.Pid
	err := measure(ctx, o, &res, ds, func() time.Duration { return cpuTime(pid) }, ask)
	return res, err
}

// measure fills in a system's latency percentiles (o.requests asks at one
// client) and its throughput at each client count, with CPU per request at
// one client as cpu counts it.
func measure(ctx context.Context, o options, res *systemResult, ds []params, cpu func() time.Duration, ask func(params) error) error {
	var lat []time.Duration
	for i := 0; i < o.requests; i++ {
		p := ds[i%len(ds)]
		d, err := timeOne(func() error { return ask(p) })
		if err != nil {
			return err
		}
		lat = append(lat, d)
	}
	res.P50ms, res.P95ms, res.P99ms = percentiles(lat)
	for _, n := range o.clients {
		cpu0 := cpu()
		rps, total, err := throughput(ctx, n, o.duration, func(i int) error { return ask(ds[i%len(ds)]) })
		if err != nil {
			return err
		}
		res.Throughput[n] = rps
		if n == 1 && total > 0 {
			res.CPUms = ms(cpu()-cpu0) / float64(total)
		}
	}
	return nil
}

// loadFloorRows measures DuckDB alone copying the Parquet observations
// into a table, then sorting them (store.LoadFloor), under the store
// settings that chiso's flags -on-disk, -memory-limit and -threads give,
// and records both as load rows.
func loadFloorRows(ctx context.Context, dir string, flags []string, sr *sizeResult) error {
	opts := storeOptions(flags, filepath.Join(os.TempDir(), "chiso-bench-floor"))
	defer os.RemoveAll(opts.TempDir)
	st := store.New(opts)
	defer st.Close()
	rows, copied, sorted, err := st.LoadFloor(ctx, filepath.Join(dir, "observations.parquet"))
	if err != nil {
		return err
	}
	files := dirMB(dir)
	sr.Load = append(sr.Load,
		loadResult{Format: "parquet into DuckDB alone: copy (floor)", Seconds: copied.Seconds(), ObsPerSec: float64(rows) / copied.Seconds(), FilesMB: files},
		loadResult{Format: "parquet into DuckDB alone: copy, then sort (floor)", Seconds: (copied + sorted).Seconds(),
			ObsPerSec: float64(rows) / (copied + sorted).Seconds(), FilesMB: files})
	log.Printf("load floor: copy %.2fs, sort %.2fs (%d rows)", copied.Seconds(), sorted.Seconds(), rows)
	return nil
}

// storeOptions are the DuckDB options chiso serve's flags set (on disk,
// memory limit, threads), for a floor that runs as chiso does.
func storeOptions(flags []string, tempDir string) store.Options {
	opts := store.Options{TempDir: tempDir, MaxRows: 100_000_000}
	for i := 0; i < len(flags); i++ {
		switch flags[i] {
		case "-on-disk":
			opts.OnDisk = true
		case "-memory-limit":
			if i++; i < len(flags) {
				opts.MemoryLimit = flags[i]
			}
		case "-threads":
			if i++; i < len(flags) {
				opts.Threads, _ = strconv.Atoi(flags[i])
			}
		}
	}
	return opts
}

// startLoad starts chiso serving dir and records its load in sr: time,
// rate, peak RSS so far, the size of the files, and the observations.
func startLoad(ctx context.Context, bin, dir, format string, flags []string, sr *sizeResult) (*server, error) {
	srv, err := startServer(ctx, bin, dir, flags)
	if err != nil {
		return nil, err
	}
	sr.Observations = srv.obs
	sr.Load = append(sr.Load, loadResult{Format: format, Seconds: srv.loadTime.Seconds(), ObsPerSec: float64(srv.obs) / srv.loadTime.Seconds(),
		PeakRSSMB: float64(procStatus(srv.cmd.Process.Pid, "VmHWM")) / 1024, FilesMB: dirMB(dir),
		PointIndexSeconds: srv.pointsTime.Seconds(), PointIndexMB: srv.pointsMB})
	return srv, nil
}
