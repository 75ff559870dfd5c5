package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"chiso/graph"
	"chiso/graph/model"
	"chiso/indicator"
)

// obsRow is one observation being written, with what its columns look
// up: its unit, indicator and source, and its cursor.
type obsRow struct {
	o      *indicator.Observation
	cursor string
	look   *lookups
}

// getter reads one column of an observation's row.
type getter func(r *obsRow) any

// lookups holds the units, indicators and sources a streamed export has
// looked up; they are the dataset's dimensions, not its rows, so they
// stay bounded by the catalog however many rows stream.
type lookups struct {
	units map[string]indicator.Unit
	inds  map[string]indicator.Indicator
	srcs  map[string]indicator.Source
	need  struct{ units, inds, srcs bool }
}

func (l *lookups) unit(r *obsRow) *indicator.Unit {
	u := l.units[r.o.Unit]
	return &u
}

func (l *lookups) ind(r *obsRow) *indicator.Indicator {
	i := l.inds[r.o.Indicator]
	return &i
}

func (l *lookups) src(r *obsRow) *indicator.Source {
	s := l.srcs[r.o.Source]
	return &s
}

// fill looks up what the page's rows need and the lookups lack.
func (l *lookups) fill(ctx context.Context, eng indicator.Reader, obs []indicator.Observation) error {
	var units, inds, srcs []string
	seen := map[string]bool{}
	for i := range obs {
		o := &obs[i]
		if _, ok := l.units[o.Unit]; l.need.units && !ok && !seen["u"+o.Unit] {
			seen["u"+o.Unit] = true
			units = append(units, o.Unit)
		}
		if _, ok := l.inds[o.Indicator]; l.need.inds && !ok && !seen["i"+o.Indicator] {
			seen["i"+o.Indicator] = true
			inds = append(inds, o.Indicator)
		}
		if _, ok := l.srcs[o.Source]; l.need.srcs && !ok && !seen["s"+o.Source] {
			seen["s"+o.Source] = true
			srcs = append(srcs, o.Source)
		}
	}
	if len(units) > 0 {
		m, err := eng.Units(ctx, units)
		if err != nil {
			return err
		}
		for _, c := range units {
			u, ok := m[c]
			if !ok {
				return fmt.Errorf("export: dangling unit reference %q", c)
			}
			l.units[c] = u
		}
	}
	if len(inds) > 0 {
		m, err := eng.Indicators(ctx, inds)
		if err != nil {
			return err
		}
		for _, c := range inds {
			i, ok := m[c]
			if !ok {
				return fmt.Errorf("export: dangling indicator reference %q", c)
			}
			l.inds[c] = i
		}
	}
	if len(srcs) > 0 {
		m, err := eng.Sources(ctx, srcs)
		if err != nil {
			return err
		}
		for _, c := range srcs {
			s, ok := m[c]
			if !ok {
				return fmt.Errorf("export: dangling source reference %q", c)
			}
			l.srcs[c] = s
		}
	}
	return nil
}

func optStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// The fields a streamed observations export writes itself, each as the
// schema's resolver answers it (a test holds them to gqlgen's answers,
// and fails on an argument-less leaf field of Observation, its unit,
// indicator, period, provenance or source that is missing here: a
// selection with one falls back to the capped, whole answer).
var (
	unitFields = map[string]func(*indicator.Unit) any{
		"id":        func(u *indicator.Unit) any { return u.NodeID() },
		"code":      func(u *indicator.Unit) any { return u.Code },
		"nameVi":    func(u *indicator.Unit) any { return u.NameVI },
		"nameAscii": func(u *indicator.Unit) any { return u.NameASCII },
		"nameEn":    func(u *indicator.Unit) any { return optStr(u.NameEN) },
		"level":     func(u *indicator.Unit) any { return strings.ToUpper(string(u.Level)) },
		"validFrom": func(u *indicator.Unit) any {
			if u.ValidFrom == nil {
				return nil
			}
			return *u.ValidFrom
		},
		"validTo": func(u *indicator.Unit) any {
			if u.ValidTo == nil {
				return nil
			}
			return *u.ValidTo
		},
		"officialCode": func(u *indicator.Unit) any { return optStr(u.OfficialCode) },
		"type":         func(u *indicator.Unit) any { return optStr(u.Type) },
		"locator":      func(u *indicator.Unit) any { return optStr(u.Locator) },
		"__typename":   func(*indicator.Unit) any { return "Unit" },
	}
	indicatorFields = map[string]func(*indicator.Indicator) any{
		"id":          func(i *indicator.Indicator) any { return i.NodeID() },
		"code":        func(i *indicator.Indicator) any { return i.Code },
		"nameVi":      func(i *indicator.Indicator) any { return i.NameVI },
		"nameAscii":   func(i *indicator.Indicator) any { return i.NameASCII },
		"nameEn":      func(i *indicator.Indicator) any { return optStr(i.NameEN) },
		"definition":  func(i *indicator.Indicator) any { return optStr(i.Definition) },
		"measureUnit": func(i *indicator.Indicator) any { return i.MeasureUnit },
		"scale":       func(i *indicator.Indicator) any { return i.Scale },
		"unitLabel":   func(i *indicator.Indicator) any { return i.UnitLabel() },
		"theme":       func(i *indicator.Indicator) any { return optStr(i.Theme) },
		"direction":   func(i *indicator.Indicator) any { return strings.ToUpper(string(i.Direction)) },
		"group":       func(i *indicator.Indicator) any { return i.Group },
		"breakdown":   func(i *indicator.Indicator) any { return optStr(i.Breakdown) },
		"aliases":     func(i *indicator.Indicator) any { return strings.Join(i.Aliases, ";") },
		"__typename":  func(*indicator.Indicator) any { return "Indicator" },
	}
	sourceFields = map[string]func(*indicator.Source) any{
		"id":          func(s *indicator.Source) any { return s.ID },
		"title":       func(s *indicator.Source) any { return s.Title },
		"issuer":      func(s *indicator.Source) any { return optStr(s.Issuer) },
		"number":      func(s *indicator.Source) any { return optStr(s.Number) },
		"date":        func(s *indicator.Source) any { return optStr(s.Date) },
		"kind":        func(s *indicator.Source) any { return optStr(s.Kind) },
		"contentDate": func(s *indicator.Source) any { return optStr(s.ContentDate) },
		"__typename":  func(*indicator.Source) any { return "Source" },
	}
	periodFields = map[string]func(*indicator.Period) any{
		"label":      func(p *indicator.Period) any { return p.Label },
		"kind":       func(p *indicator.Period) any { return string(p.Kind) },
		"start":      func(p *indicator.Period) any { return p.Start },
		"end":        func(p *indicator.Period) any { return p.End },
		"__typename": func(*indicator.Period) any { return "Period" },
	}
	observationFields = map[string]getter{
		"id":            func(r *obsRow) any { return r.o.NodeID() },
		"unitCode":      func(r *obsRow) any { return r.o.Unit },
		"indicatorCode": func(r *obsRow) any { return r.o.Indicator },
		"periodLabel":   func(r *obsRow) any { return r.o.Period.Label },
		"periodStart":   func(r *obsRow) any { return r.o.Period.Start },
		"periodEnd":     func(r *obsRow) any { return r.o.Period.End },
		"kind":          func(r *obsRow) any { return strings.ToUpper(string(r.o.Kind)) },
		"value":         func(r *obsRow) any { return r.o.Value },
		"denominator": func(r *obsRow) any {
			if r.o.Denominator == nil {
				return nil
			}
			return *r.o.Denominator
		},
		"measureUnit": func(r *obsRow) any { return r.look.ind(r).MeasureUnit },
		"scale":       func(r *obsRow) any { return r.look.ind(r).Scale },
		"qualifier":   func(r *obsRow) any { return optStr(r.o.Qualifier) },
		"flags":       func(r *obsRow) any { return strings.Join(r.o.Flags, ";") },
		"methodology": func(r *obsRow) any { return optStr(r.o.Methodology) },
		"canonical":   func(r *obsRow) any { return r.o.Canonical },
		"basis":       func(r *obsRow) any { return basisName(r.o.Basis) },
		"__typename":  func(*obsRow) any { return "Observation" },
	}
	provenanceFields = map[string]getter{
		"line": func(r *obsRow) any {
			if r.o.Line == 0 {
				return nil
			}
			return int64(r.o.Line)
		},
		"raw":        func(r *obsRow) any { return optStr(r.o.Raw) },
		"note":       func(r *obsRow) any { return optStr(r.o.Note) },
		"__typename": func(*obsRow) any { return "Provenance" },
	}
)

