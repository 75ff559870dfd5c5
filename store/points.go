package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
	"unsafe"

	"chiso/indicator"
)

// points is an in-memory columnar copy of one snapshot's observations,
// for the questions that a DuckDB statement answers in a millisecond or
// more of binding, planning and scanning: series, latest values, pages of
// the observations table, observations by id (points.go), unit
// indicators, coverage, matrices, trends (pointlists.go), rollups
// (pointrollup.go) and comparisons (pointcompare.go), each with the rules
// of its statement, which stays for snapshots without a copy. Ids are dense
// (1..n) and follow (indicator, level, unit, period …), so each series is
// one contiguous run of ids and each indicator one run of series; the copy
// is a directory of those runs plus one array per column, indexed by id−1.
//
// The arrays live outside Go's heap (offHeap) and take about 50 bytes per
// observation, so the copy is built only up to Options.PointsMax rows. For
// an on-disk snapshot they are a mapped file beside the snapshot's, which
// the kernel pages like DuckDB's own file. It is built after the swap,
// while DuckDB serves; the snapshot answers from it once it is complete.
type points struct {
	n      int64
	spans  []span    // one per (indicator, unit) series, in id order
	byUnit [][]int32 // unit index → its spans, in id (so indicator) order
	byInd  [][2]int  // indicator index → [first, last] spans index; {-1, -1} without data

	period, kind, qual, flags, meth, src, basis dictCol
	raw, note                                   strCol
	value, den                                  []float64
	pos, endPos                                 []float64 // per period code
	isRange                                     []bool    // per period code
	periodPtr                                   []*indicator.Period
	periodNo                                    []int32 // per period code: dimensions.periodNo
	line                                        []int32
	canonical, hasDen                           []uint64 // bit sets

	free func()
}

// span is one series' run of ids, lo..hi inclusive.
type span struct {
	lo, hi    int64
	ind, unit int32
}

// dictCol is a column of few distinct strings: one code per row. NULL
// has a code of its own (its value reads as "").
type dictCol struct {
	codes []uint16
	vals  []string
	null  int               // NULL's code, or -1
	index map[string]uint16 // non-NULL value → code
}

func newDictCol(codes []uint16) dictCol {
	return dictCol{codes: codes, null: -1, index: map[string]uint16{}}
}

func (c *dictCol) put(i int64, v any) error {
	s, ok := v.(string)
	if !ok && c.null >= 0 {
		c.codes[i] = uint16(c.null)
		return nil
	}
	code, found := c.index[s]
	if !ok || !found {
		if len(c.vals) > 1<<16-1 {
			return errors.New("more than 65,535 distinct values in a coded column")
		}
		code = uint16(len(c.vals))
		c.vals = append(c.vals, s)
		if ok {
			c.index[s] = code
		} else {
			c.null = int(code)
		}
	}
	c.codes[i] = code
	return nil
}

func (c *dictCol) at(i int64) string { return c.vals[c.codes[i]] }

// code is the code of a non-NULL value, or -1.
func (c *dictCol) code(v string) int {
	if k, ok := c.index[v]; ok {
		return int(k)
	}
	return -1
}

// strCol is a column of free text: row i is data[offs[i]:offs[i+1]],
// written in id order.
type strCol struct {
	offs []uint32
	data []byte
	end  uint32 // while building: bytes written
}

func (c *strCol) put(i int64, v any) {
	s, _ := v.(string)
	c.offs[i] = c.end
	c.end += uint32(copy(c.data[c.end:], s))
	c.offs[i+1] = c.end
}

func (c *strCol) at(i int64) string { return string(c.data[c.offs[i]:c.offs[i+1]]) }

func bit(set []uint64, i int64) bool { return set[i>>6]&(1<<(i&63)) != 0 }
func setBit(set []uint64, i int64)   { set[i>>6] |= 1 << (i & 63) }

// arena hands out aligned slices of one off-heap block.
type arena struct {
	buf []byte
	at  int
}

func carve[T any](a *arena, n int64) []T {
	var zero T
	size, align := int(unsafe.Sizeof(zero)), int(unsafe.Alignof(zero))
	a.at = (a.at + align - 1) &^ (align - 1)
	if n == 0 {
		return nil
	}
	s := unsafe.Slice((*T)(unsafe.Pointer(&a.buf[a.at])), n)
	a.at += size * int(n)
	return s
}

