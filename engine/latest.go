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
	ctx, _, done, err := e.pin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	want := make(map[indicator.SeriesKey]bool, len(keys))
	var units, inds []string
	for _, k := range keys {
		if !want[k] {
			want[k] = true
			units = append(units, k.Unit)
			if !slices.Contains(inds, k.Indicator) {
				inds = append(inds, k.Indicator)
			}
		}
	}
	// Streamed: only each series' best so far is kept.
	best := make(map[indicator.SeriesKey]Row, len(keys))
	n := 0
	err = e.Store.Rows(ctx, RowQuery{Units: units, Indicators: inds, Kind: kindOrActual(kind), Canonical: true}, func(r *Row) error {
		if n++; n%checkEvery == 0 {
			if err := ctxErr(ctx); err != nil {
				return err
			}
		}
		k := indicator.SeriesKey{Unit: r.Unit, Indicator: r.Indicator}
		if isRange(r) || !want[k] {
			return nil
		}
		if b, ok := best[k]; !ok || later(r, &b) {
			best[k] = *r
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
		out[k] = obs[r.ID]
	}
	return out, ctxErr(ctx)
}
