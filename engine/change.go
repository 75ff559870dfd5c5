package engine

import (
	"math"
	"strings"

	"chiso/indicator"
)

// clean rounds a computed value to 10 decimal places: binary floating
// point leaves noise such as 22.43 − 25.64 = −3.2100000000000009, while
// source figures carry at most four decimals.
func clean(x float64) float64 { return math.Round(x*1e10) / 1e10 }

// num is a computed nullable value: nil when null is set or the value is
// NaN or infinite, else cleaned.
func num(x float64, null bool) *float64 {
	if null || math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	x = clean(x)
	return &x
}

// relChange is (to − from) / |from|; nil when from is 0.
func relChange(from, to float64) *float64 { return num((to-from)/math.Abs(from), from == 0) }

// cagr is compound annual growth over years; nil unless both values are
// positive and time passed.
func cagr(from, to, years float64) *float64 {
	return num(math.Pow(to/from, 1/years)-1, !(from > 0 && to > 0 && years > 0))
}

// crossesBreak: a change from a to b crosses a methodology break when
// both name different methodologies, or b is flagged break.
func crossesBreak(a *Row, b *Row) bool {
	broke := a != nil && a.Methodology != "" && b.Methodology != "" && a.Methodology != b.Methodology
	return broke || hasFlag(b.Flags, "break")
}

func hasFlag(flags, f string) bool { return strings.Contains(";"+flags+";", ";"+f+";") }

func isRange(r *Row) bool { return r.Period.Kind == indicator.PeriodRange }

// changeOf is the change from row a to row b; From and To carry only
// their ids until the observations are filled in.
func changeOf(a, b *Row) *indicator.Change {
	years := b.Pos - a.Pos
	ch := &indicator.Change{
		From: indicator.Observation{ID: a.ID}, To: indicator.Observation{ID: b.ID},
		Absolute: clean(b.Value - a.Value), Relative: relChange(a.Value, b.Value),
		Years: clean(years), CAGR: cagr(a.Value, b.Value, years), CrossesBreak: crossesBreak(a, b),
	}
	if isRange(a) != isRange(b) {
		ch.Warnings = append(ch.Warnings, "RANGE_VS_POINT")
	}
	return ch
}

// fillChange replaces a change's id-only ends with their observations
// (an end not in obs keeps only its id).
func fillChange(c *indicator.Change, obs map[int64]indicator.Observation) {
	if c == nil {
		return
	}
	if o, ok := obs[c.From.ID]; ok {
		c.From = o
	}
	if o, ok := obs[c.To.ID]; ok {
		c.To = o
	}
}
