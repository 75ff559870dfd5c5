package indicator

import "time"

// Day truncates t to its calendar day (UTC), the precision of validity
// dates.
func Day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// TreeDay is the day on which the units below u (its children, or its
// descendants at a level) are listed when a request names no day:
// today, moved into u's own lifetime (a unit that has ended lists what
// was below it on its last day); and when none of below (every unit
// below u at the level asked, whatever its validity) is valid on that
// day, the last day before it on which some were (a province's districts
// after the 2025 reform are those of 2025-06-30), else the first day
// after it on which some are. Districts asked of Lai Châu today are its
// 8 districts of 2025-06-30; its communes asked today are the 38 of
// 2025-07-01.
func TreeDay(u Unit, below []Unit, today time.Time) time.Time {
	d := Day(today)
	if u.ValidTo != nil && u.ValidTo.Before(d) {
		d = *u.ValidTo
	}
	if u.ValidFrom != nil && u.ValidFrom.After(d) {
		d = *u.ValidFrom
	}
	var last, first *time.Time
	for i := range below {
		b := &below[i]
		if b.ValidAt(d) {
			return d
		}
		if b.ValidTo != nil && b.ValidTo.Before(d) && (last == nil || b.ValidTo.After(*last)) {
			last = b.ValidTo
		}
		if b.ValidFrom != nil && b.ValidFrom.After(d) && (first == nil || b.ValidFrom.Before(*first)) {
			first = b.ValidFrom
		}
	}
	switch {
	case last != nil:
		return *last
	case first != nil:
		return *first
	}
	return d
}

// ValidOn keeps the units valid on day d, in order.
func ValidOn(units []Unit, d time.Time) []Unit {
	out := make([]Unit, 0, len(units))
	for _, u := range units {
		if u.ValidAt(d) {
			out = append(out, u)
		}
	}
	return out
}
