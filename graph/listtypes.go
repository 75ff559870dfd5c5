package graph

import (
	"context"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"chiso/graph/model"
	"chiso/indicator"
)

// listTypes are the object types ListWriter writes, each with the fields it
// writes itself. A field is listed only when its value comes from the row
// alone: a struct field or method, or a resolver that only maps the row's
// own value (kinds, levels, coverage). Fields that look anything up (an
// observation's unit or measure unit, a unit's children or latest value)
// are not listed, so selecting one leaves the list to gqlgen.
type listTypes struct {
	rollupRow   *objectType[indicator.RollupRow]
	coverage    *objectType[model.RollupCoverage]
	compareRow  *objectType[indicator.CompareRow]
	change      *objectType[indicator.Change]
	observation *objectType[indicator.Observation]
	unit        *objectType[indicator.Unit]
	period      *objectType[indicator.Period]
	matrixCell  *objectType[model.MatrixCell]
	obsEdge     *objectType[model.ObservationEdge]
	unitEdge    *objectType[model.UnitEdge]
}

func newListTypes(r *Resolver) *listTypes {
	t := &listTypes{}
	t.period = &objectType[indicator.Period]{name: "Period", implementors: periodImplementors, fields: map[string]field[indicator.Period]{
		"label": leaf(func(p *indicator.Period) string { return p.Label }, putString),
		"kind": resolvedLeaf(func(ctx context.Context, p *indicator.Period) (model.PeriodKind, error) {
			return r.Period().Kind(ctx, p)
		}, putEnum[model.PeriodKind]()),
		"start": leaf(func(p *indicator.Period) time.Time { return p.Start }, putDate),
		"end":   leaf(func(p *indicator.Period) time.Time { return p.End }, putDate),
	}}
	t.unit = &objectType[indicator.Unit]{name: "Unit", implementors: unitImplementors, fields: map[string]field[indicator.Unit]{
		"id":        leaf((*indicator.Unit).NodeID, putID),
		"code":      leaf(func(u *indicator.Unit) string { return u.Code }, putID),
		"nameVi":    leaf(func(u *indicator.Unit) string { return u.NameVI }, putString),
		"nameAscii": leaf(func(u *indicator.Unit) string { return u.NameASCII }, putString),
		"nameEn":    resolvedLeaf(func(ctx context.Context, u *indicator.Unit) (*string, error) { return r.Unit().NameEn(ctx, u) }, orNull(putString)),
		"level":     resolvedLeaf(func(ctx context.Context, u *indicator.Unit) (model.Level, error) { return r.Unit().Level(ctx, u) }, putEnum[model.Level]()),
		"validFrom": leaf(func(u *indicator.Unit) *time.Time { return u.ValidFrom }, orNull(putDate)),
		"validTo":   leaf(func(u *indicator.Unit) *time.Time { return u.ValidTo }, orNull(putDate)),
	}}
	t.observation = &objectType[indicator.Observation]{name: "Observation", implementors: observationImplementors, fields: map[string]field[indicator.Observation]{
		"id":            leaf((*indicator.Observation).NodeID, putID),
		"unitCode":      leaf(func(o *indicator.Observation) string { return o.Unit }, putID),
		"indicatorCode": leaf(func(o *indicator.Observation) string { return o.Indicator }, putID),
		"period":        object(func(o *indicator.Observation) *indicator.Period { return &o.Period }, true, func() *objectType[indicator.Period] { return t.period }),
		"periodLabel":   leaf((*indicator.Observation).PeriodLabel, putString),
		"periodStart":   leaf((*indicator.Observation).PeriodStart, putDate),
		"periodEnd":     leaf((*indicator.Observation).PeriodEnd, putDate),
		"kind": resolvedLeaf(func(ctx context.Context, o *indicator.Observation) (model.ObservationKind, error) {
			return r.Observation().Kind(ctx, o)
		}, putEnum[model.ObservationKind]()),
		"value":       leaf(func(o *indicator.Observation) float64 { return o.Value }, putFloat),
		"denominator": leaf(func(o *indicator.Observation) *float64 { return o.Denominator }, orNull(putFloat)),
		"qualifier":   leaf((*indicator.Observation).QualifierOrNil, orNull(putString)),
		"flags":       leaf(func(o *indicator.Observation) []string { return o.Flags }, putStrings),
		"methodology": leaf((*indicator.Observation).MethodologyOrNil, orNull(putString)),
		"canonical":   leaf(func(o *indicator.Observation) bool { return o.Canonical }, putBool),
	}}
	t.change = &objectType[indicator.Change]{name: "Change", implementors: changeImplementors, fields: map[string]field[indicator.Change]{
		"from":         object(func(c *indicator.Change) *indicator.Observation { return &c.From }, true, func() *objectType[indicator.Observation] { return t.observation }),
		"to":           object(func(c *indicator.Change) *indicator.Observation { return &c.To }, true, func() *objectType[indicator.Observation] { return t.observation }),
		"absolute":     leaf(func(c *indicator.Change) float64 { return c.Absolute }, putFloat),
		"relative":     leaf(func(c *indicator.Change) *float64 { return c.Relative }, orNull(putFloat)),
		"years":        leaf(func(c *indicator.Change) float64 { return c.Years }, putFloat),
		"cagr":         leaf(func(c *indicator.Change) *float64 { return c.CAGR }, orNull(putFloat)),
		"crossesBreak": leaf(func(c *indicator.Change) bool { return c.CrossesBreak }, putBool),
		"warnings":     leaf(func(c *indicator.Change) []string { return c.Warnings }, putStrings),
	}}
	unitOf := func() *objectType[indicator.Unit] { return t.unit }
	obsOf := func() *objectType[indicator.Observation] { return t.observation }
	periodOf := func() *objectType[indicator.Period] { return t.period }
	t.compareRow = &objectType[indicator.CompareRow]{name: "ComparisonRow", implementors: comparisonRowImplementors, fields: map[string]field[indicator.CompareRow]{
		"unit":        object(func(c *indicator.CompareRow) *indicator.Unit { return c.UnitInfo }, true, unitOf),
		"value":       leaf((*indicator.CompareRow).ValueOrNil, orNull(putFloat)),
		"period":      object((*indicator.CompareRow).PeriodOrNil, false, periodOf),
		"observation": object(func(c *indicator.CompareRow) *indicator.Observation { return c.Obs }, false, obsOf),
		"missing": resolvedLeaf(func(ctx context.Context, c *indicator.CompareRow) (*model.MissingReason, error) {
			return r.ComparisonRow().Missing(ctx, c)
		}, orNull(putEnum[model.MissingReason]())),
		"alternatives":   leaf(func(c *indicator.CompareRow) int { return c.Alternatives }, putInt),
		"rank":           leaf((*indicator.CompareRow).RankOrNil, orNull(putInt)),
		"rankTies":       leaf((*indicator.CompareRow).RankTiesOrNil, orNull(putInt)),
		"rankInParent":   leaf((*indicator.CompareRow).RankInParentOrNil, orNull(putInt)),
		"rankInParentOf": leaf(func(c *indicator.CompareRow) int { return c.RankInParentOf }, putInt),
		"parentTies":     leaf((*indicator.CompareRow).ParentTiesOrNil, orNull(putInt)),
		"parent":         object(func(c *indicator.CompareRow) *indicator.Observation { return c.Parent }, false, obsOf),
		"shareOfParent":  leaf(func(c *indicator.CompareRow) *float64 { return c.ShareOfParent }, orNull(putFloat)),
		"diffFromParent": leaf(func(c *indicator.CompareRow) *float64 { return c.DiffFromParent }, orNull(putFloat)),
		"setMean":        leaf(func(c *indicator.CompareRow) *float64 { return c.SetMean }, orNull(putFloat)),
		"diffFromMean":   leaf(func(c *indicator.CompareRow) *float64 { return c.DiffFromMean }, orNull(putFloat)),
		"sinceEarliest":  object(func(c *indicator.CompareRow) *indicator.Change { return c.Earliest }, false, func() *objectType[indicator.Change] { return t.change }),
	}}
	t.coverage = &objectType[model.RollupCoverage]{name: "RollupCoverage", implementors: rollupCoverageImplementors, fields: map[string]field[model.RollupCoverage]{
		"expected":    leaf(func(c *model.RollupCoverage) int { return c.Expected }, putInt),
		"withData":    leaf(func(c *model.RollupCoverage) int { return c.WithData }, putInt),
		"share":       leaf(func(c *model.RollupCoverage) float64 { return c.Share }, putFloat),
		"weightShare": leaf(func(c *model.RollupCoverage) *float64 { return c.WeightShare }, orNull(putFloat)),
		"missing":     leaf(func(c *model.RollupCoverage) []string { return c.Missing }, putStrings),
	}}
	t.rollupRow = &objectType[indicator.RollupRow]{name: "RollupRow", implementors: rollupRowImplementors, fields: map[string]field[indicator.RollupRow]{
		"unit":   object(func(x *indicator.RollupRow) *indicator.Unit { return x.UnitInfo }, true, unitOf),
		"period": object(func(x *indicator.RollupRow) *indicator.Period { return &x.Period }, true, periodOf),
		"value":  leaf(func(x *indicator.RollupRow) *float64 { return x.Value }, orNull(putFloat)),
		"coverage": resolvedObject(func(ctx context.Context, x *indicator.RollupRow) (*model.RollupCoverage, error) {
			return r.RollupRow().Coverage(ctx, x)
		}, true, func() *objectType[model.RollupCoverage] { return t.coverage }),
		"reported":    object(func(x *indicator.RollupRow) *indicator.Observation { return x.Reported }, false, obsOf),
		"gap":         leaf(func(x *indicator.RollupRow) *float64 { return x.Gap }, orNull(putFloat)),
		"gapRelative": leaf(func(x *indicator.RollupRow) *float64 { return x.GapRelative }, orNull(putFloat)),
	}}
	t.matrixCell = &objectType[model.MatrixCell]{name: "MatrixCell", implementors: matrixCellImplementors, fields: map[string]field[model.MatrixCell]{
		"value":       leaf(func(c *model.MatrixCell) float64 { return c.Value }, putFloat),
		"observation": object(func(c *model.MatrixCell) *indicator.Observation { return c.Observation }, true, obsOf),
	}}
	t.obsEdge = &objectType[model.ObservationEdge]{name: "ObservationEdge", implementors: observationEdgeImplementors, fields: map[string]field[model.ObservationEdge]{
		"cursor": leaf(func(e *model.ObservationEdge) string { return e.Cursor }, putString),
		"node":   object(func(e *model.ObservationEdge) *indicator.Observation { return e.Node }, true, obsOf),
	}}
	t.unitEdge = &objectType[model.UnitEdge]{name: "UnitEdge", implementors: unitEdgeImplementors, fields: map[string]field[model.UnitEdge]{
		"cursor": leaf(func(e *model.UnitEdge) string { return e.Cursor }, putString),
		"node":   object(func(e *model.UnitEdge) *indicator.Unit { return e.Node }, true, unitOf),
	}}
	return t
}

// writtenType is an object type the list writer writes, as described to
// the test that holds it to the schema.
type writtenType struct {
	name         string
	implementors []string
	fields       map[string]*ast.Type
}

func describe[T any](o *objectType[T]) writtenType {
	return writtenType{o.name, o.implementors, o.fieldTypes()}
}

// written describes every object type the list writer writes.
func (t *listTypes) written() []writtenType {
	return []writtenType{describe(t.rollupRow), describe(t.coverage), describe(t.compareRow), describe(t.change), describe(t.observation),
		describe(t.unit), describe(t.period), describe(t.matrixCell), describe(t.obsEdge), describe(t.unitEdge)}
}
