// Package graph is chiso's GraphQL layer (gqlgen, schema first). Resolvers
// are thin: they convert arguments, call the indicator.Engine, and batch
// per-object lookups that need SQL through request-scoped loaders so a
// nested request costs a bounded number of statements. It never builds SQL
// and never imports the DuckDB driver.
package graph

import (
	"context"
	"fmt"
	"strings"
	"time"

	"chiso/graph/model"
	"chiso/indicator"
)

// Limits bound what one request may ask for.
type Limits struct {
	DefaultPageSize int // page size when `first` is omitted
	MaxPageSize     int // larger `first` is refused with TOO_LARGE
}

// DefaultLimits are the limits used when none are configured.
var DefaultLimits = Limits{DefaultPageSize: 100, MaxPageSize: 1000}

// Resolver holds the dependencies of every resolver.
type Resolver struct {
	Engine indicator.Engine
	Limits Limits
	// Now is the clock that says which day today is (the default asOf);
	// nil is time.Now.
	Now func() time.Time
}

// NewResolver returns the resolvers answering from eng within limits.
func NewResolver(eng indicator.Engine, limits Limits) *Resolver {
	return &Resolver{Engine: eng, Limits: limits}
}

// pageSize is the size asked for with argument arg (first or last), or the
// default page size.
func (r *Resolver) pageSize(arg string, size *int) (int, error) {
	if size == nil {
		return r.Limits.DefaultPageSize, nil
	}
	switch n := *size; {
	case n < 0:
		return 0, indicator.Invalidf(arg, "must be 0 or more, got %d", n)
	case n > r.Limits.MaxPageSize:
		return 0, &tooLarge{arg: arg, max: r.Limits.MaxPageSize, got: n}
	default:
		return n, nil
	}
}

// page reads a connection's Relay arguments: first (with after, and
// before as an upper bound) pages forward, last (with before, and after
// as a lower bound) backward. Without either, before alone pages backward
// and anything else forward, by the default page size.
func (r *Resolver) page(first *int, after *string, last *int, before *string) (indicator.Page, error) {
	p := indicator.Page{After: deref(after), Before: deref(before)}
	if first != nil && last != nil {
		return p, indicator.Invalidf("last", "give first or last, not both: first pages forward (after a cursor), last backward (before one)")
	}
	var err error
	if last != nil || first == nil && p.Before != "" && p.After == "" {
		p.Backward = true
		p.Last, err = r.pageSize("last", last)
		return p, err
	}
	p.First, err = r.pageSize("first", first)
	return p, err
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func domainLevel(l *model.Level) indicator.Level {
	if l == nil {
		return ""
	}
	return indicator.Level(strings.ToLower(string(*l)))
}

func domainKinds(ks []model.ObservationKind) []indicator.ObservationKind {
	out := make([]indicator.ObservationKind, len(ks))
	for i, k := range ks {
		out[i] = indicator.ObservationKind(strings.ToLower(string(k)))
	}
	return out
}

func kindsKey(ks []indicator.ObservationKind) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = string(k)
	}
	return strings.Join(parts, ",")
}

// pageInfo converts an engine page description.
func pageInfo(p indicator.PageInfo) *model.PageInfo {
	return &model.PageInfo{HasNextPage: p.HasNextPage, EndCursor: optional(p.EndCursor),
		HasPreviousPage: p.HasPreviousPage, StartCursor: optional(p.StartCursor)}
}

// lookups of single objects; the engine answers these from memory.

func (r *Resolver) unit(ctx context.Context, code string) (*indicator.Unit, error) {
	m, err := r.Engine.Units(ctx, []string{code})
	if err != nil {
		return nil, err
	}
	if u, ok := m[code]; ok {
		return &u, nil
	}
	return nil, nil
}

func (r *Resolver) indicator(ctx context.Context, code string) (*indicator.Indicator, error) {
	if code == "" {
		return nil, nil
	}
	m, err := r.Engine.Indicators(ctx, []string{code})
	if err != nil {
		return nil, err
	}
	if x, ok := m[code]; ok {
		return &x, nil
	}
	return nil, nil
}

