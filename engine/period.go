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
