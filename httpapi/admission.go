package httpapi

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"chiso/graph"
	"chiso/indicator"
)

// Admission bounds how many requests run at once, in two lanes decided
// by a request's cost (graph's cost model): at most Expensive requests
// costing more than SmallCost, and apart from them at most Small cheaper
// ones, so a small question (a unit, a series) never queues behind big
// ones. A request that finds its lane full waits up to Wait, then is
// refused with 503, Retry-After and a GraphQL error of code UNAVAILABLE.
// A lane of 0 is unbounded.
type Admission struct {
	Expensive int
	Small     int
	SmallCost int
	Wait      time.Duration
}

// admission holds the lanes' slots.
type admission struct {
	cfg        Admission
	big, small chan struct{}
}

func newAdmission(cfg Admission) *admission {
	a := &admission{cfg: cfg}
	if cfg.Expensive > 0 {
		a.big = make(chan struct{}, cfg.Expensive)
	}
	if cfg.Small > 0 {
		a.small = make(chan struct{}, cfg.Small)
	}
	return a
}

// Handler gives each request a graph.Ticket whose Admit takes a slot of
// the request's lane once its cost is known, and gives the slot back when
// the answer is written.
func (a *admission) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var held chan struct{}
		refused := false
		t := &graph.Ticket{Admit: func(ctx context.Context, cost int) error {
			lane, name, size := a.small, "small", a.cfg.Small
			if cost > a.cfg.SmallCost {
				lane, name, size = a.big, "expensive", a.cfg.Expensive
			}
			if lane == nil || held != nil {
				return nil
			}
			select {
			case lane <- struct{}{}:
				held = lane
				return nil
			default:
			}
			timer := time.NewTimer(a.cfg.Wait)
			defer timer.Stop()
			select {
			case lane <- struct{}{}:
				held = lane
				return nil
			case <-timer.C:
				refused = true
				return indicator.Errorf(indicator.ErrUnavailable, "busy: %d %s requests (cost over %d) are running, the limit; retry in %d s", size, name, a.cfg.SmallCost, retryAfter(a.cfg.Wait))
			case <-ctx.Done():
				if ctx.Err() == context.DeadlineExceeded {
					return fmt.Errorf("waiting for a %s request slot: %w", name, indicator.ErrTimeout)
				}
				return fmt.Errorf("waiting for a %s request slot: %w", name, indicator.ErrUnavailable)
			}
		}}
		defer func() {
			if held != nil {
				<-held
			}
		}()
		next.ServeHTTP(&admissionWriter{ResponseWriter: w, refused: &refused, wait: a.cfg.Wait}, r.WithContext(graph.WithTicket(r.Context(), t)))
	})
}

// retryAfter is the Retry-After of a refusal: the wait, in whole seconds,
// at least 1.
func retryAfter(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// admissionWriter turns the answer of a refused request into a 503 with
// Retry-After.
type admissionWriter struct {
	http.ResponseWriter
	refused *bool
	wait    time.Duration
	wrote   bool
}

func (w *admissionWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	if *w.refused {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter(w.wait)))
		code = http.StatusServiceUnavailable
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *admissionWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *admissionWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *admissionWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
