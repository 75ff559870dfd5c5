package graph

import (
	"chiso/graph/model"
	"chiso/indicator"
)

// ObservationQuery is the observations table's filter as the engine
// takes it, without a page: what Query.observations reads, and what an
// export of that table streams.
func ObservationQuery(filter *model.ObservationFilter) (indicator.ObservationQuery, error) {
	var q indicator.ObservationQuery
	if filter == nil {
		return q, nil
	}
	q.Units, q.Indicators, q.Sources, q.Kinds = filter.Units, filter.Indicators, filter.Sources, domainKinds(filter.Kinds)
	for _, p := range []struct {
		arg   string
		label *string
		dst   **indicator.Period
	}{{"filter.periodFrom", filter.PeriodFrom, &q.From}, {"filter.periodTo", filter.PeriodTo, &q.To}} {
		per, err := parsePeriod(p.arg, p.label)
		if err != nil {
			return q, err
		}
		*p.dst = per
	}
	return q, nil
}
