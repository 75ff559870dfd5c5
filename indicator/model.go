package indicator

import (
	"fmt"
	"strings"
	"time"
)

// Level is the administrative level of a unit.
type Level string

const (
	LevelCountry  Level = "country"
	LevelProvince Level = "province"
	LevelDistrict Level = "district"
	LevelCommune  Level = "commune"
	LevelVillage  Level = "village"
	// LevelRegion is a grouping outside the administrative ladder (an area
	// of a province, a zone); it may hang under any unit.
	LevelRegion Level = "region"
)

// Levels lists the levels from the top down.
var Levels = []Level{LevelCountry, LevelProvince, LevelDistrict, LevelCommune, LevelVillage, LevelRegion}

// Rank orders levels from the top (country = 0); it is -1 for an unknown
// level. Regions rank below villages but may attach anywhere.
func (l Level) Rank() int {
	for i, x := range Levels {
		if x == l {
			return i
		}
	}
	return -1
}

// Unit is an administrative unit.
type Unit struct {
	Code      string
	NameVI    string
	NameASCII string // Fold(NameVI)
	NameEN    string
	Level     Level
	Parent    string // empty for the root
	ValidFrom *time.Time
	ValidTo   *time.Time // inclusive: the last day the unit existed
	// OfficialCode is the Statistics Office's code (2 digits for a
	// province, 3 for a district, 5 for a commune); empty if it has none.
	// One official code may name several units of disjoint validity.
	OfficialCode string
	// Type is the unit's type as the register writes it, lower-cased:
	// tỉnh, thành phố trung ương, huyện, quận, thị xã, thành phố, xã,
	// phường, thị trấn; empty if unknown.
	Type    string
	Source  string // id of the source the unit comes from; empty if none
	Locator string // where in the source: a code path (12/105/03190) or a line
}

// ValidAt reports whether the unit existed on day d: ValidFrom (if any)
// is not after d and ValidTo (if any, inclusive) not before it.
func (u Unit) ValidAt(d time.Time) bool {
	return (u.ValidFrom == nil || !u.ValidFrom.After(d)) && (u.ValidTo == nil || !u.ValidTo.Before(d))
}

// ChangeKind says how a unit became another in a reform.
type ChangeKind string

const (
	// ChangeMerge: the whole predecessor became part of the successor,
	// together with other units.
	ChangeMerge ChangeKind = "merge"
	// ChangeSplit: a part of the predecessor (Share, if known) went to the
	// successor; the rest went to other successors.
	ChangeSplit ChangeKind = "split"
	// ChangeRename: the whole predecessor, and nothing else, became the
	// successor under another name.
	ChangeRename ChangeKind = "rename"
	// ChangeMove: the whole predecessor, and nothing else, became the
	// successor under another parent (same name and territory).
	ChangeMove ChangeKind = "move"
	// ChangeAbolished: the predecessor ceased with no successor at its
	// level (Successor is empty): Việt Nam's districts on 2025-07-01.
	ChangeAbolished ChangeKind = "abolished"
)

// ChangeKinds lists the valid kinds.
var ChangeKinds = []ChangeKind{ChangeMerge, ChangeSplit, ChangeRename, ChangeMove, ChangeAbolished}

// UnitChange is one edge of a reform: the predecessor (valid to the day
// before Date) went, wholly or in part, into the successor (valid from
// Date).
type UnitChange struct {
	Predecessor string // chiso unit code
	Successor   string // chiso unit code; empty for abolished
	Date        time.Time
	Kind        ChangeKind
	// Share is the part of the predecessor that went to the successor
	// (0 < Share ≤ 1); nil means the whole unit (merge, rename, move) or,
	// for a split, that the source gives no share.
	Share   *float64
	Source  string // source id
	Locator string // the clause and line of the source
}

// Direction says which way an indicator improves.
type Direction string

const (
	HigherBetter Direction = "higher_better"
	LowerBetter  Direction = "lower_better"
	Neutral      Direction = "neutral"
)