func basisName(b indicator.Basis) string {
	switch b {
	case indicator.BasisPerYear:
		return string(model.BasisPerYear)
	case indicator.BasisCumulative:
		return string(model.BasisCumulative)
	}
	return string(model.BasisPoint)
}

// obsGetter is the getter of a column below an observation (names are
// the field names from the observation down), or nil when the column is
// not one a streamed export writes itself.
func obsGetter(names []string, l *lookups) getter {
	if len(names) == 0 {
		return nil
	}
	leaf := func(n int) bool { return len(names) == n }
	switch names[0] {
	case "unit":
		if f, ok := unitFields[names[len(names)-1]]; ok && leaf(2) {
			l.need.units = true
			return func(r *obsRow) any { return f(r.look.unit(r)) }
		}
	case "indicator":
		if f, ok := indicatorFields[names[len(names)-1]]; ok && leaf(2) {
			l.need.inds = true
			return func(r *obsRow) any { return f(r.look.ind(r)) }
		}
	case "period":
		if f, ok := periodFields[names[len(names)-1]]; ok && leaf(2) {
			return func(r *obsRow) any { return f(&r.o.Period) }
		}
	case "provenance":
		if len(names) == 3 && names[1] == "source" {
			if f, ok := sourceFields[names[2]]; ok {
				l.need.srcs = true
				return func(r *obsRow) any { return f(r.look.src(r)) }
			}
		}
		if f, ok := provenanceFields[names[len(names)-1]]; ok && leaf(2) {
			return f
		}
	default:
		if f, ok := observationFields[names[0]]; ok && leaf(1) {
			if names[0] == "measureUnit" || names[0] == "scale" {
				l.need.inds = true
			}
			return f
		}
	}
	return nil
}

// streamable says whether t is the observations table (the nodes or
// edges of Query.observations) with every column one the stream writes
// itself, and gives the columns' getters; for the observations table
// with a column it does not write, it names that column.
func streamable(t *table) (gs []getter, l *lookups, unstreamed string, ok bool) {
	if len(t.fields) != 2 || t.fields[0].Name != "observations" || (t.fields[1].Name != "nodes" && t.fields[1].Name != "edges") {
		return nil, nil, "", false
	}
	edges := t.fields[1].Name == "edges"
	l = &lookups{units: map[string]indicator.Unit{}, inds: map[string]indicator.Indicator{}, srcs: map[string]indicator.Source{}}
	gs = make([]getter, len(t.cols))
	for i, c := range t.cols {
		names := make([]string, len(c.fields))
		for j, f := range c.fields {
			names[j] = f.Name
		}
		if edges {
			switch {
			case len(names) == 1 && names[0] == "cursor":
				gs[i] = func(r *obsRow) any { return r.cursor }
				continue
			case len(names) == 1 && names[0] == "__typename":
				gs[i] = func(*obsRow) any { return "ObservationEdge" }
				continue
			case names[0] != "node":
				return nil, nil, c.name, false
			}
			names = names[1:]
		}
		if gs[i] = obsGetter(names, l); gs[i] == nil {
			return nil, nil, c.name, false
		}
	}
	return gs, l, "", true
}

