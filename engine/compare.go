package engine

import (
	"context"
	"math"
	"slices"

	"chiso/indicator"
)

// Compare ranks indicators over a set of units.
//
// Rules: a unit's candidates are its canonical values of the kind (range
// periods only when an exact range is asked for; only the exact period,
// or the indicator's common period, when the mode says so) of one basis
// per indicator: the one asked for, else the first of indicator.Bases
// that any unit's candidate has, so values are compared like with like
// (a unit with values of other bases only is OTHER_BASIS). Its pick is
// the latest candidate (see latest). COMMON's period is chosen per
// indicator: the most recent period in which at least MinCoverage of the
// units have a candidate (a unit with candidates, none then, is
// NOT_IN_COMMON_PERIOD). With MaxAgeYears, a pick whose period ended more
// than that before the indicator's newest pick is STALE. The change since
// the earliest value runs from the unit's earliest canonical
// single-period value of the same basis. (A row's alternatives are the
// other observations of its pick's key, indicator.Reader.Alternatives.)
// The parent's value is its canonical value for the pick's period and
// basis. Ranks are competition ranks in the indicator's direction; when
// an indicator's ranked values carry different methodologies, its rows
// and the comparison say so (MixedMethodology).
func (e *Engine) Compare(ctx context.Context, q indicator.CompareQuery) (indicator.Comparison, error) {
	ctx, cat, done, err := e.pin(ctx)
	if err != nil {
		return indicator.Comparison{}, err
	}
	defer done()
	day := exactDay(q.Period)
	if q.Tree != nil {
		day = q.Tree
	}
	units, err := resolveSet(cat, q.Units, "units", day, e.today())
	if err != nil {
		return indicator.Comparison{}, err
	}
	inds, err := knownIndicators(cat, q.Indicators, "indicators")
	if err != nil {
		return indicator.Comparison{}, err
	}
	// An indicator asked twice (or by a code and its alias) is compared once.
	asked := map[string]bool{}
	inds = slices.DeleteFunc(inds, func(x indicator.Indicator) bool {
		dup := asked[x.Code]
		asked[x.Code] = true
		return dup
	})
	sp, err := compareSpecOf(q, len(units))
	if err != nil {
		return indicator.Comparison{}, err
	}
	out := indicator.Comparison{UnitsInSet: len(units)}
	parents := []string{}
	if !q.Skip.Parent {
		parents = parentsOf(cat, units)
	}
	var series map[indicator.SeriesKey][]Row
	var tr treeRows
	if q.Tree != nil {
		// In another tree: every unit's figures, own or carried (inTree).
		tr, err = e.inTree(ctx, cat, uniqueCodes(append(slices.Clone(units), parents...)), inds, kindOrActual(q.Kind), *q.Tree)
		series = tr.rows
	} else {
		series, err = e.rows(ctx, RowQuery{Units: append(slices.Clone(units), parents...), Indicators: codesOf(inds), Kind: kindOrActual(q.Kind), Canonical: true})
	}
	if err != nil {
		return out, err
	}
	// One row per unit and indicator (units and indicators are distinct);
	// a unit without a pick stays NO_DATA.
	var keys []rankKey
	var ends []compareEnds
	for _, x := range inds {
		picks, missing, basis, common := sp.pick(cat, x, units, series)
		for _, u := range units {
			un, _ := cat.Unit(u)
			row := indicator.CompareRow{Unit: u, Indicator: x.Code, Missing: "NO_DATA", Basis: basis, CommonPeriod: common, Tree: q.Tree}
			if m, ok := missing[u]; ok {
				row.Missing = m
			}
			key := rankKey{parent: un.Parent, lowerBetter: x.Direction == indicator.LowerBetter}
			var end compareEnds
			if q.Tree != nil {
				row.ValueReason = tr.reason(indicator.SeriesKey{Unit: u, Indicator: x.Code}, sp.exact)
			}
			if k, ok := picks[u]; ok {
				if k.stale {
					row.Missing = "STALE"
				} else {
					row.Missing = ""
					end = k.compareEnds
					row.Carried, row.ValueReason = tr.carried[k.row], ""
					v := k.row.Value
					key.value, key.rv = &v, k.rv
					if pr := k.parentRow; pr != nil {
						row.DiffFromParent = num(v-pr.Value, false)
						row.ShareOfParent = num(v/pr.Value*100, x.Rollup.Kind != indicator.RuleSum || pr.Value == 0)
					}
				}
			}
			out.Rows = append(out.Rows, row)
			keys = append(keys, key)
			ends = append(ends, end)
		}
	}
	// Ranks across methodologies are flagged, per indicator.
	meths := map[string]map[string]bool{}
	for i, r := range out.Rows {
		if keys[i].rv != nil && ends[i].meth != "" {
			if meths[r.Indicator] == nil {
				meths[r.Indicator] = map[string]bool{}
			}
			meths[r.Indicator][ends[i].meth] = true
		}
	}
	for i := range out.Rows {
		if r := &out.Rows[i]; keys[i].rv != nil && len(meths[r.Indicator]) > 1 {
			r.MixedMethodology, out.MixedMethodology = true, true
		}
	}
	order := rankCompare(out.Rows, keys)
	out.Rows, ends = permute(out.Rows, order), permute(ends, order)
	// One read for the observations the rows name.
	var ids []int64
	for _, p := range ends {
		ids = append(ids, p.pick, p.parent)
		if !q.Skip.EarliestObservation {
			ids = append(ids, p.earliest)
		}
	}
	obs, err := e.observations(ctx, ids...)
	if err != nil {
		return out, err
	}
	periods := map[string]indicator.Period{}
	perInd := map[string]map[string]bool{}
	for i, p := range ends {
		row := &out.Rows[i]
		if u, ok := cat.Unit(row.Unit); ok {
			row.UnitInfo = &u
		}
		if x, ok := cat.Indicator(row.Indicator); ok {
			row.IndicatorInfo = &x
		}
		row.Obs, row.Parent = obsPtr(obs, p.pick), obsPtr(obs, p.parent)
		per := row.PeriodOrNil()
		if per == nil {
			continue
		}
		periods[per.Label] = *per
		if perInd[row.Indicator] == nil {
			perInd[row.Indicator] = map[string]bool{}
		}
		perInd[row.Indicator][per.Label] = true
		// A change from or to a carried figure has no observation to
		// start or end at: sinceEarliest is then null.
		if p.since != nil && row.Obs != nil && p.earliest != 0 {
			fillChange(p.since, obs)
			p.since.To = *row.Obs
			row.Earliest = p.since
		}
	}
	for _, labels := range perInd {
		if len(labels) > 1 {
			out.MixedPeriods = true
		}
	}
	for _, p := range periods {
		out.Periods = append(out.Periods, p)
	}
	indicator.SortPeriods(out.Periods)
	if sp.mode == indicator.PeriodCommon {
		out.Common = sameCommon(out.Rows)
	}
	return out, nil
}