// pointsBytes is the off-heap size of a copy of n rows with textBytes of
// free text, with room for aligning each of its 16 arrays.
func pointsBytes(n, textBytes int64) int64 {
	words := (n + 63) / 64
	return n*(7*2+8+8+4) + 2*words*8 + 2*(n+1)*4 + textBytes + 16*8
}

// buildPoints reads a snapshot's observations into a points copy.
func buildPoints(ctx context.Context, sn *snapshot) (p *points, err error) {
	n := int64(sn.info.Observations)
	var lo, hi, rawBytes, noteBytes sql.NullInt64
	if err := sn.db.QueryRowContext(ctx, `SELECT min(id), max(id), sum(strlen(raw)), sum(strlen(note)) FROM observations`).
		Scan(&lo, &hi, &rawBytes, &noteBytes); err != nil {
		return nil, err
	}
	if n > 0 && (lo.Int64 != 1 || hi.Int64 != n) {
		return nil, fmt.Errorf("ids run %d..%d, not 1..%d", lo.Int64, hi.Int64, n)
	}
	if rawBytes.Int64+noteBytes.Int64 > 1<<32-1 {
		return nil, errors.New("more than 4 GiB of text")
	}
	dir := "" // in memory, beside a snapshot held in memory
	if sn.path != "" {
		dir = filepath.Dir(sn.path) // in a file beside an on-disk snapshot
	}
	buf, free, err := offHeap(int(pointsBytes(n, rawBytes.Int64+noteBytes.Int64)), dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			free()
		}
	}()
	a := &arena{buf: buf}
	p = &points{n: n, free: free, byUnit: make([][]int32, len(sn.dim.units)), byInd: make([][2]int, len(sn.dim.indicators))}
	for x := range p.byInd {
		p.byInd[x] = [2]int{-1, -1}
	}
	for _, c := range []*dictCol{&p.period, &p.kind, &p.qual, &p.flags, &p.meth, &p.src, &p.basis} {
		*c = newDictCol(carve[uint16](a, n))
	}
	p.value, p.den, p.line = carve[float64](a, n), carve[float64](a, n), carve[int32](a, n)
	p.canonical, p.hasDen = carve[uint64](a, (n+63)/64), carve[uint64](a, (n+63)/64)
	p.raw.offs, p.note.offs = carve[uint32](a, n+1), carve[uint32](a, n+1)
	p.raw.data, p.note.data = carve[byte](a, rawBytes.Int64), carve[byte](a, noteBytes.Int64)

	if err := p.readSpans(ctx, sn); err != nil {
		return nil, err
	}
	// A plain scan returns the rows in id order (insertion order is kept
	// while serving); the text columns are written in that order.
	var next int64 = 1
	coded := []struct {
		col *dictCol
		at  int
	}{{&p.period, 1}, {&p.kind, 2}, {&p.qual, 5}, {&p.flags, 6}, {&p.meth, 7}, {&p.src, 8}, {&p.basis, 13}}
	err = readRows(ctx, sn.db, `SELECT id, period, kind, value, denominator, qualifier, flags, methodology, source, line, raw, note, canonical, basis
		FROM observations`, func(row []driver.Value) error {
		id, _ := row[0].(int64)
		if id != next {
			return fmt.Errorf("row %d read where %d was expected: not in id order", id, next)
		}
		next++
		i := id - 1
		for _, c := range coded {
			if err := c.col.put(i, row[c.at]); err != nil {
				return err
			}
		}
		p.value[i], _ = row[3].(float64)
		if d, ok := row[4].(float64); ok {
			p.den[i] = d
			setBit(p.hasDen, i)
		}
		if l, ok := row[9].(int32); ok {
			p.line[i] = l
		}
		p.raw.put(i, row[10])
		p.note.put(i, row[11])
		if c, _ := row[12].(bool); c {
			setBit(p.canonical, i)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Each period's position and end as fractional years (see posSQL).
	p.pos, p.endPos = make([]float64, len(p.period.vals)), make([]float64, len(p.period.vals))
	err = readRows(ctx, sn.db, `SELECT period, any_value(pos), any_value(end_pos) FROM observations GROUP BY period`, func(row []driver.Value) error {
		label, _ := row[0].(string)
		c, ok := p.period.index[label]
		if !ok {
			return fmt.Errorf("period %q was not read", label)
		}
		p.pos[c], _ = row[1].(float64)
		p.endPos[c], _ = row[2].(float64)
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.isRange, p.periodPtr, p.periodNo = make([]bool, len(p.period.vals)), make([]*indicator.Period, len(p.period.vals)), make([]int32, len(p.period.vals))
	for c, v := range p.period.vals {
		p.isRange[c] = sn.dim.periods[v].Kind == indicator.PeriodRange
		p.periodPtr[c], p.periodNo[c] = sn.dim.periodAt[v], sn.dim.periodNo[v]
	}
	return p, nil
}

// readSpans reads the series directory and checks that each series and
// each indicator is one run of ids.
func (p *points) readSpans(ctx context.Context, sn *snapshot) error {
	var next int64 = 1
	err := readRows(ctx, sn.db, `SELECT indicator, unit, min(id), max(id), count(*) FROM observations
		GROUP BY indicator, unit ORDER BY 3`, func(row []driver.Value) error {
		ind, _ := row[0].(string)
		unit, _ := row[1].(string)
		lo, _ := row[2].(int64)
		hi, _ := row[3].(int64)
		cnt, _ := row[4].(int64)
		x, okI := sn.dim.indIndex[ind]
		u, okU := sn.dim.unitIndex[unit]
		switch {
		case !okI || !okU:
			return fmt.Errorf("series %s/%s outside the dimensions", unit, ind)
		case lo != next || hi-lo+1 != cnt:
			return fmt.Errorf("series %s/%s is not one run of ids", unit, ind)
		}
		next = hi + 1
		k := len(p.spans)
		p.spans = append(p.spans, span{lo: lo, hi: hi, ind: int32(x), unit: int32(u)})
		switch r := p.byInd[x]; {
		case r[0] < 0:
			p.byInd[x] = [2]int{k, k}
		case r[1] != k-1:
			return fmt.Errorf("indicator %s is not one run of ids", ind)
		default:
			p.byInd[x][1] = k
		}
		// A unit's series follow the indicators' order, which lookup
		// searches by.
		if ks := p.byUnit[u]; len(ks) > 0 && p.spans[ks[len(ks)-1]].ind >= int32(x) {
			return fmt.Errorf("unit %s's series are not in indicator order", unit)
		}
		p.byUnit[u] = append(p.byUnit[u], int32(k))
		return nil
	})
	if err == nil && next != p.n+1 {
		err = fmt.Errorf("the series cover ids 1..%d of %d", next-1, p.n)
	}
	return err
}

// readRows streams a statement's rows through the driver's own row
// interface, without database/sql's per-value conversions.
func readRows(ctx context.Context, db *sql.DB, q string, each func([]driver.Value) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return errors.New("the driver cannot query")
		}
		rows, err := qc.QueryContext(ctx, q, nil)
		if err != nil {
			return err
		}
		defer rows.Close()
		row := make([]driver.Value, len(rows.Columns()))
		for {
			if err := rows.Next(row); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if err := each(row); err != nil {
				return err
			}
		}
	})
}

// obs assembles observation id (1-based) of span s.
func (p *points) obs(dim *dimensions, s span, id int64) indicator.Observation {
	i := id - 1
	o := indicator.Observation{
		ID: id, Unit: dim.units[s.unit].Code, Indicator: dim.indicators[s.ind].Code,
		Period: dim.periods[p.period.at(i)], Kind: indicator.ObservationKind(p.kind.at(i)),
		Value: p.value[i], Qualifier: p.qual.at(i), Methodology: p.meth.at(i), Source: p.src.at(i),
		Line: int(p.line[i]), Raw: p.raw.at(i), Note: p.note.at(i), Flags: []string{}, Canonical: bit(p.canonical, i),
		Basis: indicator.Basis(p.basis.at(i)),
	}
	if bit(p.hasDen, i) {
		d := p.den[i]
		o.Denominator = &d
	}
	for _, f := range strings.Split(p.flags.at(i), ";") {
		if f != "" {
			o.Flags = append(o.Flags, f)
		}
	}
	return o
}

// spanOf finds the series holding id.
func (p *points) spanOf(id int64) span {
	k := sort.Search(len(p.spans), func(k int) bool { return p.spans[k].hi >= id })
	return p.spans[k]
}

// lookup returns a series' span.
func (p *points) lookup(dim *dimensions, k indicator.SeriesKey) (span, bool) {
	x, okI := dim.indIndex[k.Indicator]
	u, okU := dim.unitIndex[k.Unit]
	if !okI || !okU {
		return span{}, false
	}
	ks := p.byUnit[u]
	at := sort.Search(len(ks), func(j int) bool { return p.spans[ks[j]].ind >= int32(x) })
	if at == len(ks) || p.spans[ks[at]].ind != int32(x) {
		return span{}, false
	}
	return p.spans[ks[at]], true
}

// seriesOf answers Series: each series' rows of the given kinds, ordered
// by period start, end and kind, then id. maxRows caps the rows in all.
func (p *points) seriesOf(ctx context.Context, dim *dimensions, keys []indicator.SeriesKey, kinds []indicator.ObservationKind, maxRows int) (map[indicator.SeriesKey][]indicator.Observation, error) {
	out := make(map[indicator.SeriesKey][]indicator.Observation, len(keys))
	rows := 0
	for n, k := range keys {
		if n%checkEvery == 0 {
			if err := ctxErr(ctx, "series"); err != nil {
				return nil, err
			}
		}
		if _, done := out[k]; done {
			continue
		}
		list := []indicator.Observation{}
		if s, ok := p.lookup(dim, k); ok {
			for id := s.lo; id <= s.hi; id++ {
				if len(kinds) > 0 && !slices.Contains(kinds, indicator.ObservationKind(p.kind.at(id-1))) {
					continue
				}
				if rows++; rows > maxRows {
					return nil, indicator.Errorf(indicator.ErrTooLarge, "the answer has more than %d rows: narrow the request", maxRows)
				}
				list = append(list, p.obs(dim, s, id))
			}
			// Stored order is period start, end, label, kind, …; a series
			// lists start, end, kind, id.
			sort.SliceStable(list, func(a, b int) bool {
				pa, pb := list[a].Period, list[b].Period
				if !pa.Start.Equal(pb.Start) {
					return pa.Start.Before(pb.Start)
				}
				if !pa.End.Equal(pb.End) {
					return pa.End.Before(pb.End)
				}
				if list[a].Kind != list[b].Kind {
					return list[a].Kind < list[b].Kind
				}
				return list[a].ID < list[b].ID
			})
		}
		out[k] = list
	}
	return out, nil
}

// byID answers observations by id.
func (p *points) byID(dim *dimensions, ids []int64) map[int64]indicator.Observation {
	out := make(map[int64]indicator.Observation, len(ids))
	for _, id := range ids {
		if id >= 1 && id <= p.n {
			out[id] = p.obs(dim, p.spanOf(id), id)
		}
	}
	return out
}

// idRange is a run of ids, lo..hi inclusive.
type idRange struct{ lo, hi int64 }

// page answers Observations: the rows matching q inside window w, at most
// w.n+1 (the first ones, or backward the last ones), in id order, with the
// count of all that match and of those outside w's bounds.
func (p *points) page(ctx context.Context, dim *dimensions, q indicator.ObservationQuery, w window) ([]indicator.Observation, pageCounts, error) {
	var runs []idRange
	wantInd := map[int32]bool{}
	for _, c := range q.Indicators {
		if x, ok := dim.indIndex[c]; ok {
			wantInd[int32(x)] = true
		}
	}
	switch {
	case len(q.Units) > 0:
		seen := map[int32]bool{}
		for _, c := range q.Units {
			u, ok := dim.unitIndex[c]
			if !ok || seen[int32(u)] {
				continue
			}
			seen[int32(u)] = true
			for _, k := range p.byUnit[u] {
				if s := p.spans[k]; len(q.Indicators) == 0 || wantInd[s.ind] {
					runs = append(runs, idRange{s.lo, s.hi})
				}
			}
		}
	case len(q.Indicators) > 0:
		for x := range wantInd {
			if r := p.byInd[x]; r[0] >= 0 {
				runs = append(runs, idRange{p.spans[r[0]].lo, p.spans[r[1]].hi})
			}
		}
	case p.n > 0:
		runs = []idRange{{1, p.n}}
	}
	slices.SortFunc(runs, func(a, b idRange) int { return int(a.lo - b.lo) })
	match := p.rowFilter(dim, q)
	limit := w.n + 1
	var c pageCounts
	var ids []int64 // inside the window, ascending, or backward descending
	take := func(id int64) {
		if len(ids) < limit {
			ids = append(ids, id)
		}
	}
	if match == nil { // every row of a run matches
		for _, r := range runs {
			c.total += int(r.hi - r.lo + 1)
			c.before += int(max(0, min(r.hi, w.lo)-r.lo+1))
			c.after += int(max(0, r.hi-max(r.lo, w.hi)+1))
		}
		lo, hi := w.lo+1, w.hi-1
		if w.backward {
			for k := len(runs) - 1; k >= 0 && len(ids) < limit; k-- {
				for id := min(runs[k].hi, hi); id >= max(runs[k].lo, lo) && len(ids) < limit; id-- {
					take(id)
				}
			}
		} else {
			for _, r := range runs {
				for id := max(r.lo, lo); id <= min(r.hi, hi) && len(ids) < limit; id++ {
					take(id)
				}
			}
		}
	} else {
		for k := range runs {
			r := runs[k]
			if w.backward {
				r = runs[len(runs)-1-k]
			}
			for i := int64(0); i <= r.hi-r.lo; i++ {
				id := r.lo + i
				if w.backward {
					id = r.hi - i
				}
				if id%(64*checkEvery) == 0 {
					if err := ctxErr(ctx, "observations"); err != nil {
						return nil, pageCounts{}, err
					}
				}
				if !match(id - 1) {
					continue
				}
				c.total++
				switch {
				case id <= w.lo:
					c.before++
				case id >= w.hi:
					c.after++
				default:
					take(id)
				}
			}
		}
	}
	if w.backward {
		slices.Reverse(ids)
	}
	var out []indicator.Observation // nil when empty, as the statement answers
	for _, id := range ids {
		out = append(out, p.obs(dim, p.spanOf(id), id))
	}
	return out, c, ctxErr(ctx, "observations")
}

// rowFilter is the per-row part of an observations filter (kinds,
// sources, period bounds), or nil when there is none.
func (p *points) rowFilter(dim *dimensions, q indicator.ObservationQuery) func(i int64) bool {
	if len(q.Kinds) == 0 && len(q.Sources) == 0 && q.From == nil && q.To == nil {
		return nil
	}
	kinds := make([]bool, len(p.kind.vals))
	for c, v := range p.kind.vals {
		kinds[c] = len(q.Kinds) == 0 || slices.Contains(q.Kinds, indicator.ObservationKind(v))
	}
	srcs := make([]bool, len(p.src.vals))
	for c, v := range p.src.vals {
		srcs[c] = len(q.Sources) == 0 || v != "" && slices.Contains(q.Sources, v) // "" is a missing source
	}
	pers := make([]bool, len(p.period.vals))
	for c, v := range p.period.vals {
		per := dim.periods[v]
		pers[c] = (q.From == nil || !per.Start.Before(q.From.Start)) && (q.To == nil || !per.End.After(q.To.End))
	}
	return func(i int64) bool {
		return kinds[p.kind.codes[i]] && srcs[p.src.codes[i]] && pers[p.period.codes[i]]
	}
}

// startPoints starts building the copy for a new snapshot when the
// options allow, in the background; the snapshot serves from DuckDB until it is done.
func (s *Store) startPoints(sn *snapshot) {
	if s.opts.PointsMax <= 0 || sn.info.Observations > s.opts.PointsMax || !sn.acquire() {
		close(sn.ptsDone)
		return
	}
	go s.buildPointsOf(sn)
}

func (s *Store) buildPointsOf(sn *snapshot) {
	defer close(sn.ptsDone)
	defer sn.release()
	start := time.Now()
	p, err := buildPoints(context.Background(), sn)
	if err != nil {
		s.log.Warn("point index not built; DuckDB answers point reads", "version", sn.info.Version, "err", err)
		return
	}
	sn.pts.Store(p)
	s.log.Info("point index built", "version", sn.info.Version, "observations", p.n,
		"mib", pointsBytes(p.n, int64(len(p.raw.data)+len(p.note.data)))>>20, "elapsed", time.Since(start).Round(time.Millisecond))
}

// PointIndex reports the current snapshot's in-memory point index: "off"
// (not built for this dataset), "building" or "ready".
func (s *Store) PointIndex() string {
	sn := s.cur.Load()
	if sn == nil {
		return "off"
	}
	select {
	case <-sn.ptsDone:
		if sn.pts.Load() != nil {
			return "ready"
		}
		return "off"
	default:
		return "building"
	}
}

// WaitPointIndex waits until the current snapshot's point index is built
// or known not to be, and reports whether it is ready.
func (s *Store) WaitPointIndex(ctx context.Context) (bool, error) {
	sn := s.cur.Load()
	if sn == nil {
		return false, nil
	}
	select {
	case <-sn.ptsDone:
		return sn.pts.Load() != nil, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}
