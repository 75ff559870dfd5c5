package synth

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
)

// baseYear anchors trends, so a value does not depend on FirstYear.
const baseYear = 2000

// gen holds what every table is generated from.
type gen struct {
	spec    Spec
	r       hasher
	years   []int
	labels  []string // period labels of years
	units   []unit   // depth-first
	byLevel [4][]int // unit indexes by level, in ord order
	// byLevelOrder lists the provinces, districts and communes, level by
	// level: the order observations are written in.
	byLevelOrder []int
	// districtOf gives a commune's district and provinceOf a district's
	// province, by ord.
	districtOf, provinceOf []int32
	inds                   []ind   // catalog order
	order                  []int   // catalog positions sorted by code: the writing order
	targeted               []bool  // by catalog position
	plan                   string  // source id of targets
	pop                    *grid   // always kept: every weight and share needs it
	cache                  []*grid // the few grids computed last
}

// grid holds one indicator's values at every commune, district and
// province, [ord*years + year index].
type grid struct {
	k       int
	c, d, p []float64
}

func newGen(s Spec) *gen {
	g := &gen{spec: s, r: hasher{mix(uint64(s.Seed) ^ 0x6368697373796e74)}}
	for y := s.FirstYear; y <= s.LastYear; y++ {
		g.years = append(g.years, y)
		g.labels = append(g.labels, strconv.Itoa(y))
	}
	if s.Register {
		var err error
		if g.units, err = buildRegisterUnits(); err != nil {
			panic(err) // Validate read the register
		}
	} else {
		g.units = buildUnits(g.r, s)
	}
	g.districtOf, g.provinceOf = make([]int32, s.Communes), make([]int32, s.Districts)
	for i, u := range g.units {
		g.byLevel[u.level] = append(g.byLevel[u.level], i)
		switch u.level {
		case levelDistrict:
			g.provinceOf[u.ord] = int32(g.units[u.parent].ord)
		case levelCommune:
			g.districtOf[u.ord] = int32(g.units[u.parent].ord)
		}
	}
	for _, l := range []uint8{levelProvince, levelDistrict, levelCommune} {
		// By code: the store's order (the depth-first order of invented
		// codes; the register's codes sort otherwise).
		us := slices.Clone(g.byLevel[l])
		slices.SortFunc(us, func(a, b int) int { return strings.Compare(g.units[a].code, g.units[b].code) })
		g.byLevelOrder = append(g.byLevelOrder, us...)
	}
	g.inds = buildCatalog(g.r, s.Indicators)
	g.order = make([]int, len(g.inds))
	for i := range g.order {
		g.order[i] = i
	}
	slices.SortFunc(g.order, func(a, b int) int {
		if g.inds[a].code < g.inds[b].code {
			return -1
		}
		return 1
	})
	g.targeted = make([]bool, len(g.inds))
	g.r.stream(tagTargets, 0, 0).sample(g.targeted, s.Targeted())
	g.plan = "ke_hoach_" + strconv.Itoa(s.LastYear+2)
	g.pop = g.compute(posPop)
	return g
}

// area is a number in [0, 1) for commune c that is alike across a
// province and more alike within a district (half province, 0.3 district,
// 0.2 commune), so provinces and districts differ the way real ones do.
func (g *gen) area(tag uint64, c int) float64 {
	d := g.districtOf[c]
	p := g.provinceOf[d]
	return 0.5*g.r.u(tag, uint64(p), 1, 0) + 0.3*g.r.u(tag, uint64(d), 2, 0) + 0.2*g.r.u(tag, uint64(c), 0, 0)
}

func round(v float64, decimals int) float64 {
	switch decimals {
	case 0:
		return math.Round(v)
	case 1:
		return math.Round(v*10) / 10
	}
	return math.Round(v*100) / 100
}

func clamp(v, lo, hi float64) float64 { return max(lo, min(hi, v)) }

