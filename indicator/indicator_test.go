package indicator_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"chiso/indicator"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestParsePeriod(t *testing.T) {
	for _, tc := range []struct {
		in         string
		kind       indicator.PeriodKind
		start, end time.Time
	}{
		{"2020", indicator.PeriodYear, day(2020, 1, 1), day(2020, 12, 31)},
		{"1000", indicator.PeriodYear, day(1000, 1, 1), day(1000, 12, 31)},
		{"2999", indicator.PeriodYear, day(2999, 1, 1), day(2999, 12, 31)},
		{"2016-2020", indicator.PeriodRange, day(2016, 1, 1), day(2020, 12, 31)},
		{"2021-2025", indicator.PeriodRange, day(2021, 1, 1), day(2025, 12, 31)},
		{"2023-2024", indicator.PeriodRange, day(2023, 1, 1), day(2024, 12, 31)},
		{"SY2023-2024", indicator.PeriodSchoolYear, day(2023, 9, 1), day(2024, 8, 31)},
		{"SY1999-2000", indicator.PeriodSchoolYear, day(1999, 9, 1), day(2000, 8, 31)},
		{"2024-05-27", indicator.PeriodDate, day(2024, 5, 27), day(2024, 5, 27)},
		{"2024-02-29", indicator.PeriodDate, day(2024, 2, 29), day(2024, 2, 29)},
		{"2024-06", indicator.PeriodMonth, day(2024, 6, 1), day(2024, 6, 30)},
		{"2024-02", indicator.PeriodMonth, day(2024, 2, 1), day(2024, 2, 29)},
		{"2023-02", indicator.PeriodMonth, day(2023, 2, 1), day(2023, 2, 28)},
		{"2024-12", indicator.PeriodMonth, day(2024, 12, 1), day(2024, 12, 31)},
		{"2024H1", indicator.PeriodHalf, day(2024, 1, 1), day(2024, 6, 30)},
		{"2024H2", indicator.PeriodHalf, day(2024, 7, 1), day(2024, 12, 31)},
		{"2024Q1", indicator.PeriodQuarter, day(2024, 1, 1), day(2024, 3, 31)},
		{"2024Q2", indicator.PeriodQuarter, day(2024, 4, 1), day(2024, 6, 30)},
		{"2024Q3", indicator.PeriodQuarter, day(2024, 7, 1), day(2024, 9, 30)},
		{"2024Q4", indicator.PeriodQuarter, day(2024, 10, 1), day(2024, 12, 31)},
	} {
		t.Run(tc.in, func(t *testing.T) {
			p, err := indicator.ParsePeriod(tc.in)
			require.NoError(t, err)
			require.Equal(t, indicator.Period{Label: tc.in, Kind: tc.kind, Start: tc.start, End: tc.end}, p)
			require.Equal(t, time.UTC, p.Start.Location())
			require.Equal(t, time.UTC, p.End.Location())
			require.False(t, p.End.Before(p.Start))
		})
	}
}

func TestParsePeriodInvalid(t *testing.T) {
	for _, tc := range []struct {
		in, why string
	}{
		{"", "unknown form"},
		{"20x1", "not a year"},
		{"999", "unknown form"},
		{"0999", "not a year"},
		{"3000", "not a year"},
		{"+202", "not a year"},
		{"-202", "not a year"},
		{" 2020", "unknown form"},
		{"2020 ", "unknown form"},
		{"20200", "unknown form"},
		{"2016-2015", "range must end after it starts"},
		{"2020-2020", "range must end after it starts"},
		{"2016-20x0", "not a year range"},
		{"SY2023-2025", "school year must span two consecutive years"},
		{"SY2024-2023", "school year must span two consecutive years"},
		{"SY2023-2023", "school year must span two consecutive years"},
		{"sy2023-2024", "unknown form"},
		{"2024-13", "not a month"},
		{"2024-00", "not a month"},
		{"2024-13-01", "not a calendar date"},
		{"2023-02-29", "not a calendar date"},
		{"2024-04-31", "not a calendar date"},
		{"0999-01-01", "year out of range"},
		{"0999-01", "year out of range"},
		{"2024H3", "half must be H1 or H2"},
		{"2024H0", "half must be H1 or H2"},
		{"2024Hx", "half must be H1 or H2"},
		{"2024Q5", "quarter must be Q1..Q4"},
		{"2024Q0", "quarter must be Q1..Q4"},
		{"20x4Q1", "not a year"},
		{"2024h1", "unknown form"},
		{"2024/2025", "unknown form"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			p, err := indicator.ParsePeriod(tc.in)
			require.Error(t, err)
			require.ErrorIs(t, err, indicator.ErrInvalid)
			require.Equal(t, indicator.CodeInvalidArgument, indicator.CodeOf(err))
			require.Zero(t, p)
			require.Contains(t, err.Error(), fmt.Sprintf("period %q: %s (expected a period like", tc.in, tc.why))
		})
	}
}

