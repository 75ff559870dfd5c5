package store

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// sqlb renders one dynamic statement: its text and its arguments. It is
// the store's only way to put something that varies into SQL:
//
//   - values go through Arg (or In for a list), which stores the value and
//     returns its numbered placeholder ($1, $2, …), so a value never
//     becomes SQL text and a placeholder may be used twice;
//   - identifiers go through Ident, which accepts only the column names in
//     identifiers;
//   - integers the store computes itself (level ranks) go through Ints, as
//     literals, where DuckDB needs constants to prune by zone maps.
//
// Everything else written with SQL is fixed text from the code. Fixed
// statements stay plain constants with ? placeholders.
type sqlb struct {
	text strings.Builder
	args []any
}

// SQL appends text written in the code (never a value).
func (b *sqlb) SQL(text string) *sqlb {
	b.text.WriteString(text)
	return b
}

// Arg stores a value and returns its placeholder.
func (b *sqlb) Arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// In returns a list of VARCHAR placeholders for vals, one per value, for
// an IN (…). Constant lists let DuckDB prune the indicator-sorted
// observations by zone maps, which an IN over unnest(list) (a semi-join)
// does not. An empty list is NULL, which matches nothing.
func (b *sqlb) In(vals []string) string {
	if len(vals) == 0 {
		return "NULL"
	}
	ph := make([]string, len(vals))
	for i, v := range vals {
		ph[i] = b.Arg(v) + "::VARCHAR"
	}
	return strings.Join(ph, ", ")
}

// Ints renders integers computed by the store (not values from a
// request) as a literal list, sorted and without repeats.
func (b *sqlb) Ints(vals []int) string {
	vals = slices.Compact(slices.Sorted(slices.Values(vals)))
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ", ")
}

// identifiers are the column names a dynamic statement may name: the
// loader contract's observation columns (stage_obs, observations).
var identifiers = map[string]bool{
	"unit": true, "indicator": true, "period": true, "kind": true, "value": true, "denominator": true,
	"qualifier": true, "flags": true, "methodology": true, "source": true, "line": true, "raw": true, "note": true,
}

// Ident returns an allow-listed column name, quoted. Any other name is a
// bug in the store (names come from its code, never from a request or a
// file), so it panics.
func (b *sqlb) Ident(name string) string {
	if !identifiers[name] {
		panic(fmt.Sprintf("store: %q is not an allowed identifier", name))
	}
	return `"` + name + `"`
}

// Where appends " WHERE c1 AND c2 …", or nothing without conditions.
func (b *sqlb) Where(conds ...string) *sqlb {
	if len(conds) > 0 {
		b.SQL(" WHERE " + b.And(conds...))
	}
	return b
}

// And joins conditions with AND; with none it is true.
func (b *sqlb) And(conds ...string) string {
	if len(conds) == 0 {
		return "true"
	}
	return strings.Join(conds, " AND ")
}

// Or joins conditions with OR; with none it is false.
func (b *sqlb) Or(conds ...string) string {
	if len(conds) == 0 {
		return "false"
	}
	return strings.Join(conds, " OR ")
}

// String is the statement's text.
func (b *sqlb) String() string { return b.text.String() }

// Args are the statement's arguments, in placeholder order.
func (b *sqlb) Args() []any { return b.args }
