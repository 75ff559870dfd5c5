package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// params are one draw of a question's parameters.
type params map[string]string

// question is one benchmark question: how chiso asks it (GraphQL), how the
// floor asks it (hand-written SQL on chiso's DuckDB tables, in-process),
// and how both answers reduce to comparable rows. The floor uses what
// those tables offer, as chiso does: a question about one level of units
// filters observations on level_rank (districts 2, communes 3), which the
// scan applies before reading the other columns.
type question struct {
	id, name string
	small    bool // a small query (throughput target)
	graphql  string
	vars     func(p params) map[string]any
	sql      string
	args     func(p params) []any
	// rows reduce each answer to comparable rows.
	fromGraphQL func(data map[string]any) []answer
	fromSQL     func(rows [][]any) []answer
	draw        func(r *rand.Rand, u universe) params
}

// universe is what a dataset offers to draw parameters from.
type universe struct {
	provinces, districts, communes []string
	sumIndicators, anyIndicators   []string
	years                          []string
}

func pick(r *rand.Rand, xs []string) string { return xs[r.IntN(len(xs))] }

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case int:
		return float64(x)
	case nil:
		return math.NaN()
	}
	panic(fmt.Sprintf("not a number: %T", v))
}

// answer is a question's answer reduced to rows: a sortable key and the
// numbers, compared with a relative tolerance (the two sides may add
// floats in a different order).
type answer struct {
	key  string
	nums []float64
}

func row(key string, vals ...any) answer {
	a := answer{key: key}
	for _, v := range vals {
		a.nums = append(a.nums, num(v))
	}
	return a
}

