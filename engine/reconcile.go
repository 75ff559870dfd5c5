package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"chiso/indicator"
)

// Reconcile compares breakdowns with their totals.
//
// Rules: the parts of a total are the indicators naming it as their total
// with a breakdown dimension (parts without one are subsets, such as the
// ethnic-minority share of a count, and are never summed into it); each
// unit × period × basis × dimension sums its parts' canonical values of
// the kind, converted to the total's measure unit, and is compared with
// the total's canonical value of the same period and basis. A total
// whose catalog declares no such parts is refused with the reason.
func (e *Engine) Reconcile(ctx context.Context, q indicator.ReconcileQuery) ([]indicator.ReconcileRow, error) {
	ctx, cat, done, err := e.pin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	tot, err := knownIndicators(cat, []string{q.Total}, "total")
	if err != nil {
		return nil, err
	}
	total := tot[0]
	var units []string
	if q.Units != nil {
		if units, err = resolveSet(cat, indicator.UnitSet{Codes: q.Units}, "units", nil, e.today()); err != nil {
			return nil, err
		}
	}
	var parts, subsets []indicator.Indicator
	for _, p := range cat.Parts(total.Code) {
		if p.Breakdown != "" {
			parts = append(parts, p)
		} else {
			subsets = append(subsets, p)
		}
	}
	if len(parts) == 0 {
		reason := fmt.Sprintf("%s has no parts with a breakdown dimension in the catalog, so there is nothing to reconcile", total.Code)
		if len(subsets) > 0 {
			reason += fmt.Sprintf(" (%s name it as their total but are subsets, not parts that add up to it)", strings.Join(codesOf(subsets), ", "))
		}
		return nil, indicator.Invalidf("total", "%s", reason)
	}
	factor := map[string]float64{}
	expected := map[string]int{}
	for _, p := range parts {
		f, err := indicator.Factor(p, total)
		if err != nil {
			return nil, indicator.Invalidf("total", "part %s cannot be added into %s: %v", p.Code, total.Code, err)
		}
		factor[p.Code] = f
		expected[p.Breakdown]++
	}
	codes := append(codesOf(parts), total.Code)
	series, err := e.rows(ctx, RowQuery{Units: units, Indicators: codes, Kind: kindOrActual(q.Kind), Canonical: true})
	if err != nil {
		return nil, err
	}
	type key struct {
		unit, period, breakdown string
		basis                   indicator.Basis
	}
	type acc struct {
		per *indicator.Period
		sum float64
		n   int
		ids []int64
	}
	accs := map[key]*acc{}
	totals := map[[3]string]*Row{}
	for _, p := range parts {
		for sk, rows := range series {
			if sk.Indicator != p.Code {
				continue
			}
			for i := range rows {
				r := &rows[i]
				if q.Period != nil && r.Period.Label != q.Period.Label {
					continue
				}
				k := key{r.Unit, r.Period.Label, p.Breakdown, r.Basis}
				a := accs[k]
				if a == nil {
					a = &acc{per: r.Period}
					accs[k] = a
				}
				a.sum += r.Value * factor[p.Code]
				a.n++
				a.ids = append(a.ids, r.ID)
			}
		}
	}
	for sk, rows := range series {
		if sk.Indicator != total.Code {
			continue
		}
		for i := range rows {
			r := &rows[i]
			tk := [3]string{r.Unit, r.Period.Label, string(r.Basis)}
			if totals[tk] == nil {
				totals[tk] = r
			}
		}
	}
	keys := make([]key, 0, len(accs))
	for k := range accs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		pa, pb := accs[a].per, accs[b].per
		switch {
		case a.unit != b.unit:
			return a.unit < b.unit
		case a.period != b.period:
			return periodBefore(pa, pb)
		case a.basis != b.basis:
			return a.basis < b.basis
		}
		return a.breakdown < b.breakdown
	})
	var tids []int64
	out := make([]indicator.ReconcileRow, 0, len(keys))
	for _, k := range keys {
		a := accs[k]
		slices.Sort(a.ids)
		row := indicator.ReconcileRow{Unit: k.unit, Total: total.Code, Breakdown: k.breakdown, Period: *a.per,
			Sum: num(a.sum, false), Parts: a.n, PartsExpected: expected[k.breakdown], Inputs: a.ids}
		var tid int64
		if t := totals[[3]string{k.unit, k.period, string(k.basis)}]; t != nil {
			tid = t.ID
			row.Gap = num(a.sum-t.Value, false)
		}
		tids = append(tids, tid)
		out = append(out, row)
	}
	obs, err := e.observations(ctx, tids...)
	if err != nil {
		return nil, err
	}
	for i, id := range tids {
		out[i].TotalObs = obsPtr(obs, id)
	}
	return out, nil
}
