package indicator

import (
	"context"
	"time"
)

// Analytics answers comparisons, trends, rollups and progress, each
// request in a bounded number of reads. Every computed value
// names the observations it was computed from.
//
// Rules shared by every method (documented in README "Asking questions"):
//   - Canonical values: where several observations share unit, indicator,
//     period, kind and basis (two documents, or one document twice),
//     analytics use the canonical one: not flagged inconsistent or
//     typo_suspected, then the latest statement (the source's content date,
//     else its date: when its figures are as of, not when it was
//     published), then not a range bound, then source id and line.
//     Observation.Canonical says which; Engine.Alternatives lists the rest.
//   - Rounding: observed values are returned exactly as loaded; computed
//     values (changes, ratios, sums, means, shares, indexes) are rounded to
//     10 decimal places, which removes binary floating-point noise and
//     nothing else (source figures carry at most four decimals). Clients
//     round further for display.
//   - Nulls: a missing input gives a null result with a reason, never a zero.
//   - Ties: ranks are competition ranks (1, 1, 3); RankTies says how many
//     units share the rank. Rank 1 is the best value in the indicator's
//     direction (highest for higher_better and neutral, lowest for
//     lower_better).
//   - Time: the distance between two periods is the distance between their
//     midpoints on a calendar-year scale (year Y spans [Y, Y+1), so its
//     midpoint is Y + 0.5): consecutive years are exactly 1 apart, the plan
//     period 2016-2020 sits at 2018.5 and the school year SY2023-2024 at
//     about 2024.17, so ranges and school years compare correctly with years.
//   - Methodology: a comparison whose two observations carry different
//     non-empty methodologies, or whose later one is flagged break, crosses
//     a break and says so.
type Analytics interface {
	// Latest returns each series' latest canonical single-period value of
	// one kind (ranges excluded); absent keys have none.
	Latest(ctx context.Context, keys []SeriesKey, kind ObservationKind) (map[SeriesKey]Observation, error)
	Compare(ctx context.Context, q CompareQuery) (Comparison, error)
	// SeriesInTree is a unit's series asked in the tree valid on one day:
	// per period, its own figure or one carried from the units it was
	// formed from (see TreeValue).
	SeriesInTree(ctx context.Context, q TreeSeriesQuery) ([]TreeValue, error)
	Trend(ctx context.Context, q TrendQuery) (Trend, error)
	Rollup(ctx context.Context, q RollupQuery) ([]RollupRow, error)
	Progress(ctx context.Context, q ProgressQuery) ([]ProgressRow, error)
	Reconcile(ctx context.Context, q ReconcileQuery) ([]ReconcileRow, error)
	Matrix(ctx context.Context, q MatrixQuery) (Matrix, error)
	ChangeBetween(ctx context.Context, q TrendQuery) (Change, error)
}

// UnitSet selects units: an explicit list, the children of a unit, or
// every unit at a level under a unit. Exactly one form is used.
type UnitSet struct {
	Codes      []string
	ChildrenOf string
	Under      string
	Level      Level // with Under: the level wanted (required)
	// AsOf lists ChildrenOf's or Under's units in the tree valid on that
	// day; nil: on the day of the question (an exact period's first day),
	// else on indicator.TreeDay.
	AsOf *time.Time
}

// PeriodMode says how a comparison picks each unit's period.
type PeriodMode string

const (
	// PeriodExact uses one given period for every unit.
	PeriodExact PeriodMode = "EXACT"
	// PeriodLatest uses each unit's own latest period (optionally no older
	// than MaxAgeYears before the newest in the set).
	PeriodLatest PeriodMode = "LATEST"
	// PeriodCommon uses the most recent period in which at least
	// MinCoverage of the units have data.
	PeriodCommon PeriodMode = "COMMON"
)

// PeriodChoice tells a comparison which period to use.
type PeriodChoice struct {
	Mode        PeriodMode
	Period      *Period // PeriodExact
	MaxAgeYears float64 // PeriodLatest; 0 means no limit
	MinCoverage float64 // PeriodCommon: share of units, (0, 1]; default 1
}

// RankBy says what a comparison ranks on.
type RankBy string

const (
	RankByValue  RankBy = "VALUE"  // the value itself
	RankByChange RankBy = "CHANGE" // absolute change since the unit's earliest value
	RankByGrowth RankBy = "GROWTH" // compound annual growth since the earliest value
)

// CompareQuery asks for indicators over a set of units.
type CompareQuery struct {
	Indicators []string
	Units      UnitSet
	Period     PeriodChoice
	Kind       ObservationKind
	RankBy     RankBy // default VALUE; in every case the better direction is the indicator's
	// Basis compares values of this basis only (nil: per indicator, the
	// first of Bases that any unit's candidate has).
	Basis *Basis
	// Tree compares in the vintage of the tree valid on that day: the units
	// are those of that tree, and a unit that states no figure of a period
	// has the one carried from the units it was formed from (unit
	// changes; see CompareRow.Carried). MEAN, LAST and NONE indicators
	// cannot be carried and are refused.
	Tree *time.Time
	// Skip leaves out parts the caller will not read, so they cost nothing.
	Skip CompareSkip
}

