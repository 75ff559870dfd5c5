package indicator

import (
	"fmt"
	"sort"
	"strconv"
	"time"
)

// PeriodKind says what a period label denotes.
type PeriodKind string

const (
	PeriodYear       PeriodKind = "YEAR"        // 2020
	PeriodRange      PeriodKind = "RANGE"       // 2016-2020: a plan period, cumulative total or yearly average
	PeriodSchoolYear PeriodKind = "SCHOOL_YEAR" // SY2023-2024
	PeriodDate       PeriodKind = "DATE"        // 2024-05-27
	PeriodMonth      PeriodKind = "MONTH"       // 2024-06
	PeriodHalf       PeriodKind = "HALF_YEAR"   // 2024H1
	PeriodQuarter    PeriodKind = "QUARTER"     // 2024Q3
)

// Period is a labelled time span with inclusive start and end dates, so
// that ranges, school years and years compare on one axis.
type Period struct {
	Label string
	Kind  PeriodKind
	Start time.Time // first day, UTC midnight
	End   time.Time // last day, UTC midnight
}

// Years is the period's length in years, counting a year as 365.25 days
// and the span inclusively (a single year is about 1, 2016-2020 about 5).
func (p Period) Years() float64 {
	return float64(days(p.Start, p.End)+1) / 365.25
}

// Mid is the midpoint of the period, used to place it on a time axis.
func (p Period) Mid() time.Time {
	return p.Start.AddDate(0, 0, int(days(p.Start, p.End)/2))
}

// days between two UTC midnights, exact for any span (time.Time.Sub
// saturates at about 292 years).
func days(a, b time.Time) int64 { return (b.Unix() - a.Unix()) / 86400 }

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

const minYear, maxYear = 1000, 2999

// ParsePeriod parses a period label: 2020, 2016-2020, SY2023-2024,
// 2024-05-27, 2024-06, 2024H1 or 2024Q3. School years run from 1 September
// to 31 August.
func ParsePeriod(s string) (Period, error) {
	bad := func(why string) (Period, error) {
		return Period{}, fmt.Errorf("period %s: %s (expected a period like 2020, 2016-2020, SY2023-2024, 2024-05-27, 2024-06, 2024H1 or 2024Q3): %w", quoteLabel(s), why, ErrInvalid)
	}
	year := func(t string) (int, bool) {
		if len(t) != 4 {
			return 0, false
		}
		y, err := strconv.Atoi(t)
		return y, err == nil && y >= minYear && y <= maxYear && t[0] != '+' && t[0] != '-'
	}
	p := Period{Label: s}
	switch {
	case len(s) == 4:
		y, ok := year(s)
		if !ok {
			return bad("not a year")
		}
		p.Kind, p.Start, p.End = PeriodYear, date(y, 1, 1), date(y, 12, 31)
	case len(s) == 9 && s[4] == '-':
		a, ok1 := year(s[:4])
		b, ok2 := year(s[5:])
		if !ok1 || !ok2 {
			return bad("not a year range")
		}
		if b <= a {
			return bad("range must end after it starts")
		}
		p.Kind, p.Start, p.End = PeriodRange, date(a, 1, 1), date(b, 12, 31)
	case len(s) == 11 && s[:2] == "SY" && s[6] == '-':
		a, ok1 := year(s[2:6])
		b, ok2 := year(s[7:])
		if !ok1 || !ok2 || b != a+1 {
			return bad("school year must span two consecutive years")
		}
		p.Kind, p.Start, p.End = PeriodSchoolYear, date(a, 9, 1), date(b, 8, 31)
	case len(s) == 10 && s[4] == '-' && s[7] == '-':
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return bad("not a calendar date")
		}
		if _, ok := year(s[:4]); !ok {
			return bad("year out of range")
		}
		p.Kind, p.Start, p.End = PeriodDate, t, t
	case len(s) == 7 && s[4] == '-':
		t, err := time.Parse("2006-01", s)
		if err != nil {
			return bad("not a month")
		}
		if _, ok := year(s[:4]); !ok {
			return bad("year out of range")
		}
		p.Kind, p.Start, p.End = PeriodMonth, t, t.AddDate(0, 1, -1)
	case len(s) == 6 && (s[4] == 'H' || s[4] == 'Q'):
		y, ok := year(s[:4])
		n := int(s[5] - '0')
		if !ok {
			return bad("not a year")
		}
		if s[4] == 'H' {
			if n < 1 || n > 2 {
				return bad("half must be H1 or H2")
			}
			p.Kind, p.Start = PeriodHalf, date(y, time.Month(6*(n-1)+1), 1)
			p.End = p.Start.AddDate(0, 6, -1)
		} else {
			if n < 1 || n > 4 {
				return bad("quarter must be Q1..Q4")
			}
			p.Kind, p.Start = PeriodQuarter, date(y, time.Month(3*(n-1)+1), 1)
			p.End = p.Start.AddDate(0, 3, -1)
		}
	default:
		return bad("unknown form")
	}
	return p, nil
}

// quoteLabel quotes a label for an error message, at most its first 32
// bytes (a period label has at most 11), so a huge argument is not
// echoed whole.
func quoteLabel(s string) string {
	const max = 32
	if len(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:max]) + fmt.Sprintf("… (%d bytes)", len(s))
}

// Before orders periods in time: by start, then end, then label.
func (p Period) Before(q Period) bool {
	switch {
	case !p.Start.Equal(q.Start):
		return p.Start.Before(q.Start)
	case !p.End.Equal(q.End):
		return p.End.Before(q.End)
	}
	return p.Label < q.Label
}

// SortPeriods orders periods in time (see Period.Before).
func SortPeriods(ps []Period) {
	sort.Slice(ps, func(i, j int) bool { return ps[i].Before(ps[j]) })
}
