package indicator

import (
	"context"
	"time"
)

// Page asks for at most First items after the opaque cursor After.
type Page struct {
	First int
	After string
}

// PageInfo describes the returned page of a connection.
type PageInfo struct {
	TotalCount  int
	HasNextPage bool
	EndCursor   string
	Cursors     []string // one per returned item, in order
}

// UnitQuery lists units.
type UnitQuery struct {
	Level  Level  // optional
	Parent string // optional: direct children of this unit
	Search string // optional: accent- and case-insensitive substring of any name
	// AsOf keeps only units valid on that day (Unit.ValidAt); nil keeps
	// every unit whatever its validity.
	AsOf *time.Time
	// OfficialCode keeps only units with exactly this official code.
	OfficialCode string
	Page
}

// IndicatorQuery lists indicators.
type IndicatorQuery struct {
	Theme      string // optional
	Search     string // optional
	HasDataFor string // optional: unit code
	Page
}

// ObservationQuery filters the observations table.
type ObservationQuery struct {
	Units      []string
	Indicators []string
	Kinds      []ObservationKind
	Sources    []string
	From, To   *Period // observations whose period lies within [From.Start, To.End]
	Page
}

// SeriesKey names one series.
type SeriesKey struct {
	Unit      string
	Indicator string
}

// Coverage summarises which units and periods an indicator has data for.
type Coverage struct {
	Observations int
	Units        []string
	Periods      []Period // distinct, ordered by start then end
}

// Engine answers queries over one consistent dataset: the reads of a
// Reader and the analytics computed from them.
type Engine interface {
	Reader
	Analytics
}

// Reader reads one consistent dataset: its catalog, series and pages.
// Methods taking a list of keys answer them set-at-a-time, in one
// statement.
type Reader interface {
	// Pin returns a context that reads one dataset snapshot until release
	// is called, so a request never mixes two loads.
	Pin(ctx context.Context) (context.Context, func())
	Dataset(ctx context.Context) (DatasetInfo, error)

	Units(ctx context.Context, codes []string) (map[string]Unit, error)
	ListUnits(ctx context.Context, q UnitQuery) ([]Unit, PageInfo, error)
	// UnitsByOfficialCode looks units up by official code: per code, the
	// unit valid at asOf, or with asOf nil the one valid latest (open
	// ValidTo first). Unknown codes, and codes with no unit valid at asOf,
	// are absent.
	UnitsByOfficialCode(ctx context.Context, codes []string, asOf *time.Time) (map[string]Unit, error)
	// Children and Descendants follow the tree valid at asOf: only units
	// valid at asOf are listed or walked through; nil ignores validity.
	Children(ctx context.Context, parents []string, level Level, asOf *time.Time) (map[string][]Unit, error)
	Ancestors(ctx context.Context, codes []string) (map[string][]Unit, error)
	Descendants(ctx context.Context, codes []string, level Level, asOf *time.Time) (map[string][]Unit, error)
	// UnitChanges returns, per unit code, the changes in which it is the
	// predecessor or the successor, ordered by date, predecessor and
	// successor. Codes with none have an empty list; unknown codes are
	// absent.
	UnitChanges(ctx context.Context, codes []string) (map[string][]UnitChange, error)

	Indicators(ctx context.Context, codes []string) (map[string]Indicator, error)
	ListIndicators(ctx context.Context, q IndicatorQuery) ([]Indicator, PageInfo, error)
	Parts(ctx context.Context, totals []string) (map[string][]Indicator, error)
	Coverage(ctx context.Context, indicators []string) (map[string]Coverage, error)
	UnitIndicators(ctx context.Context, units []string) (map[string][]string, error)

	Series(ctx context.Context, keys []SeriesKey, kinds []ObservationKind) (map[SeriesKey][]Observation, error)
	Observations(ctx context.Context, q ObservationQuery) ([]Observation, PageInfo, error)
	// Alternatives returns, per observation id, the other observations of
	// its key (unit, indicator, period, kind and basis), the canonical one
	// first: where their values differ, the key holds a source conflict.
	// An id alone in its key has an empty list; unknown ids are absent.
	Alternatives(ctx context.Context, ids []int64) (map[int64][]Observation, error)

	Sources(ctx context.Context, ids []string) (map[string]Source, error)
	ListSources(ctx context.Context) ([]Source, error)
	ObservationsByID(ctx context.Context, ids []int64) (map[int64]Observation, error)
}