// TreeSeriesQuery asks for a unit's series of one indicator in the tree
// valid on Tree.
type TreeSeriesQuery struct {
	Unit, Indicator string
	Kinds           []ObservationKind // all kinds when empty
	Tree            time.Time
}

// TreeValue is one period of a series in another tree: the unit's own
// canonical figure (Obs), or one carried from the units it was formed
// from (Carried), or none with the reason (ValueReason).
type TreeValue struct {
	Period      Period
	Kind        ObservationKind
	Basis       Basis
	Value       *float64
	Obs         *Observation // the unit's own observation; nil when carried
	Carried     *CarriedFigure
	ValueReason string
}

// CarriedFigure says how a figure was carried into a unit of another tree.
type CarriedFigure struct {
	Value  float64
	Period Period
	// From are the units whose observations it was computed from.
	From []string
	// Shares: a split unit counted by its declared share (the figure is
	// assumed to divide like the unit).
	Shares bool
}

// CompareSkip names optional parts of a comparison to leave out.
type CompareSkip struct {
	Parent   bool // the parent's value, share and difference
	Earliest bool // the change since the earliest value (needed to rank by CHANGE or GROWTH)
	// EarliestObservation leaves the earliest observation itself out of
	// the change since earliest: Change.From then carries only its ID.
	EarliestObservation bool
}

// Change is the change between two observations of one series.
type Change struct {
	From, To     Observation
	Absolute     float64
	Relative     *float64 // (to − from) / |from|; nil when from is 0
	Years        float64  // midpoint to midpoint
	CAGR         *float64 // compound annual growth; nil unless both positive and Years > 0
	CrossesBreak bool
	Warnings     []string // e.g. RANGE_VS_POINT when a range total meets a point value
}

// CompareRow is one unit × indicator of a comparison.
type CompareRow struct {
	Unit, Indicator string
	UnitInfo        *Unit        // the unit itself
	IndicatorInfo   *Indicator   // the indicator itself
	Obs             *Observation // nil when the unit has no value (see Missing)
	// Missing says why Obs is nil: NO_DATA (no value of the kind),
	// STALE (older than the age limit), OTHER_BASIS (values only of
	// another basis than the comparison's), NOT_IN_COMMON_PERIOD (values,
	// none in the indicator's common period).
	Missing        string
	Alternatives   int // other observations for the same key (Reader.Alternatives), set by the caller
	Rank           int // within the set, per indicator; 0 when missing
	RankTies       int
	RankInParent   int // among units of the set with the same parent
	RankInParentOf int // how many units of the set share the parent and have values
	ParentTies     int
	Parent         *Observation // the parent unit's own value, same period and kind
	ShareOfParent  *float64     // value / parent value × 100, for SUM indicators only
	DiffFromParent *float64
	SetMean        *float64 // mean of the set's values for the indicator
	DiffFromMean   *float64
	Earliest       *Change // from the unit's earliest value of the same kind to Obs
	Basis          Basis   // the comparison's basis for the indicator
	CommonPeriod   *Period // COMMON: the indicator's common period
	// MixedMethodology: the indicator's ranked values were measured under
	// different methodologies, so this rank compares across a break.
	MixedMethodology bool
	// Tree is the vintage asked (CompareQuery.Tree), nil for none.
	Tree *time.Time
	// Carried is the value carried from the units the unit was formed
	// from, when it states none itself (Obs is then nil).
	Carried *CarriedFigure
	// ValueReason says why there is no value although units the unit was
	// formed from have figures (SPLIT_WITHOUT_SHARE, INCOMPLETE).
	ValueReason string
}

// Comparison is the answer to a CompareQuery.
type Comparison struct {
	Rows         []CompareRow
	Periods      []Period // the periods actually used, ordered
	MixedPeriods bool     // rows of one indicator use different periods
	Common       *Period  // PeriodCommon: the period chosen, when every indicator has the same one
	UnitsInSet   int
	// MixedMethodology: some indicator's ranked values were measured
	// under different methodologies (see CompareRow.MixedMethodology).
	MixedMethodology bool
}

// TrendQuery asks for one series' changes over time.
type TrendQuery struct {
	Unit, Indicator string
	Kind            ObservationKind
	Base            *Period // index base = 100; default the first period
	From, To        *Period // bounds of the points returned; also the endpoints of Overall
	// Basis reads values of this basis only (nil: the first of Bases the
	// series has among the periods asked for).
	Basis *Basis
}

// TrendPoint is one period of a trend.
type TrendPoint struct {
	Obs          Observation
	Previous     *Change  // from the previous point (year-over-year when yearly)
	Index        *float64 // value / base value × 100
	CrossesBreak bool     // differs in methodology from the base
}

// Trend is a series with its changes.
type Trend struct {
	Points  []TrendPoint
	Base    *Observation
	Overall *Change // first to last point returned
}