// compareSpec is a comparison's period choice and ranking, checked.
type compareSpec struct {
	mode      indicator.PeriodMode
	exact     *indicator.Period
	ranges    bool // range periods are candidates (an exact range was asked for)
	rankBy    indicator.RankBy
	minUnits  int
	maxAge    float64
	earliest  bool // the change since the earliest value is wanted
	wantPrnts bool
	basis     *indicator.Basis
}

func compareSpecOf(q indicator.CompareQuery, nUnits int) (compareSpec, error) {
	sp := compareSpec{mode: q.Period.Mode, rankBy: q.RankBy, maxAge: q.Period.MaxAgeYears, wantPrnts: !q.Skip.Parent, basis: q.Basis}
	if sp.mode == "" {
		sp.mode = indicator.PeriodLatest
	}
	switch sp.mode {
	case indicator.PeriodExact:
		if q.Period.Period == nil {
			return sp, indicator.Invalidf("period.label", "EXACT needs a period label")
		}
		sp.exact, sp.ranges = q.Period.Period, q.Period.Period.Kind == indicator.PeriodRange
	case indicator.PeriodLatest, indicator.PeriodCommon:
	default:
		return sp, indicator.Invalidf("period.mode", "expected EXACT, LATEST or COMMON, got %q", sp.mode)
	}
	switch sp.rankBy {
	case "":
		sp.rankBy = indicator.RankByValue
	case indicator.RankByValue, indicator.RankByChange, indicator.RankByGrowth:
	default:
		return sp, indicator.Invalidf("rankBy", "expected VALUE, CHANGE or GROWTH, got %q", q.RankBy)
	}
	minCov := q.Period.MinCoverage
	if minCov == 0 {
		minCov = 1
	}
	if minCov < 0 || minCov > 1 {
		return sp, indicator.Invalidf("period.minCoverage", "expected a share between 0 and 1, got %v", minCov)
	}
	sp.minUnits = max(int(math.Ceil(minCov*float64(nUnits)-1e-9)), 1)
	if q.Period.MaxAgeYears < 0 {
		return sp, indicator.Invalidf("period.maxAgeYears", "must be 0 (no limit) or more")
	}
	sp.earliest = !q.Skip.Earliest || sp.rankBy != indicator.RankByValue
	return sp, nil
}

// compareEnds are the ids of the observations a comparison row names
// (0 for none), and its change since the earliest value.
type compareEnds struct {
	pick, parent, earliest int64
	since                  *indicator.Change
	meth                   string // the pick's methodology
}

// comparePick is one unit's pick of one indicator.
type comparePick struct {
	row       *Row
	parentRow *Row
	stale     bool
	rv        *float64 // what the unit is ranked by
	compareEnds
}

