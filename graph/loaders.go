package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"net/http"
	"sync"
	"time"

	"chiso/indicator"
)

// batcher collects the keys asked for by resolvers running concurrently
// (gqlgen resolves the elements of a list in parallel) and fetches them
// with one engine call. The first key opens a batch; each new key keeps it
// open for another wait (a debounce, so a slow burst of sibling resolvers
// still lands in one batch), up to maxWait in all, or until the batch is
// full.
type batcher[K comparable, V any] struct {
	ctx     context.Context
	fetch   func(context.Context, []K) (map[K]V, error)
	wait    time.Duration
	maxWait time.Duration
	max     int

	mu  sync.Mutex
	cur *batch[K, V]
	// primed holds values fetched ahead of their resolvers (see prime);
	// a primed key is answered without joining a batch.
	primed map[K]V
	// priming serializes prime calls, so overlapping ones fetch once.
	priming sync.Mutex
}

// prime fetches the keys not yet primed now, in one call, without waiting
// for a batch to fill: a resolver that knows the keys its descendants will
// ask for (see Resolver.prefetch) saves them the batch window. A key
// the fetch does not answer is primed as the zero value, as load would
// return it.
func (b *batcher[K, V]) prime(keys []K) error {
	b.priming.Lock()
	defer b.priming.Unlock()
	b.mu.Lock()
	var todo []K
	seen := map[K]bool{}
	for _, k := range keys {
		if _, ok := b.primed[k]; !ok && !seen[k] {
			seen[k] = true
			todo = append(todo, k)
		}
	}
	b.mu.Unlock()
	if len(todo) == 0 {
		return nil
	}
	res, err := b.fetch(b.ctx, todo)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.primed == nil {
		b.primed = make(map[K]V, len(todo))
	}
	for _, k := range todo {
		b.primed[k] = res[k]
	}
	return nil
}

type batch[K comparable, V any] struct {
	keys   []K
	seen   map[K]bool
	done   chan struct{}
	res    map[K]V
	err    error
	timer  *time.Timer
	opened time.Time
}

func (b *batcher[K, V]) load(ctx context.Context, k K) (V, error) {
	m, err := b.loadMany(ctx, []K{k})
	return m[k], err
}

// dispatch closes bt to new keys and fetches it, once.
func (b *batcher[K, V]) dispatch(bt *batch[K, V]) {
	b.mu.Lock()
	if b.cur != bt {
		b.mu.Unlock()
		return // already dispatched
	}
	b.cur = nil
	b.mu.Unlock()
	bt.res, bt.err = b.fetch(b.ctx, bt.keys)
	close(bt.done)
}