// argInt reads an Int argument as gqlgen hands it (int64 from a literal,
// a JSON number from variables).
func argInt(v any) (int, bool) {
	switch n := v.(type) {
	case int64:
		return int(n), true
	case int:
		return n, true
	case json.Number:
		i, err := strconv.Atoi(string(n))
		return i, err == nil
	case float64:
		return int(n), float64(int(n)) == n
	}
	return 0, false
}

// streamObservations writes the observations table page by page from
// the engine, without the page cap: at most one page of rows (x.page)
// is held at a time. first, when given, is the most rows written; after
// the cursor to start after.
func (x *exporter) streamObservations(ctx context.Context, rc *graphql.OperationContext, t *table, gs []getter, l *lookups, out *tableOut) {
	args := t.fields[0].ArgumentMap(rc.Variables)
	var filter *model.ObservationFilter
	if raw, ok := args["filter"]; ok && raw != nil {
		b, err := json.Marshal(raw)
		filter = &model.ObservationFilter{}
		if err == nil {
			err = json.Unmarshal(b, filter)
		}
		if err != nil {
			writeErrors(out.w, http.StatusBadRequest, gqlerror.List{x.engineError(ctx, indicator.Invalidf("filter", "%v", err), "observations")})
			return
		}
	}
	q, err := graph.ObservationQuery(filter)
	if err != nil {
		errs := gqlerror.List{x.engineError(ctx, err, "observations")}
		writeErrors(out.w, statusOf(errs), errs)
		return
	}
	limit := -1
	if v, ok := args["first"]; ok && v != nil {
		n, ok := argInt(v)
		if !ok || n < 0 {
			writeErrors(out.w, http.StatusBadRequest, gqlerror.List{x.engineError(ctx, indicator.Invalidf("first", "expected a count of at least 0, got %v", v), "observations")})
			return
		}
		limit = n
	}
	if a, ok := args["after"].(string); ok {
		q.After = a
	}
	pageSize := func(written int) int {
		if limit < 0 {
			return x.page
		}
		return min(x.page, limit-written)
	}
	q.First = pageSize(0)
	obs, info, err := x.eng.Observations(ctx, q)
	if err == nil {
		err = l.fill(ctx, x.eng, obs)
	}
	if err != nil {
		errs := gqlerror.List{x.engineError(ctx, err, "observations")}
		writeErrors(out.w, statusOf(errs), errs)
		return
	}
	rows := info.TotalCount
	if limit >= 0 {
		rows = min(rows, limit)
	}
	if m := out.req.format.MaxRows; m > 0 && rows > m {
		errs := gqlerror.List{x.engineError(ctx, fmt.Errorf("%w: %d rows are more than %s holds (%d); filter the observations, or choose csv or parquet", indicator.ErrTooLarge, rows, out.req.format.Name, m), "observations")}
		writeErrors(out.w, statusOf(errs), errs)
		return
	}
	if refused, err := out.start(t.columns()); refused {
		return
	} else if err != nil {
		x.abort(ctx, err)
	}
	row := make([]any, len(gs))
	r := &obsRow{look: l}
	for {
		for i := range obs {
			r.o = &obs[i]
			if len(info.Cursors) > i {
				r.cursor = info.Cursors[i]
			}
			for j, g := range gs {
				row[j] = g(r)
			}
			if err := out.write(row); err != nil {
				x.abort(ctx, err)
			}
		}
		if !info.HasNextPage || (limit >= 0 && out.rows >= limit) {
			break
		}
		q.After, q.First = info.EndCursor, pageSize(out.rows)
		if obs, info, err = x.eng.Observations(ctx, q); err == nil {
			err = l.fill(ctx, x.eng, obs)
		}
		if err != nil {
			x.abort(ctx, err)
		}
	}
	if err := out.finish(); err != nil {
		x.abort(ctx, err)
	}
}
