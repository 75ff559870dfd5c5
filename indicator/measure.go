package indicator

import (
	"fmt"
	"sort"
	"strings"
)

// Dimension is what kind of quantity a measure unit measures. Two values
// convert into each other only when their dimensions are equal; then the
// ratio of their factors (see Measure) is the conversion.
//
// Counts: people and households are dimensions of their own (a household is
// not a person, and the dataset divides by both), and so is every other
// counted thing together in DimCount: the indicator, not the unit, says
// whether it counts schools, communes or beds, so "units" over "units"
// is a plain ratio and "units" never converts into people or households.
//
// A quotient unit ("VND/person", "ha/household", "tonnes/day") has the
// quotient of its parts' dimensions ("money_vnd/people"); quotient
// dimensions are compared as written, never simplified.
type Dimension string

const (
	DimArea          Dimension = "area"           // base ha
	DimLength        Dimension = "length"         // base m
	DimVolume        Dimension = "volume"         // base m3
	DimMass          Dimension = "mass"           // base kg
	DimTime          Dimension = "time"           // base day (a year is 365.25 days, a month a twelfth of it)
	DimMoneyVND      Dimension = "money_vnd"      // base VND (đồng)
	DimMoneyUSD      Dimension = "money_usd"      // base USD: no exchange rate converts it to VND
	DimPower         Dimension = "power"          // base kW
	DimApparentPower Dimension = "apparent_power" // base kVA (transformer ratings; not kW)
	DimEnergy        Dimension = "energy"         // base kWh
	DimPeople        Dimension = "people"         // base person
	DimHouseholds    Dimension = "households"     // base household
	DimCount         Dimension = "count"          // base one thing (units, beds, head …)
	DimRatio         Dimension = "ratio"          // dimensionless; base 1 (times): % is 0.01
	DimIndex         Dimension = "index"          // a composite score (HDI): no conversion to %
	DimRank          Dimension = "rank"           // an ordinal position: not a quantity
)

// IsQuotient reports whether d is the quotient of two dimensions.
func (d Dimension) IsQuotient() bool { return strings.Contains(string(d), "/") }

// Extensive reports whether quantities of dimension d add up across units:
// a base quantity (area, money, people, a count …) or a flow of one per
// unit of time ("tonnes/day"). Ratios, indexes, ranks and quotients by
// anything but time (per capita, per household, per ha) do not: their sum
// over districts is not the province's value. SUM rules, RATIO operands
// and WEIGHTED_MEAN weights must be extensive.
func (d Dimension) Extensive() bool {
	parts := strings.Split(string(d), "/")
	switch Dimension(parts[0]) {
	case DimRatio, DimIndex, DimRank:
		return false
	}
	for _, p := range parts[1:] {
		if Dimension(p) != DimTime {
			return false
		}
	}
	return true
}

// Measure is a measure unit's dimension and its size in the dimension's
// base unit: Factor is how many base units one of Unit is (km2: area,
// 100 ha; %: ratio, 0.01).
type Measure struct {
	Unit      string // canonical spelling
	Dimension Dimension
	Factor    float64
}

type measureDef struct {
	Measure
	aliases []string
	// per is set for dimensionless units written as "per N" (% = per 100):
	// Factor is 1/per, and RatioMultiplier gives per exactly.
	per float64
}

