package store

import (
	"context"
	"database/sql"
	"sort"

	"chiso/indicator"
)

// Alternatives returns, per observation id, the other observations of
// its key: the same unit, indicator, period, kind and basis (see
// basisSQL). Where they disagree, the key holds a source conflict, and
// its canonical observation is the one preferSQL ranks first; the list
// is in that order (the canonical one first, when the asked-for
// observation is not it). An id alone in its key maps to an empty list;
// an unknown id is absent. With the point index built it reads the
// observations, then their series, from it; otherwise it costs one
// statement.
func (s *Store) Alternatives(ctx context.Context, ids []int64) (map[int64][]indicator.Observation, error) {
	sn, done, err := s.snap(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	stated := make(map[string]string, len(sn.dim.sources))
	for _, src := range sn.dim.sources {
		stated[src.ID] = src.StatedOn()
	}
	if sn.pts.Load() == nil {
		return s.alternativesDB(ctx, sn, ids, stated)
	}
	ctx = context.WithValue(ctx, pinKey{}, sn) // both reads see one snapshot
	obs, err := s.ObservationsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	var keys []indicator.SeriesKey
	seen := map[indicator.SeriesKey]bool{}
	for _, id := range ids {
		if o, ok := obs[id]; ok {
			if k := (indicator.SeriesKey{Unit: o.Unit, Indicator: o.Indicator}); !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	series, err := s.Series(ctx, keys, nil)
	if err != nil {
		return nil, err
	}
	out := make(map[int64][]indicator.Observation, len(ids))
	for _, id := range ids {
		o, ok := obs[id]
		if !ok {
			continue
		}
		alts := []indicator.Observation{}
		for _, x := range series[indicator.SeriesKey{Unit: o.Unit, Indicator: o.Indicator}] {
			if x.ID != o.ID && x.Period.Label == o.Period.Label && x.Kind == o.Kind && x.Basis == o.Basis {
				alts = append(alts, x)
			}
		}
		sort.SliceStable(alts, func(i, j int) bool { return preferred(alts[i], alts[j], stated) })
		out[id] = alts
	}
	return out, nil
}

// alternativesSQL reads, for the ids in the list (the third argument)
// between the first two, each id with the rows sharing its key: the keys of the asked-for ids
// (found by id range, which prunes row groups), joined to the other rows
// of their key; an id alone in its key comes once, with NULLs. The
// columns after k.of are obsColumns.
const alternativesSQL = `WITH k AS MATERIALIZED (
		SELECT id AS of, unit, indicator, period, kind, basis FROM observations
		WHERE id BETWEEN ?::BIGINT AND ?::BIGINT AND id IN (SELECT unnest(?::BIGINT[])))
	SELECT k.of, o.id, o.unit, o.indicator, o.period, o.kind, o.value, o.denominator, o.qualifier, o.flags,
		o.methodology, o.source, o.line, o.raw, o.note, o.canonical, o.basis
	FROM k LEFT JOIN observations o
		ON o.indicator = k.indicator AND o.unit = k.unit AND o.period = k.period AND o.kind = k.kind
		AND o.basis = k.basis AND o.id <> k.of`

// alternativesDB answers Alternatives in one statement (alternativesSQL).
// Asked-for ids that exist map to a list, empty when alone in their key.
func (s *Store) alternativesDB(ctx context.Context, sn *snapshot, ids []int64, stated map[string]string) (map[int64][]indicator.Observation, error) {
	out := make(map[int64][]indicator.Observation, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	lo, hi := ids[0], ids[0]
	for _, id := range ids {
		lo, hi = min(lo, id), max(hi, id)
	}
	err := s.query(ctx, sn, "store: alternatives", alternativesSQL, []any{lo, hi, ids},
		func(r *sql.Rows) error {
			var of int64
			o, ok, err := scanObservation(r, sn.dim, &of)
			if err != nil {
				return err
			}
			if _, seen := out[of]; !seen {
				out[of] = []indicator.Observation{}
			}
			if ok {
				out[of] = append(out[of], o)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	for _, alts := range out {
		sort.SliceStable(alts, func(i, j int) bool { return preferred(alts[i], alts[j], stated) })
	}
	return out, nil
}

// preferred orders a key's observations as preferSQL does: the canonical
// one first, then not doubtful, the latest statement (the source's
// content date, else its date, compared from its first day: a YYYY date
// sorts before any day of that year), not a range bound, source, line and
// id.
func preferred(a, b indicator.Observation, stated map[string]string) bool {
	if a.Canonical != b.Canonical {
		return a.Canonical
	}
	if da, db := doubtful(a), doubtful(b); da != db {
		return db
	}
	if sa, sb := stated[a.Source], stated[b.Source]; sa != sb {
		switch {
		case sa == "":
			return false
		case sb == "":
			return true
		}
		return firstDay(sa) > firstDay(sb)
	}
	if ba, bb := bound(a), bound(b); ba != bb {
		return bb
	}
	if a.Source != b.Source {
		return a.Source < b.Source
	}
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.ID < b.ID
}

func doubtful(o indicator.Observation) bool {
	return o.HasFlag("inconsistent") || o.HasFlag("typo_suspected")
}

func bound(o indicator.Observation) bool {
	return o.Qualifier == "range_min" || o.Qualifier == "range_max"
}

// firstDay completes a YYYY or YYYY-MM date to its first day, so dates of
// different precision compare as statedOn does.
func firstDay(d string) string {
	switch len(d) {
	case 4:
		return d + "-01-01"
	case 7:
		return d + "-01"
	}
	return d
}
