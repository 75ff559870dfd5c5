package synth

import (
	"fmt"
	"strconv"
)

// rule is an indicator's rollup rule.
type rule uint8

const (
	ruleSum rule = iota
	ruleRatio
	ruleWeightedMean
	ruleMean
	ruleLast
	ruleNone
)

// model says how an indicator's commune values are made.
type model uint8

const (
	modelPop model = iota
	modelHouseholds
	modelPoor
	modelRatio
	modelLiteracy
	modelForestCover
	modelForestArea
	modelGrowth
	modelBudget
	modelShare // a share of the population (generic SUM)
	modelLevel // a rate drifting over time (generic WEIGHTED_MEAN, MEAN)
	modelStock // a stock growing over time (generic LAST)
	modelRate  // a growth rate (generic NONE)
)

// Catalog positions of the named indicators.
const (
	posPop = iota
	posHouseholds
	posPoor
	posPovertyRate
	posLiteracy
	posForestCover
	posForestArea
	posGrowth
	posBudget
	namedIndicators
)

// ind is one indicator of the catalog.
type ind struct {
	code, nameVI, nameEN string
	measure              string
	scale                float64
	theme, direction     string
	rule                 rule
	num, den             int // RATIO: catalog positions
	weight               int // WEIGHTED_MEAN: catalog position
	model                model
	decimals             int
	percent              bool   // clamp values to [0, 100]
	suffix               string // appended to raw
	definition           string
}

func (x *ind) rollup(cat []ind) string {
	switch x.rule {
	case ruleRatio:
		return "RATIO(" + cat[x.num].code + "," + cat[x.den].code + ")"
	case ruleWeightedMean:
		return "WEIGHTED_MEAN(" + cat[x.weight].code + ")"
	}
	return [...]string{"SUM", "", "", "MEAN", "LAST", "NONE"}[x.rule]
}

var named = [namedIndicators]ind{
	posPop: {code: "pop", nameVI: "Dân số", nameEN: "Population", measure: "people", theme: "population", direction: "neutral",
		rule: ruleSum, model: modelPop, suffix: " người", definition: "Resident population at mid-year (synthetic)."},
	posHouseholds: {code: "hh", nameVI: "Số hộ", nameEN: "Households", measure: "households", theme: "population", direction: "neutral",
		rule: ruleSum, model: modelHouseholds, suffix: " hộ", definition: "Resident households (synthetic)."},
	posPoor: {code: "poor", nameVI: "Số hộ nghèo", nameEN: "Poor households", measure: "households", theme: "poverty", direction: "lower_better",
		rule: ruleSum, model: modelPoor, suffix: " hộ", definition: "Households below the poverty line (synthetic)."},
	posPovertyRate: {code: "poverty_rate", nameVI: "Tỷ lệ hộ nghèo", nameEN: "Poverty rate", measure: "%", theme: "poverty", direction: "lower_better",
		rule: ruleRatio, num: posPoor, den: posHouseholds, model: modelRatio, decimals: 2, percent: true, suffix: "%",
		definition: "Poor households per 100 households (synthetic): poor / hh × 100."},
	posLiteracy: {code: "literacy_rate", nameVI: "Tỷ lệ biết chữ", nameEN: "Literacy rate", measure: "%", theme: "education", direction: "higher_better",
		rule: ruleWeightedMean, weight: posPop, model: modelLiteracy, decimals: 2, percent: true, suffix: "%",
		definition: "Literate people per 100 people aged 15 and over (synthetic)."},
	posForestCover: {code: "forest_cover", nameVI: "Tỷ lệ che phủ rừng", nameEN: "Forest cover", measure: "%", theme: "environment", direction: "higher_better",
		rule: ruleMean, model: modelForestCover, decimals: 2, percent: true, suffix: "%",
		definition: "Forest area per 100 ha of natural area (synthetic)."},
	posForestArea: {code: "forest_area", nameVI: "Diện tích rừng", nameEN: "Forest area", measure: "ha", theme: "environment", direction: "higher_better",
		rule: ruleLast, model: modelForestArea, decimals: 1, suffix: " ha", definition: "Forest area at the end of the year (synthetic)."},
	posGrowth: {code: "grdp_growth", nameVI: "Tốc độ tăng trưởng GRDP", nameEN: "GRDP growth", measure: "%", theme: "economy", direction: "higher_better",
		rule: ruleNone, model: modelGrowth, decimals: 2, suffix: "%", definition: "Growth of gross regional domestic product over the previous year (synthetic)."},
	posBudget: {code: "budget_revenue", nameVI: "Thu ngân sách", nameEN: "Budget revenue", measure: "VND", scale: 1e9, theme: "finance", direction: "higher_better",
		rule: ruleSum, model: modelBudget, decimals: 2, suffix: " tỷ đồng", definition: "State budget revenue collected in the area (synthetic)."},
}

var directions = [...]string{"higher_better", "lower_better", "neutral"}