// RuleKind names how child values of an indicator aggregate to a parent
// unit or a longer period.
type RuleKind string

const (
	RuleSum          RuleKind = "SUM"
	RuleMean         RuleKind = "MEAN"
	RuleWeightedMean RuleKind = "WEIGHTED_MEAN"
	RuleRatio        RuleKind = "RATIO"
	RuleLast         RuleKind = "LAST"
	RuleNone         RuleKind = "NONE"
)

// Rule is an indicator's rollup rule.
type Rule struct {
	Kind        RuleKind
	Weight      string // WEIGHTED_MEAN: weight indicator
	Numerator   string // RATIO
	Denominator string // RATIO
}

func (r Rule) String() string {
	switch r.Kind {
	case RuleWeightedMean:
		return fmt.Sprintf("WEIGHTED_MEAN(%s)", r.Weight)
	case RuleRatio:
		return fmt.Sprintf("RATIO(%s,%s)", r.Numerator, r.Denominator)
	}
	return string(r.Kind)
}

// References lists the indicator codes the rule depends on.
func (r Rule) References() []string {
	switch r.Kind {
	case RuleWeightedMean:
		return []string{r.Weight}
	case RuleRatio:
		return []string{r.Numerator, r.Denominator}
	}
	return nil
}

// ParseRule parses SUM, MEAN, LAST, NONE, WEIGHTED_MEAN(weight) or
// RATIO(numerator,denominator).
func ParseRule(s string) (Rule, error) {
	s = strings.TrimSpace(s)
	bad := func() (Rule, error) {
		return Rule{}, fmt.Errorf("rollup %q: want SUM, MEAN, LAST, NONE, WEIGHTED_MEAN(weight) or RATIO(numerator,denominator): %w", s, ErrInvalid)
	}
	name, args, hasArgs := strings.Cut(s, "(")
	if !hasArgs {
		switch k := RuleKind(s); k {
		case RuleSum, RuleMean, RuleLast, RuleNone:
			return Rule{Kind: k}, nil
		}
		return bad()
	}
	if !strings.HasSuffix(args, ")") {
		return bad()
	}
	parts := strings.Split(strings.TrimSuffix(args, ")"), ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
		if parts[i] == "" {
			return bad()
		}
	}
	switch RuleKind(name) {
	case RuleWeightedMean:
		if len(parts) == 1 {
			return Rule{Kind: RuleWeightedMean, Weight: parts[0]}, nil
		}
	case RuleRatio:
		if len(parts) == 2 {
			return Rule{Kind: RuleRatio, Numerator: parts[0], Denominator: parts[1]}, nil
		}
	}
	return bad()
}

// Indicator describes a measured quantity.
type Indicator struct {
	Code        string
	NameVI      string
	NameASCII   string
	NameEN      string
	MeasureUnit string  // base unit: %, ‰, people, households, VND, ha, km …
	Scale       float64 // multiplier of the base unit (1e9 for "billion VND")
	Theme       string
	Direction   Direction
	Group       string // population group of a breakdown; "all" otherwise
	Rollup      Rule
	Total       string // the total indicator this one is a part of, if any
	// Breakdown names the dimension along which this indicator is a part of
	// Total (road_surface, school_level …). Parts sharing Total and
	// Breakdown partition the total and must sum to it; parts without a
	// Breakdown are subsets that need not.
	Breakdown  string
	Definition string
	// Aliases are former codes of this indicator (merged duplicates); a
	// lookup by an alias answers with this indicator and its Code.
	Aliases []string
}

// UnitLabel renders measure unit and scale for people: "billion VND".
func (i Indicator) UnitLabel() string {
	prefix := ""
	switch i.Scale {
	case 1, 0:
	case 1e3:
		prefix = "thousand "
	case 1e6:
		prefix = "million "
	case 1e9:
		prefix = "billion "
	default:
		prefix = fmt.Sprintf("×%g ", i.Scale)
	}
	return prefix + i.MeasureUnit
}