// measureTable lists every measure unit chiso knows; README.md "Dataset
// format" shows the same table.
var measureTable = func() []measureDef {
	u := func(unit string, d Dimension, f float64, aliases ...string) measureDef {
		return measureDef{Measure: Measure{Unit: unit, Dimension: d, Factor: f}, aliases: aliases}
	}
	per := func(unit string, n float64, aliases ...string) measureDef {
		m := u(unit, DimRatio, 1/n, aliases...)
		m.per = n
		return m
	}
	return []measureDef{
		u("ha", DimArea, 1, "hectare", "hectares"),
		u("km2", DimArea, 100, "km²", "sq km"),
		u("m2", DimArea, 0.0001, "m²"),
		u("m", DimLength, 1, "metre", "metres", "meter", "meters"),
		u("km", DimLength, 1000),
		u("m3", DimVolume, 1, "m³"),
		u("litres", DimVolume, 0.001, "litre", "liters", "liter"),
		u("kg", DimMass, 1),
		u("tonnes", DimMass, 1000, "tonne", "tons", "ton", "tấn"),
		u("quintals", DimMass, 100, "quintal", "tạ"),
		u("minutes", DimTime, 1.0/1440, "minute", "phút"),
		u("hours", DimTime, 1.0/24, "hour", "giờ"),
		u("days", DimTime, 1, "day", "ngày"),
		u("months", DimTime, 365.25/12, "month", "tháng"),
		u("years", DimTime, 365.25, "year", "năm"),
		u("VND", DimMoneyVND, 1, "đồng", "dong"),
		u("thousand VND", DimMoneyVND, 1e3, "nghìn đồng"),
		u("million VND", DimMoneyVND, 1e6, "triệu đồng"),
		u("billion VND", DimMoneyVND, 1e9, "tỷ đồng"),
		u("USD", DimMoneyUSD, 1),
		u("thousand USD", DimMoneyUSD, 1e3),
		u("million USD", DimMoneyUSD, 1e6),
		u("kW", DimPower, 1),
		u("MW", DimPower, 1000),
		u("kVA", DimApparentPower, 1),
		u("MVA", DimApparentPower, 1000),
		u("kWh", DimEnergy, 1),
		u("MWh", DimEnergy, 1e3),
		u("GWh", DimEnergy, 1e6),
		u("people", DimPeople, 1, "person", "persons", "người"),
		u("households", DimHouseholds, 1, "household", "hộ"),
		u("units", DimCount, 1, "unit", "items", "item", "beds", "bed", "head"),
		u("times", DimRatio, 1, "ratio", "lần"),
		per("%", 100, "percent", "per_100"),
		per("‰", 1000, "per_1000", "per mille"),
		per("per_10000", 10000),
		per("per_100000", 100000),
		u("index", DimIndex, 1),
		u("rank", DimRank, 1),
	}
}()

var measureByName = func() map[string]measureDef {
	m := map[string]measureDef{}
	for _, d := range measureTable {
		for _, name := range append([]string{d.Unit}, d.aliases...) {
			if _, dup := m[name]; dup {
				panic("indicator: measure unit " + name + " listed twice")
			}
			m[name] = d
		}
	}
	return m
}()

// MeasureUnits lists the known measure units, one Measure per canonical
// unit, by dimension and factor; Aliases gives the other spellings.
func MeasureUnits() []Measure {
	out := make([]Measure, len(measureTable))
	for i, d := range measureTable {
		out[i] = d.Measure
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Dimension != out[j].Dimension {
			return out[i].Dimension < out[j].Dimension
		}
		return out[i].Factor < out[j].Factor
	})
	return out
}

// Aliases lists the other accepted spellings of a canonical unit.
func Aliases(unit string) []string {
	d, ok := measureByName[unit]
	if !ok || d.Unit != unit {
		return nil
	}
	return append([]string(nil), d.aliases...)
}