// buildCatalog returns the first n indicators: the named ones, then
// generic ones cycling through the rules.
func buildCatalog(r hasher, n int) []ind {
	cat := make([]ind, 0, n)
	w := width(4, n)
	for pos := 0; pos < n; pos++ {
		if pos < namedIndicators {
			x := named[pos]
			if x.scale == 0 {
				x.scale = 1
			}
			cat = append(cat, x)
			continue
		}
		num := fmt.Sprintf("%0*d", w, pos+1)
		x := ind{code: "ind_" + num, scale: 1, direction: directions[r.h(tagDirection, uint64(pos), 0, 0)%3]}
		switch (pos - namedIndicators) % 6 {
		case 0:
			x.nameVI, x.nameEN, x.measure, x.theme = "Số người thuộc nhóm "+num, "People in group "+num, "people", "population"
			x.rule, x.model, x.suffix = ruleSum, modelShare, " người"
			x.definition = "People with attribute " + num + " (synthetic)."
		case 1:
			x.nameVI, x.nameEN, x.measure, x.theme = "Tỷ lệ người thuộc nhóm "+cat[pos-1].code[4:], "Share of people in group "+cat[pos-1].code[4:], "%", "population"
			x.rule, x.num, x.den, x.model, x.decimals, x.percent, x.suffix = ruleRatio, pos-1, posPop, modelRatio, 2, true, "%"
			x.direction = cat[pos-1].direction
			x.definition = cat[pos-1].code + " per 100 people (synthetic): " + cat[pos-1].code + " / pop × 100."
		case 2:
			x.nameVI, x.nameEN, x.measure, x.theme = "Tỷ lệ bao phủ "+num, "Coverage rate "+num, "%", "social"
			x.rule, x.weight, x.model, x.decimals, x.percent, x.suffix = ruleWeightedMean, posPop, modelLevel, 2, true, "%"
			x.definition = "Share of people covered by service " + num + " (synthetic)."
		case 3:
			x.nameVI, x.nameEN, x.measure, x.theme = "Chỉ số đánh giá "+num, "Assessment index "+num, "%", "governance"
			x.rule, x.model, x.decimals, x.percent, x.suffix = ruleMean, modelLevel, 2, true, "%"
			x.definition = "Score of assessment " + num + " out of 100 (synthetic)."
		case 4:
			x.rule, x.model, x.theme = ruleLast, modelStock, "infrastructure"
			switch (pos - namedIndicators) / 6 % 3 {
			case 0:
				x.nameVI, x.nameEN, x.measure, x.decimals, x.suffix = "Chiều dài đường giao thông "+num, "Road length "+num, "km", 1, " km"
			case 1:
				x.nameVI, x.nameEN, x.measure, x.decimals, x.suffix = "Diện tích đất "+num, "Land area "+num, "ha", 1, " ha"
			default:
				x.nameVI, x.nameEN, x.measure, x.decimals, x.suffix = "Số cơ sở "+num, "Facilities "+num, "units", 0, " cơ sở"
			}
			x.definition = "Stock at the end of the year (synthetic)."
		case 5:
			x.nameVI, x.nameEN, x.measure, x.theme = "Tốc độ tăng "+num, "Growth rate "+num, "%", "economy"
			x.rule, x.model, x.decimals, x.suffix = ruleNone, modelRate, 2, "%"
			x.definition = "Growth over the previous year (synthetic)."
		}
		cat = append(cat, x)
	}
	return cat
}

// table is a small table held in memory: column names, which columns are
// numbers (written as doubles in Parquet), and rows of text (empty means
// null in Parquet).
type table struct {
	cols    []string
	numeric []bool
	rows    [][]string
}

func (g *gen) sourcesTable() table {
	t := table{cols: []string{"id", "title", "issuer", "number", "date", "kind"}}
	for _, y := range g.years {
		t.rows = append(t.rows, []string{g.yearbook(y), fmt.Sprintf("Niên giám thống kê năm %d (dữ liệu giả lập)", y),
			"Cục Thống kê (giả lập)", "", fmt.Sprintf("%d-06-30", y+1), "yearbook"})
	}
	ty := g.spec.LastYear + 2
	t.rows = append(t.rows, []string{g.plan, fmt.Sprintf("Kế hoạch phát triển kinh tế - xã hội đến năm %d (dữ liệu giả lập)", ty),
		"Ủy ban nhân dân (giả lập)", fmt.Sprintf("01/KH-UBND-%d", ty), fmt.Sprintf("%d-12-15", g.spec.LastYear), "plan"})
	return t
}

func (g *gen) yearbook(y int) string { return "ngtk_" + strconv.Itoa(y) }

func (g *gen) unitsTable() table {
	t := table{cols: []string{"code", "name_vi", "name_en", "level", "parent", "valid_from", "valid_to", "official_code", "type"}}
	t.rows = make([][]string, len(g.units))
	for i, u := range g.units {
		parent := ""
		if u.parent >= 0 {
			parent = g.units[u.parent].code
		}
		t.rows[i] = []string{u.code, u.nameVI, u.nameEN, levelNames[u.level], parent, "", "", u.officialCode, u.typ}
	}
	return t
}

func (g *gen) indicatorsTable() table {
	t := table{cols: []string{"code", "name_vi", "name_en", "measure_unit", "scale", "theme", "direction", "group", "rollup", "total", "breakdown", "definition"}}
	t.numeric = make([]bool, len(t.cols))
	t.numeric[4] = true
	for _, k := range g.order {
		x := &g.inds[k]
		t.rows = append(t.rows, []string{x.code, x.nameVI, x.nameEN, x.measure, strconv.FormatFloat(x.scale, 'f', -1, 64), x.theme,
			x.direction, "all", x.rollup(g.inds), "", "", x.definition})
	}
	return t
}
