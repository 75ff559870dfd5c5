// Command bench measures chiso at national scale: it generates synthetic
// datasets (chiso gen), measures loading (observations per second, peak
// RSS) from Parquet and CSV, checks that chiso's GraphQL answers equal
// hand-written SQL answers, and times a fixed query mix through chiso's
// GraphQL endpoint over HTTP against the same questions as raw SQL
// in-process on DuckDB (the floor), and optionally against PostgreSQL +
// PostGraphile (bench/peer). It writes a JSON results file and
// BENCHMARKS.md.
//
//	go run ./bench -sizes S,M            # what `make bench` runs (plus -peer)
//	go run ./bench -sizes XS -quick      # the CI smoke run: correctness and a few timings
//	go run ./bench -sizes M -export-only # chiso's /export against DuckDB's COPY ... TO
//
// It is a program, not a test: `go test ./...` never runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"
)

type options struct {
	sizes      []string
	out        string
	seed       uint64
	quick      bool
	peer       bool
	requests   int           // latency samples per question at one client
	duration   time.Duration // per throughput measurement
	clients    []int
	writeMD    bool
	keepData   bool
	chisoFlags []string
	loadOnly   map[string]bool // sizes only loaded and measured for memory
	onDisk     map[string]bool // sizes queried with chiso and the floor on disk
	loadFlags  []string        // extra chiso flags for both
	export     bool            // also export the observations table (bench/export.go)
	exportOnly bool            // only load from Parquet and export: no CSV load, no query mix
	mdPath     string
}

func main() {
	var o options
	var sizes, clients, extra, loadOnly, onDisk, loadFlags string
	flag.StringVar(&sizes, "sizes", "S", "comma-separated dataset sizes (XS, S, M, L)")
	flag.StringVar(&o.out, "out", "bench/results", "results folder (data is generated under OUT/tmp)")
	flag.Uint64Var(&o.seed, "seed", 1, "seed for data and parameter draws")
	flag.BoolVar(&o.quick, "quick", false, "smoke run: correctness, few samples, no CSV load, no throughput at 16 clients")
	flag.BoolVar(&o.peer, "peer", false, "also measure PostgreSQL + PostGraphile (bench/peer; run bench/peer/setup.sh first)")
	flag.IntVar(&o.requests, "requests", 200, "latency samples per question and system at one client")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each throughput measurement")
	flag.StringVar(&clients, "clients", "1,4,16", "concurrent clients for throughput")
	flag.BoolVar(&o.writeMD, "md", true, "write BENCHMARKS.md")
	flag.BoolVar(&o.keepData, "keep", true, "keep generated datasets for the next run")
	flag.StringVar(&extra, "chiso-flags", "", "extra flags for chiso serve, space-separated (e.g. -memory-limit 8GB)")
	flag.StringVar(&loadOnly, "load-only", "", "comma-separated sizes (of -sizes) that are only loaded from Parquet: load rate and memory, no query mix (the floor would need a second copy)")
	flag.StringVar(&onDisk, "on-disk-sizes", "", "comma-separated sizes (of -sizes) measured like the others but served on disk: chiso with the -load-only-flags, the floor a DuckDB file under the same -memory-limit; no CSV load")
	flag.StringVar(&loadFlags, "load-only-flags", "-on-disk -memory-limit 4GB", "extra flags for chiso serve for -load-only and -on-disk-sizes sizes")
	flag.BoolVar(&o.export, "export", false, "also export the whole observations table with chiso's /export (parquet, csv, arrow) and with DuckDB's COPY ... TO: rows/s and peak RSS")
	flag.BoolVar(&o.exportOnly, "export-only", false, "only load each size from Parquet and run the export phase (implies -export)")
	flag.StringVar(&o.mdPath, "md-file", "BENCHMARKS.md", "the markdown file whose results block -md writes")
	flag.Parse()
	o.export = o.export || o.exportOnly
	o.loadOnly = map[string]bool{}
	for _, s := range strings.Split(loadOnly, ",") {
		if s != "" {
			o.loadOnly[s] = true
		}
	}
	o.onDisk = map[string]bool{}
	for _, s := range strings.Split(onDisk, ",") {
		if s != "" {
			o.onDisk[s] = true
		}
	}
	o.loadFlags = strings.Fields(loadFlags)
	o.sizes = strings.Split(sizes, ",")
	for _, c := range strings.Split(clients, ",") {
		var n int
		fmt.Sscan(c, &n)
		if n > 0 {
			o.clients = append(o.clients, n)
		}
	}
	if extra != "" {
		o.chisoFlags = strings.Fields(extra)
	}
	if o.quick {
		o.requests, o.duration, o.clients = 20, time.Second, []int{1, 4}
	}
	if err := run(context.Background(), o); err != nil {
		log.Fatalf("bench: %v", err)
	}
}

func run(ctx context.Context, o options) error {
	tmp := filepath.Join(o.out, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	bin, err := buildChiso(ctx, tmp)
	if err != nil {
		return err
	}
	res := &results{Machine: machine(), Started: time.Now().UTC(), Commit: commit(), Quick: o.quick}
	for _, size := range o.sizes {
		sr, err := runSize(ctx, o, bin, tmp, size)
		if err != nil {
			return fmt.Errorf("size %s: %w", size, err)
		}
		res.Sizes = append(res.Sizes, sr)
	}
	res.Finished = time.Now().UTC()
	path, err := res.writeJSON(o.out)
	if err != nil {
		return err
	}
	log.Printf("results: %s", path)
	if o.writeMD {
		if err := res.writeMarkdown(o.mdPath, path); err != nil {
			return err
		}
		log.Printf("wrote %s", o.mdPath)
	}
	for _, s := range res.Sizes {
		for _, c := range s.Checks {
			if !c.OK {
				return fmt.Errorf("correctness check failed: %s %s: %s", s.Size, c.Question, c.Detail)
			}
		}
	}
	return nil
}
