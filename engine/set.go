package engine

import (
	"fmt"
	"time"

	"chiso/indicator"
)

// resolveSet turns a unit set into codes, in the set's order, without
// repeats. A set by parent (childrenOf, under) lists the units of the
// tree valid on one day: the set's asOf; else at, the day of the question
// (a period's first day); else the tree day of indicator.TreeDay (today,
// or the last tree that has units of the kind asked).
func resolveSet(cat Catalog, set indicator.UnitSet, arg string, at *time.Time, today time.Time) ([]string, error) {
	forms := 0
	for _, used := range []bool{len(set.Codes) > 0, set.ChildrenOf != "", set.Under != ""} {
		if used {
			forms++
		}
	}
	if forms != 1 {
		return nil, indicator.Invalidf(arg, "give exactly one of codes, childrenOf, or under with level")
	}
	known := func(code, sub string) error {
		if _, ok := cat.Unit(code); !ok {
			return &indicator.ArgError{Arg: arg + "." + sub, Reason: fmt.Sprintf("no unit with code %q", code), Kind: indicator.ErrNotFound}
		}
		return nil
	}
	var units []indicator.Unit
	switch {
	case len(set.Codes) > 0:
		seen := map[string]bool{}
		var out []string
		for _, c := range set.Codes {
			if err := known(c, "codes"); err != nil {
				return nil, err
			}
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
		return out, nil
	case set.ChildrenOf != "":
		if err := known(set.ChildrenOf, "childrenOf"); err != nil {
			return nil, err
		}
		units = unitsBelow(cat, set.ChildrenOf, "", setDay(cat, set, set.ChildrenOf, "", at, today))
	default:
		if err := known(set.Under, "under"); err != nil {
			return nil, err
		}
		if set.Level == "" {
			return nil, indicator.Invalidf(arg+".level", "under needs the level of the units wanted")
		}
		units = unitsBelow(cat, set.Under, set.Level, setDay(cat, set, set.Under, set.Level, at, today))
	}
	out := make([]string, len(units))
	for i, u := range units {
		out[i] = u.Code
	}
	return out, nil
}

// setDay is the day a set by parent is listed on (see resolveSet).
func setDay(cat Catalog, set indicator.UnitSet, parent string, level indicator.Level, at *time.Time, today time.Time) time.Time {
	switch {
	case set.AsOf != nil:
		return *set.AsOf
	case at != nil:
		return *at
	}
	return treeDayBelow(cat, parent, level, today)
}

// knownIndicators looks up indicator codes, refusing an empty list and
// naming the first unknown code.
func knownIndicators(cat Catalog, codes []string, arg string) ([]indicator.Indicator, error) {
	if len(codes) == 0 {
		return nil, indicator.Invalidf(arg, "name at least one indicator")
	}
	out := make([]indicator.Indicator, 0, len(codes))
	for _, c := range codes {
		x, ok := cat.Indicator(c)
		if !ok {
			return nil, &indicator.ArgError{Arg: arg, Reason: fmt.Sprintf("no indicator with code %q", c), Kind: indicator.ErrNotFound}
		}
		out = append(out, x)
	}
	return out, nil
}

// knownUnit looks up one unit code.
func knownUnit(cat Catalog, code, arg string) (indicator.Unit, error) {
	u, ok := cat.Unit(code)
	if !ok {
		return u, &indicator.ArgError{Arg: arg, Reason: fmt.Sprintf("no unit with code %q", code), Kind: indicator.ErrNotFound}
	}
	return u, nil
}

// parentsOf returns the distinct parents of codes, in order of first
// appearance.
func parentsOf(cat Catalog, codes []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, c := range codes {
		if u, ok := cat.Unit(c); ok && u.Parent != "" && !seen[u.Parent] {
			seen[u.Parent] = true
			out = append(out, u.Parent)
		}
	}
	return out
}

func kindOrActual(k indicator.ObservationKind) indicator.ObservationKind {
	if k == "" {
		return indicator.KindActual
	}
	return k
}

// exactDay is the day of an exact period's question: its first day (nil
// for the other modes).
func exactDay(pc indicator.PeriodChoice) *time.Time {
	if pc.Mode == indicator.PeriodExact && pc.Period != nil {
		return &pc.Period.Start
	}
	return nil
}