// communeValue is indicator k's value at commune c in year index yi, a pure
// function of the seed.
func (g *gen) communeValue(k, c, yi int) float64 {
	r, x := g.r, &g.inds[k]
	y := g.years[yi]
	dy := float64(y - baseYear)
	cu, yu := uint64(c), uint64(y)
	pop := func() float64 {
		if g.pop != nil {
			return g.pop.c[c*len(g.years)+yi]
		}
		return g.communeValue(posPop, c, yi)
	}
	tag := tagIndicator | uint64(k)
	switch x.model {
	case modelPop:
		base := 2500 + 11000*g.area(tagPopBase, c)
		growth := 0.004 + 0.012*r.u(tagPopGrowth, cu, 0, 0)
		return math.Round(base * math.Pow(1+growth, dy) * (1 + 0.004*r.sym(tagPopNoise, cu, yu, 0)))
	case modelHouseholds:
		size := max(2.2, 3.0+1.6*g.area(tagHHSize, c)-0.025*dy)
		return max(1, math.Round(pop()/size))
	case modelPoor:
		share := (0.02 + 0.5*math.Pow(g.area(tagPoorBase, c), 2)) * math.Exp(-0.06*dy) * (1 + 0.1*r.sym(tagPoorNoise, cu, yu, 0))
		return math.Round(g.communeValue(posHouseholds, c, yi) * clamp(share, 0.002, 0.95))
	case modelRatio:
		return ratio(g.communeValue(x.num, c, yi), g.communeValue(x.den, c, yi), x)
	case modelLiteracy:
		illiterate := (2 + 30*math.Pow(g.area(tagLiteracy, c), 2)) * math.Exp(-0.04*dy) * (1 + 0.05*r.sym(tagLiteracyNoise, cu, yu, 0))
		return round(clamp(100-illiterate, 0, 100), 2)
	case modelForestCover:
		v := 5 + 75*g.area(tagForest, c) + 0.35*dy + 1.5*r.sym(tagForestNoise, cu, yu, 0)
		return round(clamp(v, 0, 100), 2)
	case modelForestArea:
		area := 300 + 9700*r.u(tagArea, cu, 0, 0)
		return round(area*g.communeValue(posForestCover, c, yi)/100, 1)
	case modelGrowth:
		return round(2+7*g.area(tagGrowth, c)+4*r.sym(tagGrowthNoise, cu, yu, 0), 2)
	case modelBudget:
		perHead := 0.3 + 2.5*math.Pow(g.area(tagBudgetBase, c), 2) // million VND at baseYear
		return round(pop()*perHead*math.Pow(1.09, dy)*(1+0.05*r.sym(tagBudgetNoise, cu, yu, 0))/1000, 2)
	case modelShare:
		trend := 0.03 * r.sym(tag, math.MaxUint64, 0, 1)
		share := (0.03 + 0.6*g.area(tag, c)) * (1 + trend*dy) * (1 + 0.04*r.sym(tag, cu, yu, 2))
		return math.Round(pop() * clamp(share, 0.001, 0.99))
	case modelLevel:
		trend := 0.8 * r.sym(tag, math.MaxUint64, 0, 1)
		return round(clamp(10+80*g.area(tag, c)+trend*dy+2*r.sym(tag, cu, yu, 2), 0, 100), 2)
	case modelStock:
		growth := 0.03 * r.u(tag, math.MaxUint64, 0, 1)
		return round((5+95*g.area(tag, c))*max(0.1, 1+growth*dy), x.decimals)
	case modelRate:
		return round(1+8*g.area(tag, c)+5*r.sym(tag, cu, yu, 2), 2)
	}
	panic("synth: unknown model")
}

// ratio is num/den in x's measure unit, rounded like x.
func ratio(num, den float64, x *ind) float64 {
	if den == 0 {
		return 0
	}
	mult := 1.0
	if x.measure == "%" {
		mult = 100
	}
	return round(num/den*mult, x.decimals)
}

