package store

import (
	"sort"

	"chiso/indicator"
)

// indicatorsOf answers UnitIndicators: each unit's indicators with data,
// by code (a unit's series follow the indicators' order).
func (p *points) indicatorsOf(dim *dimensions, units []string) map[string][]string {
	out := make(map[string][]string, len(units))
	for _, u := range units {
		list := []string{}
		if k, ok := dim.unitIndex[u]; ok {
			for _, sp := range p.byUnit[k] {
				list = append(list, dim.indicators[p.spans[sp].ind].Code)
			}
		}
		out[u] = list
	}
	return out
}

// coverageOf answers Coverage: per indicator, its row count, its units by
// code and its periods in time order.
func (p *points) coverageOf(dim *dimensions, inds []string) map[string]indicator.Coverage {
	out := make(map[string]indicator.Coverage, len(inds))
	for _, c := range inds {
		cv := indicator.Coverage{Units: []string{}, Periods: []indicator.Period{}}
		x, ok := dim.indIndex[c]
		if r := p.byInd[x]; ok && r[0] >= 0 {
			lo, hi := p.spans[r[0]].lo, p.spans[r[1]].hi
			cv.Observations = int(hi - lo + 1)
			for k := r[0]; k <= r[1]; k++ {
				cv.Units = append(cv.Units, dim.units[p.spans[k].unit].Code)
			}
			sort.Strings(cv.Units)
			seen := make([]bool, len(p.period.vals))
			for i := lo - 1; i < hi; i++ {
				seen[p.period.codes[i]] = true
			}
			for code, ok := range seen {
				if ok {
					cv.Periods = append(cv.Periods, dim.periods[p.period.vals[code]])
				}
			}
			indicator.SortPeriods(cv.Periods)
		}
		out[c] = cv
	}
	return out
}
