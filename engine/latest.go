package engine

import (
	"context"
	"slices"

	"chiso/indicator"
)

// Latest returns each series' latest canonical single-period value of one
// kind (see latest); keys without one are absent.
func (e *Engine) Latest(ctx context.Context, keys []indicator.SeriesKey, kind indicator.ObservationKind) (map[indicator.SeriesKey]indicator.Observation, error) {
	out := make(map[indicator.SeriesKey]indicator.Observation, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	ctx, cat, done, err := e.pin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	// A key may name an indicator by an alias: it is answered under the
	// key asked, with the indicator's code.
	want := make(map[indicator.SeriesKey]bool, len(keys))
	asked := map[indicator.SeriesKey][]indicator.SeriesKey{}
	var units, inds []string
	for _, k := range keys {
		c := k
		if x, ok := cat.Indicator(k.Indicator); ok {
			c.Indicator = x.Code
		}
		asked[c] = append(asked[c], k)
		if !want[c] {
			want[c] = true
			units = append(units, c.Unit)
			if !slices.Contains(inds, c.Indicator) {
				inds = append(inds, c.Indicator)
			}
		}
	}
	// Streamed: only each series' best so far is kept.
	best := make(map[indicator.SeriesKey]Row, len(keys))
	err = e.stream(ctx, RowQuery{Units: units, Indicators: inds, Kind: kindOrActual(kind), Canonical: true}, func(rows []Row) error {
		k := indicator.SeriesKey{Unit: rows[0].Unit, Indicator: rows[0].Indicator}
		if !want[k] {
			return nil
		}
		var b *Row
		for i := range rows {
			if r := &rows[i]; !isRange(r) && (b == nil || later(r, b)) {
				b = r
			}
		}
		if b != nil {
			if old, ok := best[k]; !ok || later(b, &old) {
				best[k] = *b
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(best))
	for _, r := range best {
		ids = append(ids, r.ID)
	}
	obs, err := e.observations(ctx, ids...)
	if err != nil {
		return nil, err
	}
	for k, r := range best {
		for _, a := range asked[k] {
			out[a] = obs[r.ID]
		}
	}
	return out, nil
}
