package synth

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
)

// Levels as written in the units table.
const (
	levelCountry uint8 = iota
	levelProvince
	levelDistrict
	levelCommune
)

var levelNames = [...]string{"country", "province", "district", "commune"}

// unit is one administrative unit. ord is its number within its level
// (0-based, depth-first); first and end delimit its children (for the
// country: provinces; a province: districts; a district: communes) by ord
// at the level below, and communes delimits a province's communes.
type unit struct {
	code, nameVI, nameEN string
	officialCode, typ    string // the register's; empty for invented units
	level                uint8
	parent               int // index in gen.units; -1 for the country
	ord                  int
	first, end           int
	communes             [2]int
}

// Hash tags: each random quantity draws from its own stream.
const (
	tagProvinceSize uint64 = iota + 1
	tagDistrictSize
	tagUnitName
	tagPopBase
	tagPopGrowth
	tagPopNoise
	tagHHSize
	tagPoorBase
	tagPoorNoise
	tagBudgetBase
	tagBudgetNoise
	tagLiteracy
	tagLiteracyNoise
	tagForest
	tagForestNoise
	tagArea
	tagGrowth
	tagGrowthNoise
	tagTargets
	tagGaps
	tagReported
	tagTargetValue
	tagDirection
	tagIndicator = 1 << 32 // | catalog position: per-indicator streams
)

// hasher draws deterministic random numbers from a seed.
type hasher struct{ seed uint64 }

func mix(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

// h hashes a tag and three keys into 64 random bits.
func (r hasher) h(tag, a, b, c uint64) uint64 {
	z := mix(r.seed ^ (tag * 0x9e3779b97f4a7c15))
	z = mix(z ^ (a+1)*0xd1b54a32d192ed03)
	z = mix(z ^ (b+1)*0xaef17502108ef2d9)
	return mix(z ^ (c+1)*0xf58f2b3c6a4d8a6b)
}

// u is a uniform number in [0, 1).
func (r hasher) u(tag, a, b, c uint64) float64 {
	return float64(r.h(tag, a, b, c)>>11) * 0x1p-53
}

// sym is a uniform number in [-1, 1).
func (r hasher) sym(tag, a, b, c uint64) float64 { return 2*r.u(tag, a, b, c) - 1 }

// stream is a splitmix64 sequence.
type stream struct{ s uint64 }

func (r hasher) stream(tag, a, b uint64) *stream { return &stream{r.h(tag, a, b, 0)} }

func (s *stream) next() uint64 {
	s.s += 0x9e3779b97f4a7c15
	return mix(s.s)
}

// intn is a number in [0, n).
func (s *stream) intn(n int) int {
	hi, _ := bits.Mul64(s.next(), uint64(n))
	return int(hi)
}

// sample marks k distinct numbers of [0, n) in set (len n, all false on
// entry), chosen uniformly (Floyd's algorithm).
func (s *stream) sample(set []bool, k int) {
	n := len(set)
	for j := n - k; j < n; j++ {
		t := s.intn(j + 1)
		if set[t] {
			set[j] = true
		} else {
			set[t] = true
		}
	}
}

// spread splits n children over k parents unevenly but at least one each,
// with weights 0.5…1.5 (largest remainders).
func spread(r hasher, tag uint64, n, k int) []int {
	w := make([]float64, k)
	total := 0.0
	for i := range w {
		w[i] = 0.5 + r.u(tag, uint64(i), 0, 0)
		total += w[i]
	}
	out := make([]int, k)
	extra := n - k
	used := 0
	rem := make([]float64, k)
	for i := range w {
		x := float64(extra) * w[i] / total
		out[i] = 1 + int(math.Floor(x))
		rem[i] = x - math.Floor(x)
		used += out[i] - 1
	}
	for ; used < extra; used++ {
		best := 0
		for i := range rem {
			if rem[i] > rem[best] {
				best = i
			}
		}
		out[best]++
		rem[best] = -1
	}
	return out
}

func width(min, n int) int { return max(min, len(strconv.Itoa(n))) }

// buildUnits lays out the hierarchy in depth-first order, which is also
// the byte order of the codes.
func buildUnits(r hasher, s Spec) []unit {
	units := make([]unit, 0, 1+s.Provinces+s.Districts+s.Communes)
	units = append(units, unit{code: "vn", nameVI: "Việt Nam", nameEN: "Viet Nam", level: levelCountry, parent: -1, end: s.Provinces})
	perProvince := spread(r, tagProvinceSize, s.Districts, s.Provinces)
	perDistrict := spread(r, tagDistrictSize, s.Communes, s.Districts)
	wp, wd, wc := width(2, s.Provinces), width(3, s.Districts), width(4, s.Communes)
	d, c := 0, 0
	for p := 0; p < s.Provinces; p++ {
		pi := len(units)
		num := fmt.Sprintf("%0*d", wp, p+1)
		kindVI, kindEN := "Tỉnh", "Province"
		if r.u(tagUnitName, uint64(levelProvince), uint64(p), 0) < 0.08 {
			kindVI, kindEN = "Thành phố", "City"
		}
		units = append(units, unit{code: "vn.p" + num, nameVI: kindVI + " " + num, nameEN: kindEN + " " + num,
			level: levelProvince, parent: 0, ord: p, first: d, end: d + perProvince[p], communes: [2]int{c, c}})
		for range perProvince[p] {
			di := len(units)
			dnum := fmt.Sprintf("%0*d", wd, d+1)
			kindVI, kindEN := "Huyện", "District"
			switch x := r.u(tagUnitName, uint64(levelDistrict), uint64(d), 0); {
			case x < 0.03:
				kindVI, kindEN = "Thành phố", "City"
			case x < 0.10:
				kindVI, kindEN = "Thị xã", "Town"
			case x < 0.20:
				kindVI, kindEN = "Quận", "Urban District"
			}
			units = append(units, unit{code: units[pi].code + ".d" + dnum, nameVI: kindVI + " " + dnum, nameEN: kindEN + " " + dnum,
				level: levelDistrict, parent: pi, ord: d, first: c, end: c + perDistrict[d]})
			for range perDistrict[d] {
				cnum := fmt.Sprintf("%0*d", wc, c+1)
				kindVI, kindEN := "Xã", "Commune"
				switch x := r.u(tagUnitName, uint64(levelCommune), uint64(c), 0); {
				case x < 0.05:
					kindVI, kindEN = "Thị trấn", "Township"
				case x < 0.15:
					kindVI, kindEN = "Phường", "Ward"
				}
				units = append(units, unit{code: units[di].code + ".c" + cnum, nameVI: kindVI + " " + cnum, nameEN: kindEN + " " + cnum,
					level: levelCommune, parent: di, ord: c})
				c++
			}
			d++
		}
		units[pi].communes[1] = c
	}
	return units
}