// grid returns indicator k's values, from the cache when it can.
func (g *gen) grid(k int) *grid {
	if k == posPop && g.pop != nil {
		return g.pop
	}
	for _, gr := range g.cache {
		if gr.k == k {
			return gr
		}
	}
	gr := g.compute(k)
	if len(g.cache) < 4 {
		g.cache = append(g.cache, gr)
	} else {
		copy(g.cache, g.cache[1:])
		g.cache[len(g.cache)-1] = gr
	}
	return gr
}

// compute makes indicator k's grid: commune values, then each district's
// and province's reported value.
func (g *gen) compute(k int) *grid {
	x := &g.inds[k]
	ny := len(g.years)
	s := g.spec
	gr := &grid{k: k, c: make([]float64, s.Communes*ny), d: make([]float64, s.Districts*ny), p: make([]float64, s.Provinces*ny)}
	if x.rule == ruleRatio {
		num, den := g.grid(x.num), g.grid(x.den)
		for i := range gr.c {
			gr.c[i] = ratio(num.c[i], den.c[i], x)
		}
		for i := range gr.d {
			gr.d[i] = ratio(num.d[i], den.d[i], x)
		}
		for i := range gr.p {
			gr.p[i] = ratio(num.p[i], den.p[i], x)
		}
		return gr
	}
	for c := 0; c < s.Communes; c++ {
		for yi := range ny {
			gr.c[c*ny+yi] = g.communeValue(k, c, yi)
		}
	}
	var weight []float64 // commune weights, for WEIGHTED_MEAN
	if x.rule == ruleWeightedMean {
		weight = g.grid(x.weight).c
	}
	// True aggregates over each district's communes: the sum, or the
	// weighted sum and the weight, or the mean.
	truthD := make([]float64, len(gr.d))
	weightD := make([]float64, len(gr.d))
	for di, ui := range g.byLevel[levelDistrict] {
		u := &g.units[ui]
		for yi := range ny {
			var sum, w float64
			for c := u.first; c < u.end; c++ {
				v := gr.c[c*ny+yi]
				switch x.rule {
				case ruleWeightedMean:
					sum += v * weight[c*ny+yi]
					w += weight[c*ny+yi]
				default:
					sum += v
					w++
				}
			}
			truthD[di*ny+yi], weightD[di*ny+yi] = sum, w
		}
	}
	finish := func(sum, w float64) float64 {
		switch x.rule {
		case ruleSum, ruleLast:
			return sum
		}
		if w == 0 {
			return 0
		}
		return sum / w
	}
	report := func(level uint8, ord, yi int, truth float64) float64 {
		v := truth * (1 + 0.02*g.r.sym(tagReported, uint64(level)<<40|uint64(ord), uint64(g.years[yi]), uint64(k)))
		if x.percent {
			v = clamp(v, 0, 100)
		}
		return round(v, x.decimals)
	}
	for pi, ui := range g.byLevel[levelProvince] {
		u := &g.units[ui]
		for yi := range ny {
			var sum, w float64
			for d := u.first; d < u.end; d++ {
				t, dw := truthD[d*ny+yi], weightD[d*ny+yi]
				if x.rule == ruleMean || x.rule == ruleNone {
					sum += finish(t, dw) // a mean of the districts' means
					w++
				} else {
					sum += t
					w += dw
				}
			}
			gr.p[pi*ny+yi] = report(levelProvince, pi, yi, finish(sum, w))
		}
	}
	for i := range gr.d {
		gr.d[i] = report(levelDistrict, i/ny, i%ny, finish(truthD[i], weightD[i]))
	}
	return gr
}

// target is the value a unit aims at for LastYear+2, from its value in
// LastYear: better in the indicator's direction.
func (g *gen) target(k int, level uint8, ord int, last float64) float64 {
	x := &g.inds[k]
	u := g.r.u(tagTargetValue, uint64(level)<<40|uint64(ord), uint64(k), 0)
	var v float64
	switch x.direction {
	case "higher_better":
		v = last * (1.04 + 0.12*u)
	case "lower_better":
		v = last * (0.96 - 0.2*u)
	default:
		v = last * (1 + 0.03*u)
	}
	if x.percent {
		v = clamp(v, 0, 100)
	}
	return round(v, x.decimals)
}

