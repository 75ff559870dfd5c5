package graph

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"chiso/graph/model"
	"chiso/indicator"
)

// FuzzPeriodArgument: any string given as a period argument (from, to,
// base, over, period, an element of periods, filter.periodFrom,
// filter.periodTo, period.label) either parses to a period whose label is
// the string, written the one way chiso writes it (so it parses again to
// the same period), spanning whole days forward within years 1000–2999,
// or is refused with an INVALID_ARGUMENT naming the argument (with its
// index in a list) and the forms expected, in a short printable message.
// Seeded from the adversarial suite's malformed periods, huge and
// negative numbers, NUL bytes, invalid UTF-8 and SQL-looking strings.
func FuzzPeriodArgument(f *testing.F) {
	for _, seed := range []string{
		"2020", "2016-2020", "SY2023-2024", "2024-05-27", "2024-06", "2024H1", "2024Q3", "2024-02-29",
		"", "20x0", "2023-2020", "2020-2020", "SY2023-2025", "2024Q5", "2024H0", "2024Q\xff", "2023-02-29",
		"2024-13-45", "2024-00", "0999", "3000", "-200", "+202", "+024-05-27", "2024-5-07", " 2020", "2020 ",
		"99999999999999999999", "-1", "1e308", "NaN", "２０２０",
		"\x00", "2020\x00", "\xff\xfe", "20\xff0",
		`'; DROP TABLE observations; --`, `read_csv('/etc/passwd')`, `') UNION SELECT * FROM read_csv('/etc/passwd') --`,
		strings.Repeat("2020", 1000),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, label string) {
		p, err := parsePeriod("from", &label)
		_, errList := parsePeriods("periods", []string{"2020", label})
		filter, errFilter := ObservationQuery(&model.ObservationFilter{PeriodTo: &label})
		if err != nil {
			refused(t, label, "from", err)
			refused(t, label, "periods[1]", errList)
			refused(t, label, "filter.periodTo", errFilter)
			return
		}
		if errList != nil || errFilter != nil {
			t.Fatalf("%q parses as from but not in periods (%v) or the filter (%v)", label, errList, errFilter)
		}
		if *filter.To != *p {
			t.Fatalf("%q: the filter reads %+v, from reads %+v", label, *filter.To, *p)
		}
		if p.Label != label {
			t.Fatalf("%q parses to label %q", label, p.Label)
		}
		if c, end := canonicalLabel(*p); c != label || !end.Equal(p.End) {
			t.Fatalf("%q is accepted as a %s ending %v, which chiso writes %q ending %v", label, p.Kind, p.End, c, end)
		}
		starts := map[indicator.PeriodKind][]time.Month{
			indicator.PeriodYear: {1}, indicator.PeriodRange: {1}, indicator.PeriodSchoolYear: {9},
			indicator.PeriodHalf: {1, 7}, indicator.PeriodQuarter: {1, 4, 7, 10},
		}
		if ms, ok := starts[p.Kind]; ok && (p.Start.Day() != 1 || !slices.Contains(ms, p.Start.Month())) {
			t.Fatalf("%q: a %s starting %v", label, p.Kind, p.Start)
		}
		again, err := indicator.ParsePeriod(p.Label)
		if err != nil || again != *p {
			t.Fatalf("%q does not parse again to itself: %+v, %v", label, again, err)
		}
		if p.End.Before(p.Start) || p.Start.Year() < 1000 || p.End.Year() > 2999 {
			t.Fatalf("%q spans %v to %v", label, p.Start, p.End)
		}
		for _, d := range []struct {
			h, m, s, ns int
			loc         string
		}{{p.Start.Hour(), p.Start.Minute(), p.Start.Second(), p.Start.Nanosecond(), p.Start.Location().String()}, {p.End.Hour(), p.End.Minute(), p.End.Second(), p.End.Nanosecond(), p.End.Location().String()}} {
			if d.h != 0 || d.m != 0 || d.s != 0 || d.ns != 0 || d.loc != "UTC" {
				t.Fatalf("%q does not span whole UTC days: %v to %v", label, p.Start, p.End)
			}
		}
		if y := p.Years(); !(y > 0 && y < 2000) {
			t.Fatalf("%q is %v years long", label, y)
		}
	})
}

// refused requires err to be an INVALID_ARGUMENT for argument arg
// quoting (the start of) label and listing the period forms expected.
func refused(t *testing.T, label, arg string, err error) {
	t.Helper()
	var ae *indicator.ArgError
	if !errors.As(err, &ae) || ae.Arg != arg || !errors.Is(err, indicator.ErrInvalid) {
		t.Fatalf("%q as %s: want an invalid-argument error naming %s, got %T %v", label, arg, arg, err, err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "argument "+arg+": period ") || !strings.Contains(msg, "(expected a period like 2020, 2016-2020, SY2023-2024") {
		t.Fatalf("%q: message does not name the argument and the forms expected: %s", label, msg)
	}
	quoted := label
	if len(quoted) > 32 {
		quoted = quoted[:32]
	}
	if !strings.Contains(msg, strings.TrimSuffix(strconv.Quote(quoted), `"`)) {
		t.Fatalf("%q: message does not quote the label: %s", label, msg)
	}
	if !utf8.ValidString(msg) || strings.ContainsRune(msg, 0) || len(msg) > 400 {
		t.Fatalf("%q: message not short printable UTF-8 (%d bytes): %q", label, len(msg), msg)
	}
}

// canonicalLabel writes a period's label from its kind and first day,
// the way the period forms are documented, and gives the last day the
// form implies.
func canonicalLabel(p indicator.Period) (string, time.Time) {
	s, e := p.Start, p.End
	switch p.Kind {
	case indicator.PeriodYear:
		return fmt.Sprintf("%04d", s.Year()), s.AddDate(1, 0, -1)
	case indicator.PeriodRange:
		return fmt.Sprintf("%04d-%04d", s.Year(), e.Year()), time.Date(e.Year(), 12, 31, 0, 0, 0, 0, time.UTC)
	case indicator.PeriodSchoolYear:
		if s.Month() != time.September || s.Day() != 1 {
			return "a school year from " + s.String(), e
		}
		return fmt.Sprintf("SY%04d-%04d", s.Year(), e.Year()), s.AddDate(1, 0, -1)
	case indicator.PeriodDate:
		return s.Format("2006-01-02"), s
	case indicator.PeriodMonth:
		return s.Format("2006-01"), s.AddDate(0, 1, -1)
	case indicator.PeriodHalf:
		return fmt.Sprintf("%04dH%d", s.Year(), (int(s.Month())-1)/6+1), s.AddDate(0, 6, -1)
	case indicator.PeriodQuarter:
		return fmt.Sprintf("%04dQ%d", s.Year(), (int(s.Month())-1)/3+1), s.AddDate(0, 3, -1)
	}
	return "unknown kind " + string(p.Kind), e
}
