package graph

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"chiso/graph/model"
	"chiso/indicator"
)

// The analytic queries: argument conversion, then one engine call. The
// generated resolvers delegate here because their parameters are named
// after the schema's arguments (indicator, period …).

func (r *Resolver) compare(ctx context.Context, inds []string, units model.UnitSetInput, pc *model.PeriodChoiceInput, kind *model.ObservationKind, rankBy *model.RankBy, basis *model.Basis, tree *time.Time) (*indicator.Comparison, error) {
	choice, err := periodChoice(pc)
	if err != nil {
		return nil, err
	}
	if inds, err = r.indicatorCodes(ctx, inds); err != nil {
		return nil, err
	}
	q := indicator.CompareQuery{Indicators: inds, Units: unitSet(units), Period: choice, Kind: domainKind(kind), Basis: domainBasis(basis), Tree: tree}
	if rankBy != nil {
		q.RankBy = indicator.RankBy(*rankBy)
	}
	// Compute only the parts the request reads. Alternatives are counted
	// below from the observations' own lists, so the count is the length
	// of observation.alternatives.
	rows := selectedAt(ctx, "rows")
	q.Skip = indicator.CompareSkip{
		Parent:   !rows["parent"] && !rows["shareOfParent"] && !rows["diffFromParent"],
		Earliest: !rows["sinceEarliest"],
		// The change's own fields are computed from the rows read; only
		// its from observation needs reading.
		EarliestObservation: !selectedAt(ctx, "rows", "sinceEarliest")["from"],
	}
	c, err := r.Engine.Compare(ctx, q)
	if err != nil {
		return nil, err
	}
	if rows["alternatives"] || selectedAt(ctx, "rows", "observation")["alternatives"] {
		if err := r.countAlternatives(ctx, c.Rows); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// countAlternatives sets each row's alternatives to the number of other
// observations of its observation's key (unit, indicator, period, kind
// and basis), from one engine call whose answers also serve the rows'
// observation.alternatives lists.
func (r *Resolver) countAlternatives(ctx context.Context, rows []indicator.CompareRow) error {
	var ids []int64
	for _, row := range rows {
		if row.Obs != nil {
			ids = append(ids, row.Obs.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var alts map[int64][]indicator.Observation
	if l, _ := ctx.Value(loadersKey{}).(*loaders); l != nil {
		if err := l.alternatives.prime(ids); err != nil {
			return err
		}
		var err error
		if alts, err = l.alternatives.loadMany(ctx, ids); err != nil {
			return err
		}
	} else {
		var err error
		if alts, err = r.Engine.Alternatives(ctx, ids); err != nil {
			return err
		}
	}
	for i := range rows {
		if rows[i].Obs != nil {
			rows[i].Alternatives = len(alts[rows[i].Obs.ID])
		}
	}
	return nil
}

func (r *Resolver) trendQuery(unit, ind string, kind *model.ObservationKind, base, from, to *string, basis *model.Basis) (indicator.TrendQuery, error) {
	q := indicator.TrendQuery{Unit: unit, Indicator: ind, Kind: domainKind(kind), Basis: domainBasis(basis)}
	var err error
	if q.Base, err = parsePeriod("base", base); err != nil {
		return q, err
	}
	if q.From, err = parsePeriod("from", from); err != nil {
		return q, err
	}
	q.To, err = parsePeriod("to", to)
	return q, err
}

func (r *Resolver) trend(ctx context.Context, unit, ind string, kind *model.ObservationKind, base, from, to *string, basis *model.Basis) (*indicator.Trend, error) {
	ind, err := r.indicatorCode(ctx, ind)
	if err != nil {
		return nil, err
	}
	q, err := r.trendQuery(unit, ind, kind, base, from, to, basis)
	if err != nil {
		return nil, err
	}
	t, err := r.Engine.Trend(ctx, q)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func (r *Resolver) change(ctx context.Context, unit, ind, from, to string, kind *model.ObservationKind, basis *model.Basis) (*indicator.Change, error) {
	ind, err := r.indicatorCode(ctx, ind)
	if err != nil {
		return nil, err
	}
	q, err := r.trendQuery(unit, ind, kind, nil, &from, &to, basis)
	if err != nil {
		return nil, err
	}
	c, err := r.Engine.ChangeBetween(ctx, q)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func (r *Resolver) rollup(ctx context.Context, ind string, units model.UnitSetInput, childLevel *model.Level, periods []string, over *string, kind *model.ObservationKind, basis *model.Basis, tree *time.Time) ([]indicator.RollupRow, error) {
	ps, err := parsePeriods("periods", periods)
	if err != nil {
		return nil, err
	}
	o, err := parsePeriod("over", over)
	if err != nil {
		return nil, err
	}
	if o != nil && len(ps) > 0 {
		return nil, indicator.Invalidf("over", "give either periods (roll children up) or over (roll years up), not both")
	}
	if ind, err = r.indicatorCode(ctx, ind); err != nil {
		return nil, err
	}
	q := indicator.RollupQuery{Indicator: ind, Parents: unitSet(units), ChildLevel: domainLevel(childLevel), Periods: ps, Over: o, Kind: domainKind(kind), Basis: domainBasis(basis), Tree: tree}
	// Compute only the parts the request reads.
	fields := selectedAt(ctx)
	q.Skip = indicator.RollupSkip{
		Inputs:   !fields["inputs"],
		Missing:  !selectedAt(ctx, "coverage")["missing"],
		Reported: !fields["reported"],
		Gap:      !fields["gap"] && !fields["gapRelative"] && !fields["gapReason"],
	}
	return rows(r.Engine.Rollup(ctx, q))
}

func (r *Resolver) progress(ctx context.Context, units, inds []string, targetYear *int) ([]indicator.ProgressRow, error) {
	if len(units) == 0 {
		return nil, indicator.Invalidf("units", "name at least one unit")
	}
	inds, err := r.indicatorCodes(ctx, inds)
	if err != nil {
		return nil, err
	}
	q := indicator.ProgressQuery{Units: units, Indicators: inds}
	if targetYear != nil {
		q.TargetYear = *targetYear
	}
	return rows(r.Engine.Progress(ctx, q))
}

func (r *Resolver) reconcile(ctx context.Context, total string, units []string, period *string, kind *model.ObservationKind) ([]indicator.ReconcileRow, error) {
	p, err := parsePeriod("period", period)
	if err != nil {
		return nil, err
	}
	if total, err = r.indicatorCode(ctx, total); err != nil {
		return nil, err
	}
	return rows(r.Engine.Reconcile(ctx, indicator.ReconcileQuery{Total: total, Units: units, Period: p, Kind: domainKind(kind)}))
}

// rows is an analytic's answer as a root field returns it: these fields
// are nullable (a failed one is null beside its siblings), so an answer
// without rows must be an empty list, not null; a failure is nil.
func rows[T any](list []T, err error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []T{}
	}
	return list, nil
}

func (r *Resolver) matrix(ctx context.Context, inds []string, units model.UnitSetInput, by *model.MatrixColumns, periods []string, pc *model.PeriodChoiceInput, kind *model.ObservationKind) (*model.Matrix, error) {
	ps, err := parsePeriods("periods", periods)
	if err != nil {
		return nil, err
	}
	choice, err := periodChoice(pc)
	if err != nil {
		return nil, err
	}
	if inds, err = r.indicatorCodes(ctx, inds); err != nil {
		return nil, err
	}
	byIndicator := by != nil && *by == model.MatrixColumnsIndicator
	m, err := r.Engine.Matrix(ctx, indicator.MatrixQuery{Indicators: inds, Units: unitSet(units), ByIndicator: byIndicator, Periods: ps, Period: choice, Kind: domainKind(kind)})
	if err != nil {
		return nil, err
	}
	um, err := r.Engine.Units(ctx, m.Units)
	if err != nil {
		return nil, err
	}
	out := &model.Matrix{Columns: m.Columns, Rows: make([]indicator.Unit, len(m.Units)), Cells: make([][]*model.MatrixCell, len(m.Cells))}
	for i, u := range m.Units {
		out.Rows[i] = um[u]
		out.Cells[i] = make([]*model.MatrixCell, len(m.Cells[i]))
		for j, o := range m.Cells[i] {
			if o != nil {
				out.Cells[i][j] = &model.MatrixCell{Value: o.Value, Observation: o}
			}
		}
	}
	return out, nil
}

// selectedAt returns the names of the fields selected at the end of path,
// a chain of field names below the current field (fragments included).
func selectedAt(ctx context.Context, path ...string) map[string]bool {
	oc := graphql.GetOperationContext(ctx)
	fields := graphql.CollectFieldsCtx(ctx, nil)
	for _, name := range path {
		var next []graphql.CollectedField
		for _, f := range fields {
			if f.Name == name {
				next = append(next, graphql.CollectFields(oc, f.Selections, nil)...)
			}
		}
		fields = next
	}
	out := make(map[string]bool, len(fields))
	for _, f := range fields {
		out[f.Name] = true
	}
	return out
}

// domainBasis is a Basis argument in the domain's terms; nil leaves the
// choice to the engine's default.
func domainBasis(b *model.Basis) *indicator.Basis {
	if b == nil {
		return nil
	}
	x := indicator.BasisPoint
	switch *b {
	case model.BasisPerYear:
		x = indicator.BasisPerYear
	case model.BasisCumulative:
		x = indicator.BasisCumulative
	}
	return &x
}

// apiBasis is a basis as the schema's enum.
func apiBasis(b indicator.Basis) model.Basis {
	switch b {
	case indicator.BasisPerYear:
		return model.BasisPerYear
	case indicator.BasisCumulative:
		return model.BasisCumulative
	}
	return model.BasisPoint
}
