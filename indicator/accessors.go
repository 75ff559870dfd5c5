package indicator

import (
	"time"
)

// Accessors the GraphQL layer binds fields to. Plain methods are resolved
// inline, without the goroutine a resolver function costs per field per
// row, which matters for tables of thousands of rows.

// PeriodLabel, PeriodStart and PeriodEnd flatten the period.
func (o *Observation) PeriodLabel() string    { return o.Period.Label }
func (o *Observation) PeriodStart() time.Time { return o.Period.Start }
func (o *Observation) PeriodEnd() time.Time   { return o.Period.End }

// QualifierOrNil, MethodologyOrNil, RawOrNil and NoteOrNil are nil when empty.
func (o *Observation) QualifierOrNil() *string   { return optional(o.Qualifier) }
func (o *Observation) MethodologyOrNil() *string { return optional(o.Methodology) }
func (o *Observation) RawOrNil() *string         { return optional(o.Raw) }
func (o *Observation) NoteOrNil() *string        { return optional(o.Note) }

// LineOrNil is nil when the line is unknown.
func (o *Observation) LineOrNil() *int {
	if o.Line <= 0 {
		return nil
	}
	l := o.Line
	return &l
}

// Self is the observation itself (its provenance view).
func (o *Observation) Self() *Observation { return o }

// ValueOrNil and PeriodOrNil are nil for a row without a value.
func (r *CompareRow) ValueOrNil() *float64 {
	if r.Obs == nil {
		if r.Carried != nil {
			return &r.Carried.Value
		}
		return nil
	}
	return &r.Obs.Value
}

func (r *CompareRow) PeriodOrNil() *Period {
	if r.Obs == nil {
		if r.Carried != nil {
			return &r.Carried.Period
		}
		return nil
	}
	return &r.Obs.Period
}

// RankOrNil, RankTiesOrNil, RankInParentOrNil and ParentTiesOrNil are nil
// for a row that is not ranked.
func (r *CompareRow) RankOrNil() *int         { return positive(r.Rank) }
func (r *CompareRow) RankTiesOrNil() *int     { return positive(r.RankTies) }
func (r *CompareRow) RankInParentOrNil() *int { return positive(r.RankInParent) }
func (r *CompareRow) ParentTiesOrNil() *int   { return positive(r.ParentTies) }

// Period and Value flatten a trend point's observation.
func (p *TrendPoint) Period() *Period { return &p.Obs.Period }
func (p *TrendPoint) Value() float64  { return p.Obs.Value }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func positive(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

// ValueReasonOrNil is ValueReason, nil when empty.
func (r *RollupRow) ValueReasonOrNil() *string { return optional(r.ValueReason) }

// CarriedFrom and Shares say how a value in another tree was carried
// (empty and false for the unit's own); ValueReasonOrNil is nil when no
// reason is given.
func (r *CompareRow) CarriedFrom() []string { return r.Carried.from() }
func (r *CompareRow) Shares() bool          { return r.Carried != nil && r.Carried.Shares }
func (r *CompareRow) ValueReasonOrNil() *string {
	return optional(r.ValueReason)
}
func (v *TreeValue) CarriedFrom() []string { return v.Carried.from() }
func (v *TreeValue) Shares() bool          { return v.Carried != nil && v.Carried.Shares }
func (v *TreeValue) ValueReasonOrNil() *string {
	return optional(v.ValueReason)
}

func (c *CarriedFigure) from() []string {
	if c == nil || c.From == nil {
		return []string{}
	}
	return c.From
}
