package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"chiso/loader"
	"chiso/store"
)

// buildChiso builds the chiso binary once for the run.
func buildChiso(ctx context.Context, tmp string) (string, error) {
	bin, err := filepath.Abs(filepath.Join(tmp, "chiso"))
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building chiso: %w", err)
	}
	return bin, nil
}

// generate writes a dataset of a size and format unless it is there.
func generate(ctx context.Context, bin, tmp, size, format string, seed uint64) (string, error) {
	dir := filepath.Join(tmp, fmt.Sprintf("data-%s-%s-seed%d", size, format, seed))
	if _, err := os.Stat(filepath.Join(dir, "observations."+format)); err == nil {
		return dir, nil
	}
	log.Printf("generating %s (%s)", size, format)
	cmd := exec.CommandContext(ctx, bin, "gen", "-size", size, "-format", format, "-seed", strconv.FormatUint(seed, 10), "-out", dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("chiso gen: %w", err)
	}
	return dir, nil
}

// server is a running chiso serve process.
type server struct {
	cmd      *exec.Cmd
	base     string
	loadTime time.Duration
	obs      int
	logs     *syncBuffer
	// The point index, built after the load while the server already
	// answers; the harness waits for it before measuring.
	pointsTime time.Duration
	pointsMB   float64
}

// syncBuffer is the server's log, written by the goroutine reading its
// stderr and read by the harness.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) WriteString(x string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(x)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	loadedRE = regexp.MustCompile(`msg="dataset loaded".*observations=(\d+) elapsed=(\S+)`)
	pointsRE = regexp.MustCompile(`msg="point index built".* mib=(\d+) elapsed=(\S+)`)
)

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startServer starts chiso serving dir on a free loopback port and waits
// until it answers.
func startServer(ctx context.Context, bin, dir string, extra []string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// -max-cost: q8 over the register's largest provinces (Hà Nội's 579
	// communes) is estimated at about 730,000, over the default budget;
	// the harness measures the queries, not the budget (-chiso-flags may
	// override it).
	args := append([]string{"serve", "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-data", dir, "-log-level", "info", "-max-page", "10000", "-max-cost", "2000000"}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	logs := &syncBuffer{}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	cmd.Stdout = io.Discard
	s := &server{cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), logs: logs}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if !strings.Contains(line, "msg=request") {
				logs.WriteString(line + "\n")
			}
		}
	}()
	// A load of L on a busy machine has taken over half an hour.
	deadline := time.Now().Add(3 * time.Hour)
	for time.Now().Before(deadline) {
		if cmd.ProcessState != nil {
			break
		}
		resp, err := http.Get(s.base + "/healthz")
		if err == nil {
			var health struct {
				PointIndex string `json:"pointIndex"`
			}
			json.NewDecoder(resp.Body).Decode(&health)
			resp.Body.Close()
			if resp.StatusCode == 200 && health.PointIndex != "building" {
				if m := loadedRE.FindStringSubmatch(logs.String()); m != nil {
					s.obs, _ = strconv.Atoi(m[1])
					s.loadTime, _ = time.ParseDuration(m[2])
				}
				if m := pointsRE.FindStringSubmatch(logs.String()); m != nil {
					s.pointsMB, _ = strconv.ParseFloat(m[1], 64)
					s.pointsTime, _ = time.ParseDuration(m[2])
				}
				return s, nil
			}
		}
		if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
			return nil, fmt.Errorf("chiso exited: %s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("chiso did not become healthy: %s", logs.String())
}

func (s *server) stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
		}
	}
}

// procStatus reads a field in kB from /proc/PID/status (VmHWM, VmRSS).
func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field+":") {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimPrefix(line, field+":")), &kb)
			return kb
		}
	}
	return 0
}

// cpuTime is a process's user+system CPU time.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// gqlClient posts GraphQL over a keep-alive connection pool. Unless
// cached is set it asks for fresh answers (Cache-Control: no-cache), so
// chiso's response cache never answers a measured request.
type gqlClient struct {
	url    string
	hc     *http.Client
	cached bool
}

