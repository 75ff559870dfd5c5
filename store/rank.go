package store

import (
	"cmp"
	"database/sql"
	"slices"

	"chiso/indicator"
)

// rankKey is what one comparison row is ranked by, as compareSQL reads it.
type rankKey struct {
	parent      sql.NullString  // the unit's parent; null is a group of its own
	rv          sql.NullFloat64 // the value ranked on (value, change or growth)
	value       sql.NullFloat64 // the picked value, for the set mean
	lowerBetter bool
}

// rankCompare fills each row's rank, ties, rank within its parent, the
// parent's count, parent ties, set mean and difference from it, exactly as
// SQL's rank() and count() over (indicator) and (indicator, parent) would:
// competition ranks over the rows with something to rank by, better first
// in the indicator's direction, equal values sharing a rank. It returns
// the order the rows are shown in: by indicator, then rank (unranked
// last), then unit.
func rankCompare(rows []indicator.CompareRow, keys []rankKey) []int {
	type parentKey struct {
		indicator, parent string
		valid             bool
	}
	byInd := map[string][]int{}
	byParent := map[parentKey][]int{}
	for i, r := range rows {
		byInd[r.Indicator] = append(byInd[r.Indicator], i)
		pk := parentKey{r.Indicator, keys[i].parent.String, keys[i].parent.Valid}
		byParent[pk] = append(byParent[pk], i)
	}
	for _, idx := range byInd {
		rankWithin(idx, keys, func(i, rank, ties int) { rows[i].Rank, rows[i].RankTies = rank, ties })
		sum, n := 0.0, 0
		for _, i := range idx {
			if keys[i].value.Valid {
				sum += keys[i].value.Float64
				n++
			}
		}
		if n == 0 {
			continue
		}
		mean := sum / float64(n)
		for _, i := range idx {
			rows[i].SetMean = fptr(sql.NullFloat64{Float64: mean, Valid: true})
			if keys[i].value.Valid {
				rows[i].DiffFromMean = fptr(sql.NullFloat64{Float64: keys[i].value.Float64 - mean, Valid: true})
			}
		}
	}
	for _, idx := range byParent {
		of := rankWithin(idx, keys, func(i, rank, ties int) { rows[i].RankInParent, rows[i].ParentTies = rank, ties })
		for _, i := range idx {
			rows[i].RankInParentOf = of
		}
	}
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		ra, rb := rows[a], rows[b]
		if c := cmp.Compare(ra.Indicator, rb.Indicator); c != 0 {
			return c
		}
		if (ra.Rank == 0) != (rb.Rank == 0) { // unranked last
			if ra.Rank == 0 {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(ra.Rank, rb.Rank); c != 0 {
			return c
		}
		return cmp.Compare(ra.Unit, rb.Unit)
	})
	return order
}

// rankWithin ranks the rows idx that have something to rank by and calls
// set with each one's competition rank and the size of its tie; it
// returns how many rows were ranked.
func rankWithin(idx []int, keys []rankKey, set func(i, rank, ties int)) int {
	key := func(i int) float64 {
		if keys[i].lowerBetter {
			return keys[i].rv.Float64
		}
		return -keys[i].rv.Float64
	}
	var ranked []int
	for _, i := range idx {
		if keys[i].rv.Valid {
			ranked = append(ranked, i)
		}
	}
	slices.SortStableFunc(ranked, func(a, b int) int { return cmp.Compare(key(a), key(b)) })
	for start := 0; start < len(ranked); {
		end := start + 1
		for end < len(ranked) && key(ranked[end]) == key(ranked[start]) {
			end++
		}
		for _, i := range ranked[start:end] {
			set(i, start+1, end-start)
		}
		start = end
	}
	return len(ranked)
}

// permute returns xs in the given order.
func permute[T any](xs []T, order []int) []T {
	out := make([]T, len(order))
	for i, j := range order {
		out[i] = xs[j]
	}
	return out
}