func TestPeriodYears(t *testing.T) {
	for _, tc := range []struct {
		in    string
		years float64
	}{
		{"2021", 1},
		{"2020", 1}, // a leap year is a day longer than 365.25
		{"2016-2020", 5},
		{"2021-2025", 5},
		{"SY2023-2024", 1},
		{"2024H1", 0.5},
		{"2024Q3", 0.25},
		{"2024-06", 30.0 / 365.25},
		{"2024-05-27", 1 / 365.25},
	} {
		t.Run(tc.in, func(t *testing.T) {
			p, err := indicator.ParsePeriod(tc.in)
			require.NoError(t, err)
			require.InDelta(t, tc.years, p.Years(), 0.01)
		})
	}
	// Exact values: the span is counted inclusively in days.
	p, err := indicator.ParsePeriod("2021")
	require.NoError(t, err)
	require.InDelta(t, 365/365.25, p.Years(), 1e-12)
	p, err = indicator.ParsePeriod("2024-05-27")
	require.NoError(t, err)
	require.InDelta(t, 1/365.25, p.Years(), 1e-12)
	require.Equal(t, day(2024, 5, 27), p.Mid())

	p, err = indicator.ParsePeriod("2016-2020")
	require.NoError(t, err)
	require.Equal(t, day(2018, 7, 2), p.Mid())
}

// TestPeriodYearsLongRange covers ranges longer than time.Duration can
// hold (about 292 years): ParsePeriod accepts years 1000..2999.
func TestPeriodYearsLongRange(t *testing.T) {
	p, err := indicator.ParsePeriod("1500-2000")
	require.NoError(t, err)
	require.InDelta(t, 501, p.Years(), 0.01)
	require.Equal(t, 1750, p.Mid().Year())
}

func TestParseFigure(t *testing.T) {
	for _, tc := range []struct {
		raw        string
		dotDecimal bool
		value      float64
		den        float64
		hasDen     bool
	}{
		{raw: "452.456", value: 452456},
		{raw: "37,93%", value: 37.93},
		{raw: "1.029,31km²", value: 1029.31},
		{raw: "1.029,31 km²", value: 1029.31},
		{raw: "784/1610", value: 784, den: 1610, hasDen: true},
		{raw: "784 / 1.610 hộ", value: 784, den: 1610, hasDen: true},
		{raw: "02", value: 2},
		{raw: "03 cơ sở", value: 3},
		{raw: "57.295 triệu đồng", value: 57295},
		{raw: "85.327 người", value: 85327},
		{raw: "1.000.000", value: 1000000},
		{raw: "97,229km", value: 97.229},
		{raw: "0,5", value: 0.5},
		{raw: "4 đến 6 triệu đồng", value: 4}, // the second number is not a denominator
		{raw: "giảm 1.200 hộ", value: 1200},   // words and signs are ignored
		{raw: "-3%", value: 3},
		{raw: "12.", value: 12},   // a trailing '.' is punctuation
		{raw: "1,5.", value: 1.5}, // likewise after a decimal
		{raw: "7.5%", dotDecimal: true, value: 7.5},
		{raw: "1,234.5", dotDecimal: true, value: 1234.5},
		{raw: "452.456", dotDecimal: true, value: 452.456},
		{raw: "3/4", dotDecimal: true, value: 3, den: 4, hasDen: true},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			f, err := indicator.ParseFigure(tc.raw, tc.dotDecimal)
			require.NoError(t, err)
			require.InDelta(t, tc.value, f.Value, 1e-9)
			require.Equal(t, tc.hasDen, f.HasDenominator)
			require.InDelta(t, tc.den, f.Denominator, 1e-9)
		})
	}
}

