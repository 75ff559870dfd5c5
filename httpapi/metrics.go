package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"chiso/indicator"
)

// maxOperations bounds the operation names the latency histogram keeps
// apart; later names count as "other", so a client inventing names cannot
// grow the metrics without end.
const maxOperations = 100

// Metrics are the API's Prometheus metrics, in a registry of their own
// (served at /metrics):
//
//	chiso_http_requests_total{handler,code}          requests answered, by route and status
//	chiso_http_request_duration_seconds{handler}     latency by route
//	chiso_graphql_request_duration_seconds{operation} latency by GraphQL operation name
//	chiso_response_cache_requests_total{result}      response cache hits and misses
//	chiso_dataset_load_duration_seconds{result}      loads and reloads (ok, failed)
//	chiso_dataset_observations, _units, _indicators, _sources   the dataset served
//	chiso_dataset_loaded_timestamp_seconds           when it was loaded
//
// with Go's and the process's collectors.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	ops      *prometheus.HistogramVec
	cache    *prometheus.CounterVec
	loads    *prometheus.HistogramVec

	mu    sync.Mutex
	names map[string]bool
}

// NewMetrics registers the metrics; the dataset gauges read eng.
func NewMetrics(eng indicator.Engine) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), names: map[string]bool{}}
	buckets := []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chiso_http_requests_total", Help: "HTTP requests answered, by route and status code."}, []string{"handler", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "chiso_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route.", Buckets: buckets}, []string{"handler"})
	m.ops = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "chiso_graphql_request_duration_seconds", Help: "Time to answer a GraphQL request (at /graphql or /export), by operation name: anonymous for none, other beyond the first 100 names, unknown when unreadable.", Buckets: buckets}, []string{"operation"})
	m.cache = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chiso_response_cache_requests_total", Help: "GraphQL requests answered from the response cache (hit) or computed (miss)."}, []string{"result"})
	m.loads = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "chiso_dataset_load_duration_seconds", Help: "Time to load (or reload) the dataset, by result.", Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}}, []string{"result"})
	dataset := func(name, help string, v func(indicator.DatasetInfo) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			info, err := eng.Dataset(context.Background())
			if err != nil {
				return 0
			}
			return v(info)
		})
	}
	m.reg.MustRegister(m.requests, m.latency, m.ops, m.cache, m.loads,
		dataset("chiso_dataset_observations", "Observations in the dataset served.", func(i indicator.DatasetInfo) float64 { return float64(i.Observations) }),
		dataset("chiso_dataset_units", "Units in the dataset served.", func(i indicator.DatasetInfo) float64 { return float64(i.Units) }),
		dataset("chiso_dataset_indicators", "Indicators in the dataset served.", func(i indicator.DatasetInfo) float64 { return float64(i.Indicators) }),
		dataset("chiso_dataset_sources", "Source documents in the dataset served.", func(i indicator.DatasetInfo) float64 { return float64(i.Sources) }),
		dataset("chiso_dataset_loaded_timestamp_seconds", "When the dataset served was loaded (Unix time).", func(i indicator.DatasetInfo) float64 { return float64(i.LoadedAt.UnixNano()) / 1e9 }),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus's text format (uncompressed:
// Compress does that).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{DisableCompression: true})
}

// ObserveLoad records a load that took d and failed with err (nil: it
// succeeded).
func (m *Metrics) ObserveLoad(d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "failed"
	}
	m.loads.WithLabelValues(result).Observe(d.Seconds())
}

type opNameKey struct{}

// operation bounds an operation name to the label set.
func (m *Metrics) operation(name string) string {
	if name == "" {
		return "anonymous"
	}
	if !validName(name) {
		return "unknown"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.names[name] {
		return name
	}
	if len(m.names) >= maxOperations {
		return "other"
	}
	m.names[name] = true
	return name
}

func validName(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i, c := range s {
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

func route(path string) string {
	switch path {
	case "/graphql":
		return "graphql"
	case "/export":
		return "export"
	case "/":
		return "graphiql"
	case "/healthz":
		return "healthz"
	case "/metrics":
		return "metrics"
	}
	return "other"
}

// Middleware counts every request and times it; for GraphQL routes the
// operation name comes from OperationName, which those routes run.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		op := new(string)
		sw := &statusWriter{ResponseWriter: w}
		handler := route(r.URL.Path)
		done := func(status int) {
			el := time.Since(start).Seconds()
			m.requests.WithLabelValues(handler, strconv.Itoa(status)).Inc()
			m.latency.WithLabelValues(handler).Observe(el)
			if *op != "" {
				m.ops.WithLabelValues(*op).Observe(el)
			}
			switch sw.Header().Get("X-Chiso-Cache") {
			case "hit":
				m.cache.WithLabelValues("hit").Inc()
			case "miss":
				m.cache.WithLabelValues("miss").Inc()
			}
		}
		defer func() {
			if v := recover(); v != nil {
				done(0) // cut off: a stream that failed after it began
				panic(v)
			}
		}()
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), opNameKey{}, op)))
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		done(sw.status)
	})
}

// OperationName reads the GraphQL operation name of a request for the
// metrics (the operationName parameter, else the name of the query's
// first operation), restoring the body it reads. It must run after the
// body limit, which holds the body in memory.
func (m *Metrics) OperationName(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if op, ok := r.Context().Value(opNameKey{}).(*string); ok {
			*op = m.operation(requestOperation(r))
		}
		next.ServeHTTP(w, r)
	})
}

func requestOperation(r *http.Request) string {
	u := r.URL.Query()
	name, query := u.Get("operationName"), u.Get("query")
	if r.Method == http.MethodPost && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err == nil && len(body) > 0 && body[0] == '{' {
			var p struct {
				OperationName string `json:"operationName"`
				Query         string `json:"query"`
			}
			if json.Unmarshal(body, &p) == nil {
				name, query = p.OperationName, p.Query
			}
		} else if err == nil {
			query = string(body)
		}
	}
	if name != "" {
		return name
	}
	return firstOperationName(query)
}

// firstOperationName is the name of a document's first operation, read
// with a few tokens rather than a parse: "" for an anonymous one.
func firstOperationName(q string) string {
	i := 0
	skip := func() {
		for i < len(q) {
			switch c := q[i]; {
			case c == '#':
				for i < len(q) && q[i] != '\n' {
					i++
				}
			case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',':
				i++
			default:
				return
			}
		}
	}
	word := func() string {
		s := i
		for i < len(q) && (q[i] == '_' || q[i] >= 'a' && q[i] <= 'z' || q[i] >= 'A' && q[i] <= 'Z' || q[i] >= '0' && q[i] <= '9') {
			i++
		}
		return q[s:i]
	}
	for {
		skip()
		switch w := word(); w {
		case "query", "mutation", "subscription":
			skip()
			return word()
		case "fragment": // skip to the fragment's closing brace
			depth := 0
			for i < len(q) {
				if q[i] == '{' {
					depth++
				} else if q[i] == '}' {
					depth--
					if depth == 0 {
						i++
						break
					}
				}
				i++
			}
		case "":
			if i < len(q) && q[i] == '{' {
				return "" // { … }: anonymous
			}
			return "?"
		default:
			return "?" // not a GraphQL document: unknown
		}
	}
}
