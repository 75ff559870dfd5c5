package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// peerQuestion is how the peer (PostgreSQL + PostGraphile, bench/peer)
// asks one of the benchmark questions.
type peerQuestion struct {
	file string // under bench/peer/queries
	vars func(p params) map[string]any
	rows func(data map[string]any) []answer
}

var peerQuestions = map[string]peerQuestion{
	"q1": {"q1.graphql", func(p params) map[string]any { return map[string]any{"unit": p["unit"], "indicator": p["ind"]} },
		func(d map[string]any) []answer {
			var out []answer
			for _, o := range list(d, "allObservations", "nodes") {
				out = append(out, row(fmt.Sprint(get(o, "period")), get(o, "value")))
			}
			return out
		}},
	"q2": {"q2.graphql", func(p params) map[string]any { return map[string]any{"province": p["province"], "indicator": p["ind"]} },
		func(d map[string]any) []answer {
			var out []answer
			for _, dist := range list(d, "unitByCode", "districts", "nodes") {
				for _, c := range list(dist, "communes", "nodes") {
					out = append(out, row(fmt.Sprint(get(c, "code")), get(c, "latest", "value")))
				}
			}
			return sorted(out)
		}},
	"q3": {"q3.graphql", func(p params) map[string]any {
		return map[string]any{"province": "vn", "indicator": p["ind"], "year": p["year"]}
	}, func(d map[string]any) []answer {
		var out []answer
		for _, r := range list(d, "compareUnits", "nodes") {
			if get(r, "value") == nil {
				continue
			}
			out = append(out, row(fmt.Sprint(get(r, "unit")), get(r, "value"), get(r, "rank"), get(r, "sinceEarliestAbsolute")))
		}
		return sorted(out)
	}},
	"q4": {"q4.graphql", func(p params) map[string]any { return map[string]any{"indicator": p["ind"]} },
		func(d map[string]any) []answer {
			expected := map[string]any{}
			for _, prov := range list(d, "provinces", "nodes") {
				expected[fmt.Sprint(get(prov, "code"))] = get(prov, "children", "totalCount")
			}
			var out []answer
			for _, g := range list(d, "allRollupInputRecords", "groupedAggregates") {
				keys, _ := get(g, "keys").([]any)
				if len(keys) != 2 {
					continue
				}
				out = append(out, row(fmt.Sprintf("%v@%v", keys[0], keys[1]), num(get(g, "sum", "value")),
					numString(get(g, "distinctCount", "descendant")), expected[fmt.Sprint(keys[0])]))
			}
			return sorted(out)
		}},
	"q5": {"q5.graphql", func(p params) map[string]any { return map[string]any{"province": p["province"], "indicator": p["ind"]} },
		func(d map[string]any) []answer {
			var out []answer
			for _, r := range list(d, "growthRanking", "nodes") {
				if get(r, "rank") == nil {
					continue
				}
				out = append(out, row(fmt.Sprint(get(r, "unit")), get(r, "cagr"), get(r, "rank")))
			}
			return sorted(out)
		}},
	"q6": {"q6.graphql", func(p params) map[string]any { return map[string]any{"indicator": p["ind"], "first": 100} },
		func(d map[string]any) []answer {
			out := []answer{row("total", get(d, "allObservations", "totalCount"))}
			for _, o := range list(d, "allObservations", "nodes") {
				out = append(out, row(fmt.Sprintf("%v@%v/%v", get(o, "unit"), get(o, "period"), get(o, "kind")), get(o, "value")))
			}
			return out
		}},
}

// numString reads a number PostGraphile may send as a string (BigInt,
// BigFloat aggregates).
func numString(v any) any {
	if s, ok := v.(string); ok {
		f, err := strconv.ParseFloat(s, 64)
		if err == nil {
			return f
		}
	}
	return v
}

// peer is a running PostgreSQL + PostGraphile.
type peer struct {
	state    string
	url      string
	loadTime time.Duration
	queries  map[string]string
}

var peerLoadRE = regexp.MustCompile(`loaded (\d+) observations .* in ([0-9.]+) s`)

func startPeer(ctx context.Context, dataDir, tmp, size string) (*peer, error) {
	state, err := filepath.Abs(filepath.Join(tmp, "peer-"+size))
	if err != nil {
		return nil, err
	}
	pgPort, err := freePort()
	if err != nil {
		return nil, err
	}
	gqlPort, err := freePort()
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(dataDir)
	cmd := exec.CommandContext(ctx, "bash", "bench/peer/start.sh", abs, state, strconv.Itoa(pgPort), strconv.Itoa(gqlPort))
	cmd.Env = append(os.Environ(), "PEER_RELOAD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("bench/peer/start.sh: %v\n%s", err, out)
	}
	p := &peer{state: state, url: fmt.Sprintf("http://127.0.0.1:%d/graphql", gqlPort), queries: map[string]string{}}
	if m := peerLoadRE.FindSubmatch(out); m != nil {
		secs, _ := strconv.ParseFloat(string(m[2]), 64)
		p.loadTime = time.Duration(secs * float64(time.Second))
	}
	for id, q := range peerQuestions {
		b, err := os.ReadFile(filepath.Join("bench/peer/queries", q.file))
		if err != nil {
			p.stop()
			return nil, err
		}
		p.queries[id] = string(b)
	}
	return p, nil
}

func (p *peer) stop() {
	exec.Command("bash", "bench/peer/stop.sh", p.state).Run()
}

// cpu is the peer's CPU time so far: PostGraphile plus every PostgreSQL
// process (postmaster and backends) of the peer's system user.
func (p *peer) cpu() time.Duration {
	var total time.Duration
	if b, err := os.ReadFile(filepath.Join(p.state, "postgraphile.pid")); err == nil {
		var pid int
		fmt.Sscan(string(b), &pid)
		total += cpuTime(pid)
	}
	out, _ := exec.Command("pgrep", "-u", "chisobench").Output()
	for _, f := range strings.Fields(string(out)) {
		pid, _ := strconv.Atoi(f)
		total += cpuTime(pid)
	}
	return total
}