func TestParseFigureInvalid(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want string
	}{
		{"1.23", `figure "1.23": "1.23": '.' separates thousands and must be followed by three digits`},
		{"1.2345", `'.' separates thousands`},
		{"12.34,5%", `'.' separates thousands`},
		{"1,2,3", `more than one decimal comma`},
		{"784/1.61", `figure "784/1.61": "1.61": '.' separates thousands`},
		{"không có số", `figure "không có số": no number`},
		{"", `no number`},
		{"%", `no number`},
		{".,/", `no number`},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			f, err := indicator.ParseFigure(tc.raw, false)
			require.Error(t, err)
			require.ErrorIs(t, err, indicator.ErrInvalid)
			require.Contains(t, err.Error(), tc.want)
			require.Zero(t, f)
		})
	}
	// A number too long for a float64 is refused, not turned into +Inf.
	_, err := indicator.ParseFigure(strings.Repeat("9", 400), false)
	require.ErrorIs(t, err, indicator.ErrInvalid)
}

func TestFold(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Phong Thổ", "phong tho"},
		{"HỘ NGHÈO", "ho ngheo"},
		{"hộ nghèo", "ho ngheo"},
		{"Đường", "duong"},
		{"đường", "duong"},
		{"Mường Tè", "muong te"},
		{"Sìn Hồ", "sin ho"},
		{"Nậm Nhùn", "nam nhun"},
		{"Tỷ lệ hộ nghèo", "ty le ho ngheo"},
		{"Thành phố Lai Châu", "thanh pho lai chau"},
		{"ẮẰẲẴẶ ẤẦẨẪẬ ƠỚỜỞỠỢ ƯỨỪỬỮỰ ỲÝỶỸỴ", "aaaaa aaaaa oooooo uuuuuu yyyyy"},
		// Decomposed input: base letters followed by combining marks.
		{"Pho\u0302\u0309ng", "phong"},
		{"Tho\u0302\u0309", "tho"},
		{"Mu\u031bo\u031b\u0300ng", "muong"},
		{"HO\u0302\u0323 NGHE\u0300O", "ho ngheo"},
		{"\u0110u\u031bo\u031b\u0300ng", "duong"},
		// White space collapses and is trimmed.
		{"  Phong   Thổ  ", "phong tho"},
		{"Phong\tThổ\r\nLai  Châu", "phong tho lai chau"},
		{"   ", ""},
		{"", ""},
		// ASCII passes through lower-cased.
		{"vn.lai-chau.PHONG-THO 2024", "vn.lai-chau.phong-tho 2024"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			require.Equal(t, tc.want, indicator.Fold(tc.in))
			// Folding is idempotent.
			require.Equal(t, tc.want, indicator.Fold(indicator.Fold(tc.in)))
		})
	}
}

