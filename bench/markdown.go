package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

const (
	mdBegin = "<!-- results:begin (written by go run ./bench; edit outside these markers) -->"
	mdEnd   = "<!-- results:end -->"
)

// writeMarkdown replaces the results block of BENCHMARKS.md (creating the
// file if needed), keeping the hand-written text around it.
func (r *results) writeMarkdown(path, rawPath string) error {
	var b strings.Builder
	b.WriteString(mdBegin + "\n\n")
	fmt.Fprintf(&b, "Measured %s, commit `%s`, raw results `%s`.\n\n", r.Started.Format("2006-01-02 15:04 MST"), r.Commit, rawPath)
	keys := make([]string, 0, len(r.Machine))
	for k := range r.Machine {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString("| machine | |\n|---|---|\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "| %s | %s |\n", k, r.Machine[k])
	}
	for _, s := range r.Sizes {
		fmt.Fprintf(&b, "\n### Size %s: %d observations\n\n", s.Size, s.Observations)
		b.WriteString("| load from | files | time | observations/s | peak RSS | then the point index |\n|---|---|---|---|---|---|\n")
		for _, l := range s.Load {
			pts, rss := "not built", fmt.Sprintf("%.0f MB", l.PeakRSSMB)
			if l.PeakRSSMB == 0 { // measured in another process's figures
				rss = "—"
			}
			switch {
			case strings.Contains(l.Format, "peer"), strings.Contains(l.Format, "floor"):
				pts = "—"
			case l.PointIndexSeconds > 0:
				pts = fmt.Sprintf("%.2f s, %.0f MiB", l.PointIndexSeconds, l.PointIndexMB)
			}
			fmt.Fprintf(&b, "| %s | %.0f MB | %.2f s | %.0f | %s | %s |\n", l.Format, l.FilesMB, l.Seconds, l.ObsPerSec, rss, pts)
		}
		writeExports(&b, s)
		if len(s.Questions) == 0 && len(s.Exports) > 0 { // -export-only
			continue
		}
		if s.LoadOnly {
			fmt.Fprintf(&b, "\nLoad only (flags `%s`): RSS once serving %.0f MB. No query mix at this size: the in-process floor would need a second copy of the data.\n", strings.Join(s.Flags, " "), s.SteadyRSSMB)
			continue
		}
		if len(s.Flags) > 0 {
			fmt.Fprintf(&b, "\nServed on disk (flags `%s`); the floor is a DuckDB file under the same memory limit; no CSV load at this size.\n", strings.Join(s.Flags, " "))
		}
		fmt.Fprintf(&b, "\nServing peak RSS after the query mix: %.0f MB.\n\n", s.ServeRSSMB)
		b.WriteString("Correctness (answers equal hand-written SQL on the same data): ")
		var cs []string
		for _, c := range s.Checks {
			st := "ok"
			if !c.OK {
				st = "FAILED: " + c.Detail
			}
			cs = append(cs, fmt.Sprintf("%s %s (%d draws) %s", c.Question, c.System, c.Draws, st))
		}
		b.WriteString(strings.Join(cs, "; ") + ".\n\n")
		clients := []int{}
		for _, q := range s.Questions {
			for _, sys := range q.Systems {
				for n := range sys.Throughput {
					if !containsInt(clients, n) {
						clients = append(clients, n)
					}
				}
			}
		}
		sort.Ints(clients)
		b.WriteString("| question | system | p50 ms | p95 ms | p99 ms | p50 vs DuckDB |")
		for _, n := range clients {
			fmt.Fprintf(&b, " req/s @%d |", n)
		}
		b.WriteString(" CPU ms/req |\n|---|---|---|---|---|---|")
		for range clients {
			b.WriteString("---|")
		}
		b.WriteString("---|\n")
		for _, q := range s.Questions {
			var floor float64
			for _, sys := range q.Systems {
				if strings.HasPrefix(sys.System, "DuckDB") {
					floor = sys.P50ms
				}
			}
			for _, sys := range q.Systems {
				ratio := "—"
				if floor > 0 && !strings.HasPrefix(sys.System, "DuckDB") {
					ratio = fmt.Sprintf("%.2f×", sys.P50ms/floor)
				}
				fmt.Fprintf(&b, "| %s %s | %s | %.2f | %.2f | %.2f | %s |", q.ID, q.Name, sys.System, sys.P50ms, sys.P95ms, sys.P99ms, ratio)
				for _, n := range clients {
					if v, ok := sys.Throughput[n]; ok {
						fmt.Fprintf(&b, " %.0f |", v)
					} else {
						b.WriteString(" — |")
					}
				}
				fmt.Fprintf(&b, " %.2f |", sys.CPUms)
				if sys.Note != "" {
					fmt.Fprintf(&b, " %s", sys.Note)
				}
				b.WriteString("\n")
			}
		}
	}
	b.WriteString("\n" + mdEnd)
	block := b.String()
	old, err := os.ReadFile(path)
	var out string
	switch {
	case err == nil && strings.Contains(string(old), mdBegin) && strings.Contains(string(old), mdEnd):
		s := string(old)
		out = s[:strings.Index(s, mdBegin)] + block + s[strings.Index(s, mdEnd)+len(mdEnd):]
	default:
		out = "# Benchmarks\n\nSee bench/ for the harness; `make bench` reproduces this file.\n\n" + block + "\n"
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

// writeExports writes the export phase's table, if it ran.
func writeExports(b *strings.Builder, s sizeResult) {
	if len(s.Exports) == 0 {
		return
	}
	b.WriteString("\nExports of the observations table to a file (peak RSS: VmHWM of the writing process, reset just before the export; \"before\" is its RSS then):\n\n")
	b.WriteString("| format | system | rows | time | rows/s | vs DuckDB | file | RSS before | peak RSS |\n|---|---|---|---|---|---|---|---|---|\n")
	floor := map[string]float64{}
	for _, e := range s.Exports {
		if strings.HasPrefix(e.System, "DuckDB") {
			floor[e.Format] = e.RowsPerSec
		}
	}
	for _, e := range s.Exports {
		ratio := "—"
		if f := floor[e.Format]; f > 0 && !strings.HasPrefix(e.System, "DuckDB") {
			ratio = fmt.Sprintf("%.2f×", e.RowsPerSec/f)
		}
		fmt.Fprintf(b, "| %s | %s | %d | %.2f s | %.0f | %s | %.0f MB | %.0f MB | %.0f MB |\n",
			e.Format, e.System, e.Rows, e.Seconds, e.RowsPerSec, ratio, e.FileMB, e.RSSBeforeMB, e.PeakRSSMB)
	}
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
