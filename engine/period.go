package engine

import "chiso/indicator"

// laterPeriod orders COMMON's candidates: the later end, then the later
// start, then the lower label.
func laterPeriod(a, b *indicator.Period) bool {
	switch {
	case !a.End.Equal(b.End):
		return a.End.After(b.End)
	case !a.Start.Equal(b.Start):
		return a.Start.After(b.Start)
	}
	return a.Label < b.Label
}

// periodBefore orders periods in time (indicator.Period.Before).
func periodBefore(a, b *indicator.Period) bool { return a.Before(*b) }

// latest is the latest of rows (given in stored order), by later; nil
// when rows is empty. It is the one rule for "the latest value".
func latest(rows []*Row) *Row {
	var best *Row
	for _, r := range rows {
		if best == nil || later(r, best) {
			best = r
		}
	}
	return best
}

// later reports whether r, read after best, replaces it as the latest:
// the later period end, then the later start, then the first basis of
// indicator.Bases; of equals, the first read (the lowest id) stays.
func later(r, best *Row) bool {
	switch {
	case !r.Period.End.Equal(best.Period.End):
		return r.Period.End.After(best.Period.End)
	case !r.Period.Start.Equal(best.Period.Start):
		return r.Period.Start.After(best.Period.Start)
	}
	return basisRank(r.Basis) < basisRank(best.Basis)
}

// periodMemo keeps one answer per period, by Row.PeriodNo, for rules that
// would otherwise look each row's period up by label.
type periodMemo[T any] struct {
	known []bool
	val   []T
}

// lookup returns the answer kept for r's period, if any.
func (m *periodMemo[T]) lookup(r *Row) (T, bool) {
	if n := int(r.PeriodNo); n >= 0 && n < len(m.known) && m.known[n] {
		return m.val[n], true
	}
	var zero T
	return zero, false
}

// put keeps v as the answer for r's period and returns it.
func (m *periodMemo[T]) put(r *Row, v T) T {
	n := int(r.PeriodNo)
	if n < 0 {
		return v
	}
	if n >= len(m.known) {
		m.known = append(m.known, make([]bool, n+1-len(m.known))...)
		m.val = append(m.val, make([]T, n+1-len(m.val))...)
	}
	m.known[n], m.val[n] = true, v
	return v
}