// RollupQuery aggregates an indicator up the unit hierarchy (children of
// each parent, or descendants at a level), or over the years of a range
// period when Over is set.
type RollupQuery struct {
	Indicator  string
	Parents    UnitSet  // the units to roll up into
	ChildLevel Level    // default: direct children
	Periods    []Period // periods to compute; empty means every period with child data
	Over       *Period  // roll the parents' own yearly values up into this range instead
	Kind       ObservationKind
	// Basis is the children's basis read (nil: the first of Bases any
	// child has; over time: point, the yearly values).
	Basis *Basis
	// Tree asks in the vintage of the tree valid on that day: the units
	// (and children) are those of that tree, and each one's figures are
	// carried from the units it was formed from (unit changes); without
	// ChildLevel each unit is rolled up from what it was formed from.
	Tree *time.Time
	// Skip leaves out parts the caller will not read, so they cost nothing.
	Skip RollupSkip
}

// RollupSkip names optional parts of a rollup to leave out: left out,
// they come back empty (Inputs, Missing) or nil (Reported, Gap).
type RollupSkip struct {
	Inputs   bool // the ids of the observations that went into each value
	Missing  bool // the children (or years) without data
	Reported bool // the parent's own observation (its value still yields Gap)
	// Gap and GapRelative; with Reported also left out, the parents' own
	// values are not read at all.
	Gap bool
}

// RollupRow is one parent × period.
type RollupRow struct {
	Unit        string
	UnitInfo    *Unit // the unit itself
	Period      Period
	Rule        Rule
	Value       *float64
	Children    int      // children (or years) expected
	WithData    int      // children (or years) with the inputs the rule needs
	WeightShare *float64 // WEIGHTED_MEAN, RATIO: share of the weight (denominator) covered, 0..1
	Reported    *Observation
	Gap         *float64 // Value − reported value
	GapRelative *float64 // Gap / |reported|
	Inputs      []int64  // observation ids used
	Missing     []string // children (or years) without data
	// Basis is what Value measures: the children's basis across units;
	// over time, a total over the range for SUM (cumulative), a yearly
	// average for MEAN and WEIGHTED_MEAN (per_year), the level at the end
	// for LAST and the period's ratio for RATIO (point).
	Basis Basis
	// GapReason says why Gap is null although the parent reports a value
	// (its basis differs from the rollup's).
	GapReason string
	// Tree is the vintage asked (RollupQuery.Tree), nil for none.
	Tree *time.Time
	// Shares: some input is a split unit, counted by its declared share
	// (the figure is assumed to divide like the unit).
	Shares bool
	// ValueReason says why Value is null although inputs have data
	// (SPLIT_WITHOUT_SHARE: a split whose share is not given).
	ValueReason string
}

// ProgressQuery asks whether units are on track for their targets.
type ProgressQuery struct {
	Units      []string
	Indicators []string // empty: every indicator with a target for the unit
	TargetYear int      // 0: every target
}

// ProgressStatus is a straight-line verdict.
type ProgressStatus string

const (
	StatusAchieved    ProgressStatus = "ACHIEVED"
	StatusOnTrack     ProgressStatus = "ON_TRACK"
	StatusOffTrack    ProgressStatus = "OFF_TRACK"
	StatusNoBaseline  ProgressStatus = "NO_BASELINE"
	StatusNoActual    ProgressStatus = "NO_ACTUAL"
	StatusNotDirected ProgressStatus = "NO_DIRECTION"
)

// ProgressRow is one unit × indicator × target.
type ProgressRow struct {
	Unit, Indicator  string
	Target           Observation
	Baseline, Latest *Observation
	Progress         *float64 // (latest − baseline) / (target − baseline)
	ExpectedProgress *float64 // share of baseline→target time elapsed at latest
	Status           ProgressStatus
	RequiredPerYear  *float64 // (target − latest) / years from latest to target
	CrossesBreak     bool     // latest and target differ in methodology, or the target is flagged break
	Note             string
}

// ReconcileQuery compares breakdowns with their totals.
type ReconcileQuery struct {
	Total  string   // total indicator
	Units  []string // empty: every unit with the total or a part
	Period *Period  // nil: every period
	Kind   ObservationKind
}

// ReconcileRow is one total × breakdown dimension × unit × period.
type ReconcileRow struct {
	Unit, Total, Breakdown string
	Period                 Period
	TotalObs               *Observation
	Sum                    *float64
	Parts                  int // parts with values
	PartsExpected          int // parts of the breakdown in the catalog
	Gap                    *float64
	Inputs                 []int64
}

// MatrixQuery asks for a table: units × periods of one indicator, or
// units × indicators for one period choice (ByIndicator).
type MatrixQuery struct {
	Indicators  []string
	Units       UnitSet
	ByIndicator bool
	Periods     []Period     // by period: the columns; empty means every single period with data
	Period      PeriodChoice // by indicator: which period each cell uses
	Kind        ObservationKind
}

// Matrix is a row-major table of canonical observations; nil cells have
// no value.
type Matrix struct {
	Units   []string
	Columns []string
	Cells   [][]*Observation
}