func (r *Resolver) source(ctx context.Context, id string) (*indicator.Source, error) {
	m, err := r.Engine.Sources(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	if s, ok := m[id]; ok {
		return &s, nil
	}
	return nil, nil
}

// mustUnit and mustIndicator resolve codes that the dataset guarantees
// (references inside loaded data); a miss is an internal error.
func (r *Resolver) mustUnit(ctx context.Context, code string) (*indicator.Unit, error) {
	u, err := r.unit(ctx, code)
	if err == nil && u == nil {
		err = fmt.Errorf("graph: dangling unit reference %q", code)
	}
	return u, err
}

func (r *Resolver) mustIndicator(ctx context.Context, code string) (*indicator.Indicator, error) {
	x, err := r.indicator(ctx, code)
	if err == nil && x == nil {
		err = fmt.Errorf("graph: dangling indicator reference %q", code)
	}
	return x, err
}

// series resolves one series through the request's batch loader.
func (r *Resolver) series(ctx context.Context, unitCode, indicatorCode string, kinds []model.ObservationKind, unitArg, indArg string) (*model.Series, error) {
	u, err := r.unit(ctx, unitCode)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, notFound(unitArg, "unit", unitCode)
	}
	ind, err := r.indicator(ctx, indicatorCode)
	if err != nil {
		return nil, err
	}
	if ind == nil {
		return nil, notFound(indArg, "indicator", indicatorCode)
	}
	ks := domainKinds(kinds)
	key := seriesKey{indicator.SeriesKey{Unit: unitCode, Indicator: indicatorCode}, kindsKey(ks)}
	var obs []indicator.Observation
	if l := loadersFor(ctx); l != nil {
		obs, err = l.series.load(ctx, key)
	} else {
		var m map[indicator.SeriesKey][]indicator.Observation
		m, err = r.Engine.Series(ctx, []indicator.SeriesKey{key.SeriesKey}, ks)
		obs = m[key.SeriesKey]
	}
	if err != nil {
		return nil, err
	}
	if obs == nil {
		obs = []indicator.Observation{}
	}
	return &model.Series{Unit: u, Indicator: ind, Observations: obs}, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func unitSet(in model.UnitSetInput) indicator.UnitSet {
	return indicator.UnitSet{Codes: in.Codes, ChildrenOf: deref(in.ChildrenOf), Under: deref(in.Under), Level: domainLevel(in.Level), AsOf: in.AsOf}
}

// period parses an optional period label given in argument arg.
func parsePeriod(arg string, label *string) (*indicator.Period, error) {
	if label == nil {
		return nil, nil
	}
	p, err := indicator.ParsePeriod(*label)
	if err != nil {
		return nil, indicator.Invalidf(arg, "%s", strings.TrimSuffix(err.Error(), ": "+indicator.ErrInvalid.Error()))
	}
	return &p, nil
}

func parsePeriods(arg string, labels []string) ([]indicator.Period, error) {
	out := make([]indicator.Period, 0, len(labels))
	for i := range labels {
		p, err := parsePeriod(fmt.Sprintf("%s[%d]", arg, i), &labels[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, nil
}

func periodChoice(in *model.PeriodChoiceInput) (indicator.PeriodChoice, error) {
	if in == nil {
		return indicator.PeriodChoice{Mode: indicator.PeriodLatest}, nil
	}
	pc := indicator.PeriodChoice{Mode: indicator.PeriodMode(in.Mode)}
	if in.MaxAgeYears != nil {
		pc.MaxAgeYears = *in.MaxAgeYears
	}
	if in.MinCoverage != nil {
		pc.MinCoverage = *in.MinCoverage
	}
	p, err := parsePeriod("period.label", in.Label)
	pc.Period = p
	return pc, err
}

func domainKind(k *model.ObservationKind) indicator.ObservationKind {
	if k == nil {
		return indicator.KindActual
	}
	return indicator.ObservationKind(strings.ToLower(string(*k)))
}

// observations resolves observation ids (the inputs of computed values)
// through the request's batch loader.
// alternatives lists the other observations of an observation's key.
// Every list of a request joins one batch, in a list or not (siblings
// such as a change's from and to arrive together), so a request costs
// one engine call for all of them.
func (r *Resolver) alternatives(ctx context.Context, id int64) ([]indicator.Observation, error) {
	var alts []indicator.Observation
	if l, _ := ctx.Value(loadersKey{}).(*loaders); l != nil {
		var err error
		if alts, err = l.alternatives.load(ctx, id); err != nil {
			return nil, err
		}
	} else {
		m, err := r.Engine.Alternatives(ctx, []int64{id})
		if err != nil {
			return nil, err
		}
		alts = m[id]
	}
	if alts == nil {
		alts = []indicator.Observation{}
	}
	return alts, nil
}

func (r *Resolver) observations(ctx context.Context, ids []int64) ([]indicator.Observation, error) {
	out := make([]indicator.Observation, 0, len(ids))
	l := loadersFor(ctx)
	if l == nil {
		m, err := r.Engine.ObservationsByID(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			out = append(out, m[id])
		}
		return out, nil
	}
	m, err := l.observations.loadMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		out = append(out, m[id])
	}
	return out, nil
}

// latest resolves a unit's latest value through the request's batch loader.
func (r *Resolver) latest(ctx context.Context, unit, ind string, kind *model.ObservationKind) (*indicator.Observation, error) {
	if x, err := r.indicator(ctx, ind); err != nil {
		return nil, err
	} else if x == nil {
		return nil, notFound("indicator", "indicator", ind)
	}
	key := seriesKey{indicator.SeriesKey{Unit: unit, Indicator: ind}, string(domainKind(kind))}
	if l := loadersFor(ctx); l != nil {
		return l.latest.load(ctx, key)
	}
	m, err := r.Engine.Latest(ctx, []indicator.SeriesKey{key.SeriesKey}, domainKind(kind))
	if o, ok := m[key.SeriesKey]; ok {
		return &o, err
	}
	return nil, err
}

// Node is any object with a global id (Unit, Indicator, Observation: see
// indicator.NodeID); the schema's Node interface is bound to it.
type Node any