func TestParseRule(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want indicator.Rule
		str  string
		refs []string
	}{
		{"SUM", indicator.Rule{Kind: indicator.RuleSum}, "SUM", nil},
		{"MEAN", indicator.Rule{Kind: indicator.RuleMean}, "MEAN", nil},
		{"LAST", indicator.Rule{Kind: indicator.RuleLast}, "LAST", nil},
		{"NONE", indicator.Rule{Kind: indicator.RuleNone}, "NONE", nil},
		{"  SUM\t", indicator.Rule{Kind: indicator.RuleSum}, "SUM", nil},
		{"WEIGHTED_MEAN(population)", indicator.Rule{Kind: indicator.RuleWeightedMean, Weight: "population"}, "WEIGHTED_MEAN(population)", []string{"population"}},
		{"WEIGHTED_MEAN( population )", indicator.Rule{Kind: indicator.RuleWeightedMean, Weight: "population"}, "WEIGHTED_MEAN(population)", []string{"population"}},
		{"RATIO(households_poor,households_total)", indicator.Rule{Kind: indicator.RuleRatio, Numerator: "households_poor", Denominator: "households_total"},
			"RATIO(households_poor,households_total)", []string{"households_poor", "households_total"}},
		{"RATIO( a , b )", indicator.Rule{Kind: indicator.RuleRatio, Numerator: "a", Denominator: "b"}, "RATIO(a,b)", []string{"a", "b"}},
		{" RATIO(a, b) ", indicator.Rule{Kind: indicator.RuleRatio, Numerator: "a", Denominator: "b"}, "RATIO(a,b)", []string{"a", "b"}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			r, err := indicator.ParseRule(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, r)
			require.Equal(t, tc.str, r.String())
			require.Equal(t, tc.refs, r.References())
			// String round-trips.
			again, err := indicator.ParseRule(r.String())
			require.NoError(t, err)
			require.Equal(t, r, again)
		})
	}
}

func TestParseRuleInvalid(t *testing.T) {
	for _, in := range []string{
		"", "sum", "Sum", "MAX", "MEDIAN",
		"SUM()", "SUM(x)", "MEAN(x)", "LAST(x)", "NONE(x)",
		"WEIGHTED_MEAN", "WEIGHTED_MEAN()", "WEIGHTED_MEAN( )", "WEIGHTED_MEAN(a,b)", "WEIGHTED_MEAN(population",
		"RATIO", "RATIO()", "RATIO(a)", "RATIO(a,)", "RATIO(,b)", "RATIO(a,b,c)", "RATIO(a,b", "RATIO(a,b)x",
		"ratio(a,b)",
	} {
		t.Run(in, func(t *testing.T) {
			r, err := indicator.ParseRule(in)
			require.Error(t, err)
			require.ErrorIs(t, err, indicator.ErrInvalid)
			require.Zero(t, r)
			require.Contains(t, err.Error(), "want SUM, MEAN, LAST, NONE, WEIGHTED_MEAN(weight) or RATIO(numerator,denominator)")
		})
	}
}

func TestCodeOf(t *testing.T) {
	deadline, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	for _, tc := range []struct {
		name string
		err  error
		want indicator.Code
	}{
		{"nil", nil, ""},
		{"not found", indicator.ErrNotFound, indicator.CodeNotFound},
		{"invalid", indicator.ErrInvalid, indicator.CodeInvalidArgument},
		{"too large", indicator.ErrTooLarge, indicator.CodeTooLarge},
		{"timeout", indicator.ErrTimeout, indicator.CodeTimeout},
		{"unavailable", indicator.ErrUnavailable, indicator.CodeUnavailable},
		{"wrapped not found", fmt.Errorf("store: unit %q: %w", "x", indicator.ErrNotFound), indicator.CodeNotFound},
		{"wrapped invalid", fmt.Errorf("a: %w", fmt.Errorf("b: %w", indicator.ErrInvalid)), indicator.CodeInvalidArgument},
		{"wrapped too large", fmt.Errorf("store: series: %w", indicator.ErrTooLarge), indicator.CodeTooLarge},
		{"wrapped timeout", fmt.Errorf("store: series: %w (interrupted)", indicator.ErrTimeout), indicator.CodeTimeout},
		{"wrapped unavailable", fmt.Errorf("store: %w", indicator.ErrUnavailable), indicator.CodeUnavailable},
		{"joined", errors.Join(errors.New("x"), indicator.ErrTooLarge), indicator.CodeTooLarge},
		{"deadline exceeded", context.DeadlineExceeded, indicator.CodeTimeout},
		{"wrapped deadline exceeded", fmt.Errorf("query: %w", context.DeadlineExceeded), indicator.CodeTimeout},
		{"deadline of a context", deadline.Err(), indicator.CodeTimeout},
		{"canceled", context.Canceled, indicator.CodeUnavailable},
		{"canceled context", cancelled.Err(), indicator.CodeUnavailable},
		{"wrapped canceled", fmt.Errorf("store: series: canceled: %w", context.Canceled), indicator.CodeUnavailable},
		{"unknown", errors.New("disk on fire"), indicator.CodeInternal},
		{"wrapped unknown", fmt.Errorf("store: %w", errors.New("duckdb: boom")), indicator.CodeInternal},
		{"Errorf", indicator.Errorf(indicator.ErrTooLarge, "more than %d rows", 10), indicator.CodeTooLarge},
		{"Invalidf", indicator.Invalidf("first", "must be 0 or more"), indicator.CodeInvalidArgument},
		{"ArgError not found", &indicator.ArgError{Arg: "unit", Reason: "no unit x", Kind: indicator.ErrNotFound}, indicator.CodeNotFound},
		{"wrapped ArgError", fmt.Errorf("resolver: %w", &indicator.ArgError{Arg: "a", Reason: "b"}), indicator.CodeInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, indicator.CodeOf(tc.err))
		})
	}
}