// pick chooses each unit's value of indicator x: the picks, the reasons
// of the units without one (when not NO_DATA), the basis compared and
// COMMON's period.
func (sp compareSpec) pick(cat Catalog, x indicator.Indicator, units []string, series map[indicator.SeriesKey][]Row) (map[string]comparePick, map[string]string, indicator.Basis, *indicator.Period) {
	type unitRows struct {
		unit string
		rows []Row
		cand []*Row
	}
	us := make([]unitRows, 0, len(units))
	has := map[indicator.Basis]bool{}
	for _, u := range units {
		ur := unitRows{unit: u, rows: series[indicator.SeriesKey{Unit: u, Indicator: x.Code}]}
		for i := range ur.rows {
			r := &ur.rows[i]
			if r.Canonical && (sp.ranges || !isRange(r)) && (sp.exact == nil || r.Period.Label == sp.exact.Label) {
				ur.cand = append(ur.cand, r)
				has[r.Basis] = true
			}
		}
		us = append(us, ur)
	}
	basis := firstBasis(sp.basis, has)
	missing := map[string]string{}
	for i := range us {
		n := len(us[i].cand)
		us[i].cand = slices.DeleteFunc(us[i].cand, func(r *Row) bool { return r.Basis != basis })
		if n > 0 && len(us[i].cand) == 0 {
			missing[us[i].unit] = "OTHER_BASIS"
		}
	}
	var common *indicator.Period
	if sp.mode == indicator.PeriodCommon {
		// The most recent period at least minUnits units share.
		n := map[string]int{}
		per := map[string]*indicator.Period{}
		for _, ur := range us {
			seen := map[string]bool{}
			for _, r := range ur.cand {
				if l := r.Period.Label; !seen[l] {
					seen[l] = true
					n[l]++
					per[l] = r.Period
				}
			}
		}
		for l, k := range n {
			if k >= sp.minUnits && (common == nil || laterPeriod(per[l], common)) {
				common = per[l]
			}
		}
		for i := range us {
			n := len(us[i].cand)
			us[i].cand = slices.DeleteFunc(us[i].cand, func(r *Row) bool { return common == nil || r.Period.Label != common.Label })
			if n > 0 && len(us[i].cand) == 0 {
				missing[us[i].unit] = "NOT_IN_COMMON_PERIOD"
			}
		}
	}
	picks := make(map[string]comparePick, len(us))
	newest := math.Inf(-1)
	for _, ur := range us {
		if r := latest(ur.cand); r != nil {
			picks[ur.unit] = comparePick{row: r}
			newest = max(newest, r.EndPos)
		}
	}
	for _, ur := range us {
		k, ok := picks[ur.unit]
		if !ok {
			continue
		}
		r := k.row
		k.pick, k.meth = r.ID, r.Methodology
		k.stale = sp.maxAge > 0 && newest-r.EndPos > sp.maxAge
		if sp.earliest {
			for i := range ur.rows {
				if e := &ur.rows[i]; e.Canonical && !isRange(e) && e.Basis == r.Basis {
					if e.ID != r.ID {
						k.earliest, k.since = e.ID, changeOf(e, r)
					}
					break
				}
			}
		}
		switch sp.rankBy {
		case indicator.RankByChange:
			if k.since != nil {
				v := k.since.Absolute
				k.rv = &v
			}
		case indicator.RankByGrowth:
			if k.since != nil {
				k.rv = k.since.CAGR
			}
		default:
			v := r.Value
			k.rv = &v
		}
		if un, ok := cat.Unit(ur.unit); ok && sp.wantPrnts && un.Parent != "" {
			prs := series[indicator.SeriesKey{Unit: un.Parent, Indicator: x.Code}]
			for i := range prs {
				if pr := &prs[i]; pr.Canonical && pr.Period.Label == r.Period.Label && pr.Basis == r.Basis {
					k.parentRow, k.parent = pr, pr.ID
					break
				}
			}
		}
		picks[ur.unit] = k
	}
	return picks, missing, basis, common
}

// firstBasis is the basis asked for, else the first of indicator.Bases
// in has (the point basis when has is empty).
func firstBasis(asked *indicator.Basis, has map[indicator.Basis]bool) indicator.Basis {
	if asked != nil {
		return *asked
	}
	for _, b := range indicator.Bases {
		if has[b] {
			return b
		}
	}
	return indicator.BasisPoint
}

// sameCommon is the common period every indicator with data shares, or
// nil when their common periods differ or one has none (see
// CompareRow.CommonPeriod). An indicator without data has nothing in
// common and is passed over.
func sameCommon(rows []indicator.CompareRow) *indicator.Period {
	var common *indicator.Period
	for i := range rows {
		c := rows[i].CommonPeriod
		switch {
		case c == nil && rows[i].Missing == "NO_DATA":
		case c == nil || common != nil && common.Label != c.Label:
			return nil
		case common == nil:
			common = c
		}
	}
	return common
}

func codesOf(inds []indicator.Indicator) []string {
	out := make([]string, len(inds))
	for i, x := range inds {
		out[i] = x.Code
	}
	return out
}

// basisRank is a basis's place in indicator.Bases (unknown ones last).
func basisRank(b indicator.Basis) int {
	if i := slices.Index(indicator.Bases, b); i >= 0 {
		return i
	}
	return len(indicator.Bases)
}
