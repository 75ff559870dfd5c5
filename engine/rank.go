package engine

import (
	"cmp"
	"slices"

	"chiso/indicator"
)

// rankKey is what one comparison row is ranked by.
type rankKey struct {
	parent      string   // the unit's parent; "" is a group of its own
	rv          *float64 // the value ranked on (value, change or growth); nil is unranked
	value       *float64 // the picked value, for the set mean
	lowerBetter bool
}

// rankCompare fills each row's rank, ties, rank within its parent, the
// parent's count, parent ties, set mean and difference from it, as
// rank() and count() over (indicator) and (indicator, parent) would:
// competition ranks over the rows with something to rank by, better first
// in the indicator's direction, equal values sharing a rank. It returns
// the order the rows are shown in: by indicator, then rank (unranked
// last), then unit.
func rankCompare(rows []indicator.CompareRow, keys []rankKey) []int {
	type parentKey struct{ indicator, parent string }
	byInd := map[string][]int{}
	byParent := map[parentKey][]int{}
	for i, r := range rows {
		byInd[r.Indicator] = append(byInd[r.Indicator], i)
		pk := parentKey{r.Indicator, keys[i].parent}
		byParent[pk] = append(byParent[pk], i)
	}
	for _, idx := range byInd {
		rankWithin(idx, keys, func(i, rank, ties int) { rows[i].Rank, rows[i].RankTies = rank, ties })
		sum, n := 0.0, 0
		for _, i := range idx {
			if v := keys[i].value; v != nil {
				sum += *v
				n++
			}
		}
		if n == 0 {
			continue
		}
		mean := sum / float64(n)
		for _, i := range idx {
			rows[i].SetMean = num(mean, false)
			if v := keys[i].value; v != nil {
				rows[i].DiffFromMean = num(*v-mean, false)
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
			return *keys[i].rv
		}
		return -*keys[i].rv
	}
	var ranked []int
	for _, i := range idx {
		if keys[i].rv != nil {
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