// loadMany loads several keys into the same batch and waits for them.
func (b *batcher[K, V]) loadMany(ctx context.Context, keys []K) (map[K]V, error) {
	out := make(map[K]V, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	b.mu.Lock()
	var batches []*batch[K, V]
	for _, k := range keys {
		if v, ok := b.primed[k]; ok {
			out[k] = v
			continue
		}
		bt := b.cur
		if bt == nil {
			bt = &batch[K, V]{seen: map[K]bool{}, done: make(chan struct{}), opened: time.Now()}
			b.cur = bt
			bt.timer = time.AfterFunc(b.wait, func() { b.dispatch(bt) })
		} else if time.Since(bt.opened) < b.maxWait {
			bt.timer.Reset(b.wait) // a late dispatch finds the batch gone and returns
		}
		if !bt.seen[k] {
			bt.seen[k] = true
			bt.keys = append(bt.keys, k)
		}
		if len(batches) == 0 || batches[len(batches)-1] != bt {
			batches = append(batches, bt)
		}
		if len(bt.keys) >= b.max {
			b.mu.Unlock()
			b.dispatch(bt)
			b.mu.Lock()
		}
	}
	b.mu.Unlock()
	for _, bt := range batches {
		select {
		case <-bt.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if bt.err != nil {
			return nil, bt.err
		}
	}
	for _, k := range keys {
		if _, ok := out[k]; ok {
			continue
		}
		for _, bt := range batches {
			if v, ok := bt.res[k]; ok {
				out[k] = v
				break
			}
		}
	}
	return out, nil
}

type seriesKey struct {
	indicator.SeriesKey
	kinds string
}

// loaders are the per-request batchers.
type loaders struct {
	series         *batcher[seriesKey, []indicator.Observation]
	latest         *batcher[seriesKey, *indicator.Observation]
	unitIndicators *batcher[string, []string]
	coverage       *batcher[string, indicator.Coverage]
	observations   *batcher[int64, indicator.Observation]
	alternatives   *batcher[int64, []indicator.Observation]
}

type loadersKey struct{}

// LoaderOptions tune batching.
type LoaderOptions struct {
	Wait     time.Duration // how long a batch stays open after its last key; default 2ms
	MaxWait  time.Duration // how long new keys may keep a batch open; default 10 × Wait
	MaxBatch int           // keys per batch; default 5000
}

func newLoaders(ctx context.Context, e indicator.Engine, o LoaderOptions) *loaders {
	if o.Wait <= 0 {
		o.Wait = 2 * time.Millisecond
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 5000
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 10 * o.Wait
	}
	return &loaders{
		series: &batcher[seriesKey, []indicator.Observation]{ctx: ctx, wait: o.Wait, maxWait: o.MaxWait, max: o.MaxBatch,
			fetch: func(ctx context.Context, keys []seriesKey) (map[seriesKey][]indicator.Observation, error) {
				// One engine call per distinct kinds filter (almost always one).
				byKinds := map[string][]indicator.SeriesKey{}
				kinds := map[string][]indicator.ObservationKind{}
				for _, k := range keys {
					byKinds[k.kinds] = append(byKinds[k.kinds], k.SeriesKey)
				}
				for _, k := range keys {
					if _, ok := kinds[k.kinds]; !ok {
						kinds[k.kinds] = parseKinds(k.kinds)
					}
				}
				out := make(map[seriesKey][]indicator.Observation, len(keys))
				for ks, sk := range byKinds {
					m, err := e.Series(ctx, sk, kinds[ks])
					if err != nil {
						return nil, err
					}
					for k, v := range m {
						out[seriesKey{k, ks}] = v
					}
				}
				return out, nil
			}},
		latest: &batcher[seriesKey, *indicator.Observation]{ctx: ctx, wait: o.Wait, maxWait: o.MaxWait, max: o.MaxBatch,
			fetch: func(ctx context.Context, keys []seriesKey) (map[seriesKey]*indicator.Observation, error) {
				byKind := map[string][]indicator.SeriesKey{}
				for _, k := range keys {
					byKind[k.kinds] = append(byKind[k.kinds], k.SeriesKey)
				}
				out := make(map[seriesKey]*indicator.Observation, len(keys))
				for kind, sk := range byKind {
					m, err := e.Latest(ctx, sk, indicator.ObservationKind(kind))
					if err != nil {
						return nil, err
					}
					for k, v := range m {
						out[seriesKey{k, kind}] = &v
					}
				}
				return out, nil
			}},
		unitIndicators: &batcher[string, []string]{ctx: ctx, wait: o.Wait, maxWait: o.MaxWait, max: o.MaxBatch, fetch: e.UnitIndicators},
		coverage:       &batcher[string, indicator.Coverage]{ctx: ctx, wait: o.Wait, maxWait: o.MaxWait, max: o.MaxBatch, fetch: e.Coverage},
		observations:   &batcher[int64, indicator.Observation]{ctx: ctx, wait: o.Wait, maxWait: o.MaxWait, max: o.MaxBatch, fetch: e.ObservationsByID},
		alternatives:   &batcher[int64, []indicator.Observation]{ctx: ctx, wait: o.Wait, maxWait: o.MaxWait, max: o.MaxBatch, fetch: e.Alternatives},
	}
}

func parseKinds(s string) []indicator.ObservationKind {
	if s == "" {
		return nil
	}
	var out []indicator.ObservationKind
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, indicator.ObservationKind(s[start:i]))
			start = i + 1
		}
	}
	return out
}

// loadersFor returns the request's loaders when the field being resolved
// sits inside a list (its siblings will ask too, so batching pays), and
// nil for a field outside any list, which calls the engine at once rather
// than wait for a batch window.
func loadersFor(ctx context.Context) *loaders {
	l, _ := ctx.Value(loadersKey{}).(*loaders)
	if l == nil || !inList(ctx) {
		return nil
	}
	return l
}

// inList reports whether the field being resolved is inside a list.
func inList(ctx context.Context) bool {
	for fc := graphql.GetFieldContext(ctx); fc != nil; fc = fc.Parent {
		if fc.Index != nil {
			return true
		}
	}
	return false
}

// Middleware pins one dataset snapshot for the whole request and installs
// the request's loaders.
func Middleware(e indicator.Engine, o LoaderOptions, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, release := e.Pin(r.Context())
		defer release()
		ctx = context.WithValue(ctx, loadersKey{}, newLoaders(ctx, e, o))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