// MeasureOf resolves a measure unit: a known unit or alias ("km²" is
// km2), or a quotient of known units "a/b[/c]" ("VND/person",
// "ha/household", "VND/person/month") whose factor is the quotient of the
// parts' factors. Unknown units are an error wrapping ErrInvalid.
// Surrounding spaces are ignored; case matters (MW is not mW).
func MeasureOf(unit string) (Measure, error) {
	unit = strings.TrimSpace(unit)
	if d, ok := measureByName[unit]; ok {
		return d.Measure, nil
	}
	if !strings.Contains(unit, "/") {
		return Measure{}, Errorf(ErrInvalid, "unknown measure unit %q: want one of %s, or a quotient of them such as VND/person", unit, knownList())
	}
	parts := strings.Split(unit, "/")
	out := Measure{Factor: 1}
	names := make([]string, len(parts))
	dims := make([]string, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		d, ok := measureByName[p]
		if !ok {
			return Measure{}, Errorf(ErrInvalid, "measure unit %q: unknown part %q: want one of %s", unit, p, knownList())
		}
		switch d.Dimension {
		case DimRatio, DimIndex, DimRank:
			return Measure{}, Errorf(ErrInvalid, "measure unit %q: %q (%s) cannot be part of a quotient unit", unit, p, d.Dimension)
		}
		names[i], dims[i] = d.Unit, string(d.Dimension)
		if i == 0 {
			out.Factor = d.Factor
		} else {
			out.Factor /= d.Factor
		}
	}
	out.Unit = strings.Join(names, "/")
	out.Dimension = Dimension(strings.Join(dims, "/"))
	return out, nil
}

func knownList() string {
	names := make([]string, len(measureTable))
	for i, d := range measureTable {
		names[i] = d.Unit
	}
	return strings.Join(names, ", ")
}

// scaled is an indicator's measure with its scale folded into the factor:
// one stored value of the indicator is Factor base units.
func scaled(ind Indicator) (Measure, error) {
	m, err := MeasureOf(ind.MeasureUnit)
	if err != nil {
		return Measure{}, Errorf(ErrInvalid, "indicator %s: %v", ind.Code, err)
	}
	if ind.Scale != 0 {
		m.Factor *= ind.Scale
	}
	return m, nil
}

// describe names an indicator's unit for messages: "area_natural (km2, area)".
func describe(ind Indicator, m Measure) string {
	return fmt.Sprintf("%s (%s, %s)", ind.Code, ind.UnitLabel(), m.Dimension)
}

// Factor is the multiplier that turns a value of from (in its MeasureUnit
// × Scale) into a value in to's MeasureUnit × Scale: 100 from km2 to ha,
// 0.001 from VND×1e6 to VND×1e9. Different dimensions are an error
// wrapping ErrInvalid naming both units.
func Factor(from, to Indicator) (float64, error) {
	mf, err := scaled(from)
	if err != nil {
		return 0, err
	}
	mt, err := scaled(to)
	if err != nil {
		return 0, err
	}
	if mf.Dimension != mt.Dimension {
		return 0, Errorf(ErrInvalid, "cannot convert %s into %s: different dimensions", describe(from, mf), describe(to, mt))
	}
	return mf.Factor / mt.Factor, nil
}

// RatioFactor is the multiplier m with result = (Σnum / Σden) × m, where
// the sums are of stored values (MeasureUnit × Scale) and result is in
// result's MeasureUnit × Scale. Numerator and denominator are converted to
// their base units first, so forest area in ha over natural area in km2
// gives a percentage with m = 1.
//
// Compatible dimensions: numerator and denominator must be extensive (see
// Dimension.Extensive: they are sums); if their dimensions are equal the
// quotient is dimensionless and result must be a ratio unit (%, ‰,
// per_10000, times); otherwise result must be the quotient unit of their
// dimensions (ha over households in "ha/household", VND over people in
// "VND/person"). Anything else is an error wrapping ErrInvalid.
func RatioFactor(num, den, result Indicator) (float64, error) {
	mn, err := scaled(num)
	if err != nil {
		return 0, err
	}
	md, err := scaled(den)
	if err != nil {
		return 0, err
	}
	mr, err := scaled(result)
	if err != nil {
		return 0, err
	}
	for _, x := range []struct {
		ind Indicator
		m   Measure
	}{{num, mn}, {den, md}} {
		if !x.m.Dimension.Extensive() {
			return 0, Errorf(ErrInvalid, "%s is not a quantity that sums across units (it is a %s), so it cannot be a numerator or denominator", describe(x.ind, x.m), x.m.Dimension)
		}
	}
	want := DimRatio
	if mn.Dimension != md.Dimension {
		want = mn.Dimension + "/" + md.Dimension
	}
	if mr.Dimension != want {
		hint := "a ratio unit (%, ‰, per_10000, times)"
		if want != DimRatio {
			hint = fmt.Sprintf("a unit of %s such as %s", want, exampleQuotient(mn, md))
		}
		what := string(want)
		if want == DimRatio {
			what = "a dimensionless ratio"
		}
		return 0, Errorf(ErrInvalid, "%s over %s is %s, but %s is in %s (%s): want %s",
			describe(num, mn), describe(den, md), what, result.Code, result.UnitLabel(), mr.Dimension, hint)
	}
	return mn.Factor / md.Factor / mr.Factor, nil
}