func sameNumber(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// diff returns "" when two answers are equal, else the first difference.
func diff(got, want []answer) string {
	for i := 0; i < min(len(got), len(want)); i++ {
		g, w := got[i], want[i]
		same := g.key == w.key && len(g.nums) == len(w.nums)
		for j := 0; same && j < len(g.nums); j++ {
			same = sameNumber(g.nums[j], w.nums[j])
		}
		if !same {
			return fmt.Sprintf("row %d: chiso %s %v vs SQL %s %v", i, g.key, g.nums, w.key, w.nums)
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("chiso %d rows, SQL %d rows", len(got), len(want))
	}
	return ""
}

func get(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

func list(m any, path ...string) []any {
	l, _ := get(m, path...).([]any)
	return l
}

func sorted(xs []answer) []answer {
	sort.Slice(xs, func(i, j int) bool { return xs[i].key < xs[j].key })
	return xs
}

var questions = []question{
	{
		id: "q1", name: "one unit's series", small: true,
		graphql: `query($u: ID!, $i: ID!) { series(unit: $u, indicator: $i) { observations { periodLabel value } } }`,
		vars:    func(p params) map[string]any { return map[string]any{"u": p["unit"], "i": p["ind"]} },
		sql: `SELECT period, value FROM observations WHERE unit = ? AND indicator = ?
			ORDER BY period_start, period_end, kind, id`,
		args: func(p params) []any { return []any{p["unit"], p["ind"]} },
		fromGraphQL: func(d map[string]any) []answer {
			var out []answer
			for _, o := range list(d, "series", "observations") {
				out = append(out, row(fmt.Sprint(get(o, "periodLabel")), get(o, "value")))
			}
			return out
		},
		fromSQL: func(rows [][]any) []answer {
			var out []answer
			for _, r := range rows {
				out = append(out, row(fmt.Sprint(r[0]), r[1]))
			}
			return out
		},
		draw: func(r *rand.Rand, u universe) params {
			return params{"unit": pick(r, u.communes), "ind": pick(r, u.anyIndicators)}
		},
	},
	{
		id: "q2", name: "tree: province → districts → communes, latest value each",
		graphql: `query($p: ID!, $i: ID!) { unit(code: $p) { code children { code children { code latest(indicator: $i) { value } } } } }`,
		vars:    func(p params) map[string]any { return map[string]any{"p": p["province"], "i": p["ind"]} },
		sql: `WITH c AS (SELECT c.code FROM units d JOIN units c ON c.parent = d.code WHERE d.parent = ?),
			l AS (SELECT unit, value FROM observations
				WHERE indicator = ? AND level_rank = 3 AND kind = 'actual' AND canonical AND period_kind <> 'RANGE' AND unit IN (SELECT code FROM c)
				QUALIFY row_number() OVER (PARTITION BY unit ORDER BY period_end DESC, period_start DESC) = 1)
			SELECT c.code, l.value FROM c LEFT JOIN l ON l.unit = c.code`,
		args: func(p params) []any { return []any{p["province"], p["ind"]} },
		fromGraphQL: func(d map[string]any) []answer {
			var out []answer
			for _, dist := range list(d, "unit", "children") {
				for _, c := range list(dist, "children") {
					out = append(out, row(fmt.Sprint(get(c, "code")), get(c, "latest", "value")))
				}
			}
			return sorted(out)
		},
		fromSQL: func(rows [][]any) []answer {
			var out []answer
			for _, r := range rows {
				out = append(out, row(fmt.Sprint(r[0]), r[1]))
			}
			return sorted(out)
		},
		draw: func(r *rand.Rand, u universe) params {
			return params{"province": pick(r, u.provinces), "ind": pick(r, u.anyIndicators)}
		},
	},
	{
		id: "q3", name: "compare all districts: rank and change since earliest",
		graphql: `query($i: ID!, $y: String) { compare(indicators: [$i], units: { under: "vn", level: DISTRICT }, period: { mode: EXACT, label: $y }) {
			rows { unit { code } value rank sinceEarliest { absolute } } } }`,
		vars: func(p params) map[string]any { return map[string]any{"i": p["ind"], "y": p["year"]} },
		sql: `WITH d AS (SELECT code AS unit FROM units WHERE level = 'district'),
			v AS (SELECT o.unit, o.value, o.id FROM observations o JOIN d USING (unit)
				WHERE o.indicator = ? AND o.level_rank = 2 AND o.period = ? AND o.kind = 'actual' AND o.canonical),
			e AS (SELECT unit, arg_min(value, id) AS ev, min(id) AS eid FROM observations
				WHERE indicator = ? AND level_rank = 2 AND kind = 'actual' AND canonical AND period_kind <> 'RANGE' AND unit IN (SELECT unit FROM v) GROUP BY unit),
			dir AS (SELECT direction FROM indicators WHERE code = ?)
			SELECT v.unit, v.value, rank() OVER (ORDER BY CASE WHEN (SELECT direction FROM dir) = 'lower_better' THEN v.value ELSE -v.value END),
				CASE WHEN e.eid <> v.id THEN v.value - e.ev END
			FROM v LEFT JOIN e USING (unit)`,
		args: func(p params) []any { return []any{p["ind"], p["year"], p["ind"], p["ind"]} },
		fromGraphQL: func(d map[string]any) []answer {
			var out []answer
			for _, r := range list(d, "compare", "rows") {
				if get(r, "value") == nil {
					continue
				}
				out = append(out, row(fmt.Sprint(get(r, "unit", "code")), get(r, "value"), get(r, "rank"), get(r, "sinceEarliest", "absolute")))
			}
			return sorted(out)
		},
		fromSQL: func(rows [][]any) []answer {
			var out []answer
			for _, r := range rows {
				out = append(out, row(fmt.Sprint(r[0]), r[1], r[2], r[3]))
			}
			return sorted(out)
		},
		draw: func(r *rand.Rand, u universe) params {
			return params{"ind": pick(r, u.anyIndicators), "year": pick(r, u.years)}
		},
	},
	{
		id: "q4", name: "rollup of one SUM indicator for all provinces, every year, with coverage",
		graphql: `query($i: ID!) { rollup(indicator: $i, units: { under: "vn", level: PROVINCE }) { unit { code } period { label } value coverage { withData expected } } }`,
		vars:    func(p params) map[string]any { return map[string]any{"i": p["ind"]} },
		sql: `WITH k AS (SELECT d.parent AS province, d.code AS district FROM units d WHERE d.level = 'district'),
			per AS (SELECT DISTINCT period FROM observations WHERE indicator = ? AND level_rank = 2 AND kind = 'actual' AND canonical AND unit IN (SELECT district FROM k)),
			v AS (SELECT unit, period, value FROM observations WHERE indicator = ? AND level_rank = 2 AND kind = 'actual' AND canonical AND unit IN (SELECT district FROM k))
			SELECT k.province, per.period, sum(v.value), count(v.value), count(*)
			FROM k CROSS JOIN per LEFT JOIN v ON v.unit = k.district AND v.period = per.period
			GROUP BY k.province, per.period`,
		args: func(p params) []any { return []any{p["ind"], p["ind"]} },
		fromGraphQL: func(d map[string]any) []answer {
			var out []answer
			for _, r := range list(d, "rollup") {
				out = append(out, row(fmt.Sprintf("%v@%v", get(r, "unit", "code"), get(r, "period", "label")), get(r, "value"),
					get(r, "coverage", "withData"), get(r, "coverage", "expected")))
			}
			return sorted(out)
		},
		fromSQL: func(rows [][]any) []answer {
			var out []answer
			for _, r := range rows {
				out = append(out, row(fmt.Sprintf("%v@%v", r[0], r[1]), r[2], r[3], r[4]))
			}
			return sorted(out)
		},
		draw: func(r *rand.Rand, u universe) params { return params{"ind": pick(r, u.sumIndicators)} },
	},
	{
		id: "q5", name: "growth ranking (CAGR) of communes within a province",
		graphql: `query($p: ID!, $i: ID!) { compare(indicators: [$i], units: { under: $p, level: COMMUNE }, rankBy: GROWTH) {
			rows { unit { code } rank sinceEarliest { cagr } } } }`,
		vars: func(p params) map[string]any { return map[string]any{"p": p["province"], "i": p["ind"]} },
		sql: `WITH c AS (SELECT descendant AS unit FROM unit_closure cl JOIN units u ON u.code = cl.descendant WHERE cl.ancestor = ? AND u.level = 'commune'),
			s AS (SELECT unit, arg_min(value, id) AS v0, arg_max(value, id) AS v1,
					arg_min((year(period_start) + year(period_end) + 1) / 2.0, id) AS y0, arg_max((year(period_start) + year(period_end) + 1) / 2.0, id) AS y1
				FROM observations WHERE indicator = ? AND level_rank = 3 AND kind = 'actual' AND canonical AND period_kind <> 'RANGE' AND unit IN (SELECT unit FROM c)
				GROUP BY unit),
			g AS (SELECT unit, CASE WHEN v0 > 0 AND v1 > 0 AND y1 > y0 THEN pow(v1 / v0, 1 / (y1 - y0)) - 1 END AS cagr FROM s),
			dir AS (SELECT direction FROM indicators WHERE code = ?)
			SELECT unit, cagr, CASE WHEN cagr IS NOT NULL THEN rank() OVER (PARTITION BY cagr IS NULL ORDER BY CASE WHEN (SELECT direction FROM dir) = 'lower_better' THEN cagr ELSE -cagr END) END
			FROM g`,
		args: func(p params) []any { return []any{p["province"], p["ind"], p["ind"]} },
		fromGraphQL: func(d map[string]any) []answer {
			var out []answer
			for _, r := range list(d, "compare", "rows") {
				if get(r, "rank") == nil {
					continue
				}
				out = append(out, row(fmt.Sprint(get(r, "unit", "code")), get(r, "sinceEarliest", "cagr"), get(r, "rank")))
			}
			return sorted(out)
		},
		fromSQL: func(rows [][]any) []answer {
			var out []answer
			for _, r := range rows {
				if r[2] == nil {
					continue
				}
				out = append(out, row(fmt.Sprint(r[0]), r[1], r[2]))
			}
			return sorted(out)
		},
		draw: func(r *rand.Rand, u universe) params {
			return params{"province": pick(r, u.provinces), "ind": pick(r, u.sumIndicators)}
		},
	},
	{
		id: "q6", name: "a page of the observations table", small: true,
		graphql: `query($i: ID!) { observations(filter: { indicators: [$i] }, first: 100) { totalCount nodes { unitCode periodLabel kind value } } }`,
		vars:    func(p params) map[string]any { return map[string]any{"i": p["ind"]} },
		sql: `WITH f AS (SELECT * FROM observations WHERE indicator = ?)
			SELECT (SELECT count(*) FROM f), unit, period, kind, value FROM (SELECT * FROM f ORDER BY id LIMIT 100)`,
		args: func(p params) []any { return []any{p["ind"]} },
		fromGraphQL: func(d map[string]any) []answer {
			out := []answer{row("total", get(d, "observations", "totalCount"))}
			for _, o := range list(d, "observations", "nodes") {
				out = append(out, row(fmt.Sprintf("%v@%v/%v", get(o, "unitCode"), get(o, "periodLabel"), strings.ToLower(fmt.Sprint(get(o, "kind")))), get(o, "value")))
			}
			return out
		},
		fromSQL: func(rows [][]any) []answer {
			if len(rows) == 0 {
				return []answer{row("total", 0)}
			}
			out := []answer{row("total", rows[0][0])}
			for _, r := range rows {
				out = append(out, row(fmt.Sprintf("%v@%v/%v", r[1], r[2], r[3]), r[4]))
			}
			return out
		},
		draw: func(r *rand.Rand, u universe) params { return params{"ind": pick(r, u.anyIndicators)} },
	},
	{
		id: "q7", name: "the country's communes valid on a day (units asOf), a page of 1,000 with the count",
		graphql: `query($d: Date) { units(level: COMMUNE, asOf: $d, first: 1000) { totalCount nodes { code } } }`,
		vars:    func(p params) map[string]any { return map[string]any{"d": p["day"]} },
		sql: `WITH c AS (SELECT code FROM units WHERE level = 'commune'
				AND (valid_from IS NULL OR valid_from <= ?::DATE) AND (valid_to IS NULL OR valid_to >= ?::DATE))
			SELECT (SELECT count(*) FROM c), code FROM (SELECT code FROM c ORDER BY code LIMIT 1000)`,
		args: func(p params) []any { return []any{p["day"], p["day"]} },
		fromGraphQL: func(d map[string]any) []answer {
			out := []answer{row("total", get(d, "units", "totalCount"))}
			for _, n := range list(d, "units", "nodes") {
				out = append(out, row(fmt.Sprint(get(n, "code"))))
			}
			return out
		},
		fromSQL: func(rows [][]any) []answer {
			if len(rows) == 0 {
				return []answer{row("total", 0)}
			}
			out := []answer{row("total", rows[0][0])}
			for _, r := range rows {
				out = append(out, row(fmt.Sprint(r[1])))
			}
			return out
		},
		draw: func(r *rand.Rand, u universe) params { return params{"day": pick(r, u.years) + "-06-30"} },
	},
	{
		id: "q8", name: "rollup of a commune SUM indicator into a province's communes of the 2025 tree (rollup tree)",
		graphql: `query($p: ID!, $i: ID!, $y: String!) { rollup(indicator: $i, units: { under: $p, level: COMMUNE }, periods: [$y], tree: "2025-07-01") {
			unit { code } value coverage { withData expected } } }`,
		vars: func(p params) map[string]any {
			return map[string]any{"p": p["province"], "i": p["ind"], "y": p["year"]}
		},
		// The synthetic tree has no unit changes: each commune of the tree
		// is formed from itself, so the floor is each commune's own value.
		sql: `WITH c AS (SELECT descendant AS unit FROM unit_closure cl JOIN units u ON u.code = cl.descendant
				WHERE cl.ancestor = ? AND u.level = 'commune'
				AND (u.valid_from IS NULL OR u.valid_from <= DATE '2025-07-01') AND (u.valid_to IS NULL OR u.valid_to >= DATE '2025-07-01')),
			v AS (SELECT unit, value FROM observations WHERE indicator = ? AND level_rank = 3 AND period = ? AND kind = 'actual' AND canonical AND basis = ''
				AND unit IN (SELECT unit FROM c))
			SELECT c.unit, v.value, count(v.value), 1 FROM c LEFT JOIN v USING (unit) GROUP BY c.unit, v.value`,
		args: func(p params) []any { return []any{p["province"], p["ind"], p["year"]} },
		fromGraphQL: func(d map[string]any) []answer {
			var out []answer
			for _, r := range list(d, "rollup") {
				out = append(out, row(fmt.Sprint(get(r, "unit", "code")), get(r, "value"), get(r, "coverage", "withData"), get(r, "coverage", "expected")))
			}
			return sorted(out)
		},
		fromSQL: func(rows [][]any) []answer {
			var out []answer
			for _, r := range rows {
				out = append(out, row(fmt.Sprint(r[0]), r[1], r[2], r[3]))
			}
			return sorted(out)
		},
		draw: func(r *rand.Rand, u universe) params {
			return params{"province": pick(r, u.provinces), "ind": pick(r, u.sumIndicators), "year": pick(r, u.years)}
		},
	},
}