func TestArgError(t *testing.T) {
	err := indicator.Invalidf("filter.periodFrom", "period %q: bad", "20x1")
	require.EqualError(t, err, `argument filter.periodFrom: period "20x1": bad`)
	var ae *indicator.ArgError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "filter.periodFrom", ae.Arg)
	require.Nil(t, ae.Kind)
	require.ErrorIs(t, err, indicator.ErrInvalid)
	require.NotErrorIs(t, err, indicator.ErrNotFound)

	nf := &indicator.ArgError{Arg: "unit", Reason: `no unit "vn.x"`, Kind: indicator.ErrNotFound}
	require.EqualError(t, nf, `argument unit: no unit "vn.x"`)
	require.ErrorIs(t, nf, indicator.ErrNotFound)
	require.NotErrorIs(t, nf, indicator.ErrInvalid)
	require.Equal(t, indicator.CodeNotFound, indicator.CodeOf(nf))

	tl := &indicator.ArgError{Arg: "first", Reason: "over 200", Kind: indicator.ErrTooLarge}
	require.ErrorIs(t, tl, indicator.ErrTooLarge)
	require.Equal(t, indicator.CodeTooLarge, indicator.CodeOf(tl))

	// Errorf carries the kind without adding it to the message.
	e := indicator.Errorf(indicator.ErrNotFound, "no indicator %q", "x")
	require.EqualError(t, e, `no indicator "x"`)
	require.ErrorIs(t, e, indicator.ErrNotFound)
}

func TestObservationHasFlag(t *testing.T) {
	o := indicator.Observation{Flags: []string{"estimated", "footnote"}}
	require.True(t, o.HasFlag("estimated"))
	require.True(t, o.HasFlag("footnote"))
	require.False(t, o.HasFlag("break"))
	require.False(t, indicator.Observation{}.HasFlag("estimated"))
}

func TestLevelRank(t *testing.T) {
	for i, l := range indicator.Levels {
		require.Equal(t, i, l.Rank())
	}
	require.Less(t, indicator.LevelProvince.Rank(), indicator.LevelDistrict.Rank())
	require.Equal(t, -1, indicator.Level("planet").Rank())
	require.Equal(t, -1, indicator.Level("").Rank())
}

func TestUnitLabel(t *testing.T) {
	for _, tc := range []struct {
		unit  string
		scale float64
		want  string
	}{
		{"%", 1, "%"},
		{"people", 0, "people"},
		{"VND", 1e3, "thousand VND"},
		{"VND", 1e6, "million VND"},
		{"VND", 1e9, "billion VND"},
		{"ha", 100, "×100 ha"},
	} {
		require.Equal(t, tc.want, indicator.Indicator{MeasureUnit: tc.unit, Scale: tc.scale}.UnitLabel())
	}
}