// exampleQuotient names a quotient unit of two measures' base units.
func exampleQuotient(num, den Measure) string {
	base := func(m Measure) string {
		for _, d := range measureTable {
			if d.Dimension == m.Dimension && d.Factor == 1 {
				return d.Unit
			}
		}
		return m.Unit
	}
	return base(num) + "/" + base(den)
}

// CheckRule checks that an indicator's measure unit is known and that its
// rollup rule makes sense for the dimensions involved; lookup finds the
// indicators the rule refers to.
//
//   - RATIO(num,den): as RatioFactor(num, den, ind).
//   - WEIGHTED_MEAN(w): w must exist and be extensive (people, households,
//     a count, area, money …): a weight is a size, and a share, index,
//     rank or per-capita figure is not one (its value for a province is
//     not the sum of its districts'). The averaged indicator may be of any
//     dimension but rank.
//   - SUM: the indicator must be extensive (a sum of percentages or of
//     per-capita incomes is not the parent's value).
//   - MEAN: any dimension but rank (a mean of ranks is not a rank).
//   - LAST, NONE: only the unit must be known.
//
// Errors wrap ErrInvalid and name the units and dimensions involved.
func CheckRule(ind Indicator, lookup func(code string) (Indicator, bool)) error {
	m, err := scaled(ind)
	if err != nil {
		return err
	}
	rule := ind.Rollup
	bad := func(format string, a ...any) error {
		return Errorf(ErrInvalid, "%s of %s: %s", rule, ind.Code, fmt.Sprintf(format, a...))
	}
	ref := func(code string) (Indicator, error) {
		x, ok := lookup(code)
		if !ok {
			return Indicator{}, bad("%q is not an indicator", code)
		}
		return x, nil
	}
	switch rule.Kind {
	case RuleRatio:
		num, err := ref(rule.Numerator)
		if err != nil {
			return err
		}
		den, err := ref(rule.Denominator)
		if err != nil {
			return err
		}
		if _, err := RatioFactor(num, den, ind); err != nil {
			return bad("%v", err)
		}
	case RuleWeightedMean:
		w, err := ref(rule.Weight)
		if err != nil {
			return err
		}
		mw, err := scaled(w)
		if err != nil {
			return bad("%v", err)
		}
		if !mw.Dimension.Extensive() {
			return bad("the weight %s is not a size that sums across units: want people, households, a count, area, money …", describe(w, mw))
		}
		if m.Dimension == DimRank {
			return bad("%s is a rank: a mean of ranks is not a rank", describe(ind, m))
		}
	case RuleSum:
		if !m.Dimension.Extensive() {
			return bad("%s does not sum across units: want MEAN, WEIGHTED_MEAN(weight), RATIO(numerator,denominator), LAST or NONE", describe(ind, m))
		}
	case RuleMean:
		if m.Dimension == DimRank {
			return bad("%s is a rank: a mean of ranks is not a rank", describe(ind, m))
		}
	case RuleLast, RuleNone:
	default:
		return bad("unknown rule")
	}
	return nil
}