func newGQLClient(url string) *gqlClient {
	// Uncompressed, as the peers and the floor answer: on loopback gzip
	// only adds its CPU to every answer (clients on a network choose it).
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute, DisableCompression: true}
	return &gqlClient{url: url, hc: &http.Client{Transport: tr, Timeout: 5 * time.Minute}}
}

// fetch posts one request and reads the whole response: what the timed
// runs measure. Decoding it (into generic maps, the harness's own cost
// and the same for every system) is left to do.
func (c *gqlClient) fetch(ctx context.Context, query string, vars map[string]any) ([]byte, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, "POST", c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if !c.cached {
		req.Header.Set("Cache-Control", "no-cache")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return nil, err
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("status %d: %.500s", resp.StatusCode, b)
	case bytes.Contains(b, []byte(`"errors":`)):
		return nil, fmt.Errorf("graphql errors: %.500s", b)
	}
	return b, nil
}

// do posts one request and decodes its data (for the correctness checks).
func (c *gqlClient) do(ctx context.Context, query string, vars map[string]any) (map[string]any, error) {
	b, err := c.fetch(ctx, query, vars)
	if err != nil {
		return nil, err
	}
	var out struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// floor is the same dataset loaded in-process, queried with raw SQL.
type floor struct {
	st       *store.Store
	loadTime time.Duration
}

func loadFloor(ctx context.Context, dir string, opts store.Options) (*floor, error) {
	st := store.New(opts)
	start := time.Now()
	if _, err := loader.New(st, loader.Options{}).Load(ctx, loader.OSDir(dir)); err != nil {
		return nil, err
	}
	return &floor{st: st, loadTime: time.Since(start)}, nil
}

func (f *floor) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := f.st.RawQuery(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprint(r[0])
	}
	return out, nil
}

// universe draws from the loaded dataset.
func (f *floor) universe(ctx context.Context) (universe, error) {
	var u universe
	var err error
	level := func(l string) []string {
		if err != nil {
			return nil
		}
		var out []string
		out, err = f.strings(ctx, "SELECT code FROM units WHERE level = ? ORDER BY code", l)
		return out
	}
	u.provinces, u.districts, u.communes = level("province"), level("district"), level("commune")
	if err != nil {
		return u, err
	}
	if u.sumIndicators, err = f.strings(ctx, "SELECT code FROM indicators WHERE rollup = 'SUM' ORDER BY code"); err != nil {
		return u, err
	}
	if u.anyIndicators, err = f.strings(ctx, "SELECT DISTINCT indicator FROM observations WHERE kind = 'actual' ORDER BY 1"); err != nil {
		return u, err
	}
	if u.years, err = f.strings(ctx, "SELECT DISTINCT period FROM observations WHERE period_kind = 'YEAR' AND kind = 'actual' ORDER BY 1"); err != nil {
		return u, err
	}
	if len(u.provinces) == 0 || len(u.communes) == 0 || len(u.sumIndicators) == 0 || len(u.years) == 0 {
		return u, errors.New("dataset lacks provinces, communes, SUM indicators or years")
	}
	return u, nil
}

// draws returns n seeded parameter draws for a question.
func draws(q question, u universe, seed uint64, n int) []params {
	r := rand.New(rand.NewPCG(seed, uint64(len(q.id))*7919+uint64(q.id[1])))
	out := make([]params, n)
	for i := range out {
		out[i] = q.draw(r, u)
	}
	return out
}

// timeOne measures one call.
func timeOne(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}

// throughput runs fn from n goroutines for d and returns requests/s.
func throughput(ctx context.Context, n int, d time.Duration, fn func(i int) error) (float64, int, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	counts := make([]int, n)
	errs := make([]error, n)
	start := time.Now()
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i += n {
				if err := fn(i); err != nil {
					if ctx.Err() == nil {
						errs[w] = err
					}
					return
				}
				counts[w]++
			}
		}(w)
	}
	wg.Wait()
	el := time.Since(start)
	total := 0
	for _, c := range counts {
		total += c
	}
	return float64(total) / el.Seconds(), total, errors.Join(errs...)
}

func rusageCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