// RatioMultiplier is what a ratio of two quantities is multiplied by to be
// expressed in measure unit mu: 100 for %, 1000 for ‰, 10000 per 10,000,
// and 1 for any other unit. It ignores the units of the two quantities;
// RatioFactor converts them.
func RatioMultiplier(mu string) float64 {
	if d, ok := measureByName[strings.TrimSpace(mu)]; ok && d.per != 0 {
		return d.per
	}
	return 1
}

// ObservationKind says what an observed value is.
type ObservationKind string

const (
	KindActual      ObservationKind = "actual"
	KindTarget      ObservationKind = "target"
	KindChange      ObservationKind = "change"
	KindShare       ObservationKind = "share"
	KindAchievement ObservationKind = "achievement"
	// KindExcess is the amount by which an actual exceeds its plan or
	// target ("exceeded the plan by …"), in the indicator's unit (for a
	// rate, percentage points); not a change over time.
	KindExcess ObservationKind = "excess"
)

// ObservationKinds lists the valid kinds.
var ObservationKinds = []ObservationKind{KindActual, KindTarget, KindChange, KindShare, KindAchievement, KindExcess}

// Qualifiers a source attaches to a figure ("over", "about" …).
var Qualifiers = []string{"over", "about", "under", "at_least", "at_most", "nearly", "range_min", "range_max"}

// Flags an observation may carry.
var Flags = []string{"estimated", "provisional", "cumulative", "per_year", "to_date", "inconsistent", "typo_suspected", "dot_decimal", "footnote", "break"}

// Observation is one value of an indicator for a unit and period, with
// its provenance.
type Observation struct {
	ID          int64
	Unit        string
	Indicator   string
	Period      Period
	Kind        ObservationKind
	Value       float64
	Denominator *float64
	Qualifier   string
	Flags       []string
	Methodology string
	Source      string
	Line        int // 1-based line in the source document; 0 if unknown
	Raw         string
	Note        string
	// Canonical marks the observation analytics use where several share
	// unit, indicator, period, kind and basis (see Analytics and the
	// README's rule for conflicts).
	Canonical bool
	Basis     Basis
}

// HasFlag reports whether the observation carries flag f.
func (o Observation) HasFlag(f string) bool {
	for _, x := range o.Flags {
		if x == f {
			return true
		}
	}
	return false
}

// Source is a document observations come from.
type Source struct {
	ID     string
	Title  string
	Issuer string
	Number string
	Date   string // as precise as known: YYYY, YYYY-MM or YYYY-MM-DD
	Kind   string
	// ContentDate is when the document's figures were stated, where that
	// differs from Date (a text republished later); same format. Empty
	// means Date.
	ContentDate string
}

// StatedOn is the date the document's figures are as of: ContentDate,
// or Date when it has none (YYYY, YYYY-MM or YYYY-MM-DD; empty if
// unknown). Source conflicts are resolved by it (see the README).
func (s Source) StatedOn() string {
	if s.ContentDate != "" {
		return s.ContentDate
	}
	return s.Date
}

// DatasetInfo describes the data being served.
type DatasetInfo struct {
	Version      string // content hash of the loaded files
	LoadedAt     time.Time
	Origins      []string // dataset folders (or "embedded:…")
	Sources      int
	Units        int
	Indicators   int
	Observations int
}

// Basis says what a value over a period measures: the level at a point
// or for the period as stated (BasisPoint, the empty basis), a yearly
// average over the period (BasisPerYear), or a total over the period
// (BasisCumulative). Two values of one key with different bases are
// different facts, never alternatives of each other.
type Basis string

const (
	BasisPoint      Basis = ""
	BasisPerYear    Basis = "per_year"
	BasisCumulative Basis = "cumulative"
)

// Bases lists the bases in the order a default choice prefers them.
var Bases = []Basis{BasisPoint, BasisPerYear, BasisCumulative}