// obsRow is one observation being written; raw is only valid until the
// next row.
type obsRow struct {
	unit, indicator, period, kind, source string
	value                                 float64
	line                                  int32
	raw                                   []byte
}

// obsWriter writes observations in order.
type obsWriter interface {
	write(*obsRow) error
	close() error
}

type obsCounts struct{ rows, targets int64 }

// observations writes every observation, sorted by indicator, the unit's
// level (provinces, districts, communes), unit and period: the order the
// store serves them in, which it then need not sort (units of a level are
// in code order, their numbers being zero-padded).
func (g *gen) observations(ctx context.Context, w obsWriter) (obsCounts, error) {
	var n obsCounts
	s := g.spec
	ny := len(g.years)
	missing := make([]bool, ny*s.Communes)
	targetLabel := strconv.Itoa(s.LastYear + 2)
	sources := make([]string, ny)
	for yi, y := range g.years {
		sources[yi] = g.yearbook(y)
	}
	var row obsRow
	raw := make([]byte, 0, 64)
	emit := func(x *ind, v float64) error {
		row.value = v
		raw = appendRaw(raw[:0], v, x.suffix)
		row.raw = raw
		n.rows++
		return w.write(&row)
	}
	lineStride := int64(len(g.units) + 1)
	for _, k := range g.order {
		if err := errCanceled(ctx); err != nil {
			return n, err
		}
		x := &g.inds[k]
		gr := g.grid(k)
		clear(missing)
		for yi, y := range g.years {
			g.r.stream(tagGaps, uint64(k), uint64(y)).sample(missing[yi*s.Communes:(yi+1)*s.Communes], s.Gaps())
		}
		row.indicator = x.code
		for i, ui := range g.byLevelOrder {
			if i%4096 == 4095 {
				if err := errCanceled(ctx); err != nil {
					return n, err
				}
			}
			u := &g.units[ui]
			var vals []float64
			switch u.level {
			case levelProvince:
				vals = gr.p[u.ord*ny : (u.ord+1)*ny]
			case levelDistrict:
				vals = gr.d[u.ord*ny : (u.ord+1)*ny]
			default:
				vals = gr.c[u.ord*ny : (u.ord+1)*ny]
			}
			row.unit = u.code
			// The unit's line in table k of the synthetic yearbook.
			row.line = int32((int64(k)*lineStride+int64(ui))%math.MaxInt32 + 1)
			row.kind = "actual"
			for yi := range ny {
				if u.level == levelCommune && missing[yi*s.Communes+u.ord] {
					continue
				}
				row.period, row.source = g.labels[yi], sources[yi]
				if err := emit(x, vals[yi]); err != nil {
					return n, err
				}
			}
			if g.targeted[k] && u.level != levelCommune {
				row.period, row.kind, row.source = targetLabel, "target", g.plan
				if err := emit(x, g.target(k, u.level, u.ord, vals[ny-1])); err != nil {
					return n, err
				}
				n.targets++
			}
		}
	}
	return n, nil
}

// appendRaw writes v the Vietnamese way: '.' between thousands, ',' before
// decimals, then the unit ("12.345 người", "25,64%").
func appendRaw(b []byte, v float64, suffix string) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	var tmp [32]byte
	num := strconv.AppendFloat(tmp[:0], v, 'f', -1, 64)
	intLen := len(num)
	for i, ch := range num {
		if ch == '.' {
			intLen = i
			break
		}
	}
	for i := 0; i < intLen; i++ {
		if i > 0 && (intLen-i)%3 == 0 {
			b = append(b, '.')
		}
		b = append(b, num[i])
	}
	if intLen < len(num) {
		b = append(b, ',')
		b = append(b, num[intLen+1:]...)
	}
	return append(b, suffix...)
}
