// Package synth writes deterministic synthetic datasets with the shape of
// Việt Nam (country → provinces → districts → communes) in the loader's
// dataset format (README "Dataset format"), for benchmarks and smoke
// tests. The same Spec always gives byte-identical files.
//
// # Shape
//
// Sizes S, M and L take their unit tree from the Statistics Office's
// register of 2025-03-01 as chiso embeds it (datasets/vietnam, with Lai
// Châu's units from datasets/laichau; Spec.Register): the 63 provinces,
// 696 districts and 10,047 communes valid that day, with their chiso
// codes (vn.ha-noi.ba-dinh.phuc-xa), Vietnamese names, the English names
// the register gives (mostly none), official codes and types. The
// synthetic units carry no validity and no unit changes: their figures
// (up to 2024) are all in the tree of 2025-03-01.
//
// XS, and any tree reshaped by counts, is invented: units are coded vn,
// vn.p01, vn.p01.d001, vn.p01.d001.c0001: provinces, districts and
// communes are numbered across the whole country in depth-first order,
// zero-padded to at least 2, 3 and 4 digits (wider when the counts need
// it), so the depth-first order is also the byte order of the codes.
// Districts are spread unevenly over provinces and communes over
// districts (every parent gets at least one child). Names are Vietnamese
// ("Tỉnh 01", "Thành phố 05", "Huyện 001", "Quận 002", "Xã 00001",
// "Phường 00002" …), with no official code or type.
//
// # Indicators
//
// The first nine indicators are named, in this order (a prefix of the list
// is closed under rollup references, so any Indicators ≥ 1 is valid):
//
//	pop            Dân số                    people       SUM
//	hh             Số hộ                     households   SUM
//	poor           Số hộ nghèo               households   SUM
//	poverty_rate   Tỷ lệ hộ nghèo            %            RATIO(poor,hh)
//	literacy_rate  Tỷ lệ biết chữ            %            WEIGHTED_MEAN(pop)
//	forest_cover   Tỷ lệ che phủ rừng        %            MEAN
//	forest_area    Diện tích rừng            ha           LAST
//	grdp_growth    Tốc độ tăng trưởng GRDP   %            NONE
//	budget_revenue Thu ngân sách             billion VND  SUM
//
// The rest are ind_0010, ind_0011 … (the number is the position in the
// catalog), cycling through SUM (people, a share of pop), RATIO(the SUM
// just before it, pop) in %, WEIGHTED_MEAN(pop) in %, MEAN in %, LAST (a
// stock in km, ha or units) and NONE (a growth rate in %), with mixed
// directions.
//
// # Observations
//
// Every commune, district and province (not the country) has a value of
// every indicator in every year FirstYear…LastYear, kind actual, except
// gaps: in each indicator and year exactly G = round(GapRate × Communes)
// communes, chosen at random, have no row. Commune values come from
// random levels, trends and noise (population grows, poverty falls …);
// levels are drawn half per province, 0.3 per district and 0.2 per commune,
// so provinces and districts differ the way real ones do (poverty rates of
// provinces in S range from about 1% to 7%, of communes from 0.5% to 12%).
// Districts and provinces report their own values, which are
// their true aggregates over all their communes (sum, population-weighted
// mean, or mean of means, by the rule; gaps are only omissions) times a
// deterministic factor within ±2%, so rollups have a reported figure to
// differ from. RATIO indicators are computed from their numerator and
// denominator at the same unit and year (poverty_rate = poor / hh × 100,
// rounded to 2 decimals) at every level. T = round(TargetShare ×
// Indicators) indicators, chosen at random, also have a kind target row for
// LastYear+2 at every province and district. Values are rounded (counts to
// units, rates to 2 decimals, areas to 1); raw is the value written the
// Vietnamese way ("12.345 người", "25,64%", "1.234,5 ha"); line is the
// row's line in a synthetic yearbook (one table per indicator, one line per
// unit); source is the yearbook of the year (ngtk_YYYY) or, for targets,
// the plan (ke_hoach_YYYY). The other optional columns are empty (null in
// Parquet). Observations are sorted by indicator, the unit's level, unit
// and period, as the store keeps them (so a load need not sort them).
//
// # Counts
//
// With P provinces, D districts, C communes, I indicators, Y = LastYear −
// FirstYear + 1 years, G and T as above:
//
//	units        = 1 + P + D + C
//	sources      = Y + 1
//	observations = I × Y × (P + D + C − G) + T × (P + D)
//
// The named sizes (Seed 1, GapRate 0.05, TargetShare 0.1; S, M and L have
// the register's shape P = 63, D = 696, C = 10,047, so G = 502 and one
// indicator-year is 10,304 rows):
//
//	size  P   D    C       I    years      units   observations
//	XS    3   12   120     12   2018–2024  136     12×7×129 + 1×15      = 10,851
//	S     63  696  10,047  12   2017–2024  10,807  12×8×10,304 + 1×759  = 989,943
//	M     63  696  10,047  46   2004–2024  10,807  46×21×10,304 + 5×759 = 9,957,459
//	L     63  696  10,047  300  1993–2024  10,807  300×32×10,304 + 30×759 = 98,941,170
//
// # Formats and memory
//
// Parquet (the default) is written with arrow-go's pqarrow, zstd
// compression and dictionary encoding, one row group per 65,536
// observations; CSV with the loader's header names. Observations are
// streamed in batches of that size, and values are computed one indicator
// at a time (a few arrays of units × years floats), so memory stays bounded
// whatever the number of rows.
//
// Determinism holds for one build of the program; values come from
// floating-point arithmetic (math.Pow, math.Exp), so another architecture
// may in rare cases round a value differently.
package synth

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Spec describes a synthetic dataset. Every field matters: start from
// Size and change what you need.
type Spec struct {
	Seed                           int64
	Provinces, Districts, Communes int
	Indicators                     int
	FirstYear, LastYear            int
	// GapRate is the share of communes missing in each indicator and year,
	// in [0, 1).
	GapRate float64
	// TargetShare is the share of indicators with targets for LastYear+2
	// at province and district level, in [0, 1].
	TargetShare float64
	// Register takes the unit tree from the Statistics Office's register
	// of RegisterDay (datasets/vietnam): its codes, names, official codes
	// and types. Provinces, Districts and Communes must then be its counts
	// (RegisterShape).
	Register bool
}

// SizeNames lists the named sizes, smallest first.
var SizeNames = []string{"XS", "S", "M", "L"}

// Size returns the Spec of a named size: XS (about 10 thousand
// observations, for tests), S (about 1 million), M (about 10 million) or
// L (about 100 million). The name is case-insensitive.
func Size(name string) (Spec, error) {
	if strings.ToUpper(name) == "XS" {
		s := Spec{Seed: 1, Provinces: 3, Districts: 12, Communes: 120, GapRate: 0.05, TargetShare: 0.1}
		s.Indicators, s.FirstYear, s.LastYear = 12, 2018, 2024
		return s, nil
	}
	p, d, c, err := RegisterShape()
	if err != nil {
		return Spec{}, err
	}
	vn := Spec{Seed: 1, Provinces: p, Districts: d, Communes: c, GapRate: 0.05, TargetShare: 0.1, Register: true}
	switch strings.ToUpper(name) {
	case "S":
		vn.Indicators, vn.FirstYear, vn.LastYear = 12, 2017, 2024
		return vn, nil
	case "M":
		vn.Indicators, vn.FirstYear, vn.LastYear = 46, 2004, 2024
		return vn, nil
	case "L":
		vn.Indicators, vn.FirstYear, vn.LastYear = 300, 1993, 2024
		return vn, nil
	}
	return Spec{}, fmt.Errorf("synth: unknown size %q: expected one of %s", name, strings.Join(SizeNames, ", "))
}

// Validate reports the first problem with the spec.
func (s Spec) Validate() error {
	switch {
	case s.Provinces < 1:
		return fmt.Errorf("synth: provinces must be 1 or more, got %d", s.Provinces)
	case s.Districts < s.Provinces:
		return fmt.Errorf("synth: districts must be at least the provinces (%d), got %d", s.Provinces, s.Districts)
	case s.Communes < s.Districts:
		return fmt.Errorf("synth: communes must be at least the districts (%d), got %d", s.Districts, s.Communes)
	case s.Indicators < 1:
		return fmt.Errorf("synth: indicators must be 1 or more, got %d", s.Indicators)
	case s.FirstYear < 1000 || s.LastYear > 2997 || s.LastYear < s.FirstYear:
		return fmt.Errorf("synth: years must satisfy 1000 ≤ from ≤ to ≤ 2997, got %d–%d", s.FirstYear, s.LastYear)
	case !(s.GapRate >= 0 && s.GapRate < 1):
		return fmt.Errorf("synth: gap rate must be in [0, 1), got %g", s.GapRate)
	case !(s.TargetShare >= 0 && s.TargetShare <= 1):
		return fmt.Errorf("synth: target share must be in [0, 1], got %g", s.TargetShare)
	}
	if s.Register {
		p, d, c, err := RegisterShape()
		if err != nil {
			return err
		}
		if s.Provinces != p || s.Districts != d || s.Communes != c {
			return fmt.Errorf("synth: the register's tree has %d provinces, %d districts and %d communes, got %d, %d and %d", p, d, c, s.Provinces, s.Districts, s.Communes)
		}
	}
	if n := s.Counts().Observations; n > math.MaxInt64/2 || n < 0 {
		return fmt.Errorf("synth: too many observations")
	}
	return nil
}

// Years is the number of years with actual values.
func (s Spec) Years() int { return s.LastYear - s.FirstYear + 1 }

// Gaps is the number of communes without a row in each indicator and year.
func (s Spec) Gaps() int { return int(math.Round(s.GapRate * float64(s.Communes))) }

// Targeted is the number of indicators with targets.
func (s Spec) Targeted() int { return int(math.Round(s.TargetShare * float64(s.Indicators))) }

// Counts are the rows of each table of a dataset.
type Counts struct {
	Sources, Units, Indicators int64
	Observations               int64 // actual + target
	Targets                    int64 // observations of kind target
}

// Counts returns the rows a valid spec produces (see the package comment).
func (s Spec) Counts() Counts {
	p, d, c := int64(s.Provinces), int64(s.Districts), int64(s.Communes)
	i, y := int64(s.Indicators), int64(s.Years())
	t := int64(s.Targeted()) * (p + d)
	return Counts{
		Sources:      y + 1,
		Units:        1 + p + d + c,
		Indicators:   i,
		Observations: i*y*(p+d+c-int64(s.Gaps())) + t,
		Targets:      t,
	}
}

// Format is the file format of a written dataset.
type Format string

const (
	Parquet Format = "parquet"
	CSV     Format = "csv"
)

// Tables are the dataset's tables, in writing order.
var Tables = []string{"sources", "units", "indicators", "observations"}

// FileStats describes one file written.
type FileStats struct {
	Name  string // file name within the folder
	Rows  int64
	Bytes int64
}

// Stats says what Write wrote.
type Stats struct {
	Dir    string
	Format Format
	Counts
	Files   []FileStats
	Bytes   int64 // all files
	Elapsed time.Duration
}

// knownExts are the extensions the loader reads a table from; a table
// given in two formats is refused, so Write refuses to create that.
var knownExts = []string{".csv", ".parquet", ".arrow", ".arrows", ".ipc", ".feather"}

// Write generates the dataset spec describes into dir (created if need
// be) as sources, units, indicators and observations files of format
// ("" means Parquet), replacing files of the same names. It refuses a
// folder holding one of those tables in another format. Each file is
// written under a temporary name and renamed when complete.
func Write(ctx context.Context, dir string, spec Spec, format Format) (Stats, error) {
	start := time.Now()
	if format == "" {
		format = Parquet
	}
	if format != Parquet && format != CSV {
		return Stats{}, fmt.Errorf("synth: unknown format %q: expected parquet or csv", format)
	}
	if err := spec.Validate(); err != nil {
		return Stats{}, err
	}
	if err := ctx.Err(); err != nil {
		return Stats{}, fmt.Errorf("synth: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Stats{}, fmt.Errorf("synth: %w", err)
	}
	for _, t := range Tables {
		for _, ext := range knownExts {
			if ext == "."+string(format) {
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, t+ext)); err == nil {
				return Stats{}, fmt.Errorf("synth: %s already holds %s%s; remove it or write elsewhere (the loader refuses a table given twice)", dir, t, ext)
			}
		}
	}
	g := newGen(spec)
	st := Stats{Dir: dir, Format: format}
	write := func(table string, fn func(path string) (int64, error)) error {
		name := table + "." + string(format)
		path := filepath.Join(dir, name)
		tmp := path + ".tmp"
		rows, err := fn(tmp)
		if err != nil {
			os.Remove(tmp)
			return fmt.Errorf("synth: write %s: %w", name, err)
		}
		fi, err := os.Stat(tmp)
		if err == nil {
			err = os.Rename(tmp, path)
		}
		if err != nil {
			os.Remove(tmp)
			return fmt.Errorf("synth: %w", err)
		}
		st.Files = append(st.Files, FileStats{Name: name, Rows: rows, Bytes: fi.Size()})
		st.Bytes += fi.Size()
		return nil
	}
	small := map[string]table{"sources": g.sourcesTable(), "units": g.unitsTable(), "indicators": g.indicatorsTable()}
	for _, t := range Tables[:3] {
		tb := small[t]
		err := write(t, func(path string) (int64, error) {
			if format == CSV {
				return int64(len(tb.rows)), writeTableCSV(path, tb)
			}
			return int64(len(tb.rows)), writeTableParquet(path, tb)
		})
		if err != nil {
			return st, err
		}
	}
	var obs obsCounts
	err := write("observations", func(path string) (int64, error) {
		var w obsWriter
		var err error
		if format == CSV {
			w, err = newObsCSV(path)
		} else {
			w, err = newObsParquet(path)
		}
		if err != nil {
			return 0, err
		}
		obs, err = g.observations(ctx, w)
		if cerr := w.close(); err == nil {
			err = cerr
		}
		return obs.rows, err
	})
	if err != nil {
		return st, err
	}
	st.Counts = Counts{Sources: int64(len(small["sources"].rows)), Units: int64(len(small["units"].rows)),
		Indicators: int64(len(small["indicators"].rows)), Observations: obs.rows, Targets: obs.targets}
	if want := spec.Counts(); st.Counts != want {
		return st, fmt.Errorf("synth: internal error: wrote %+v, expected %+v", st.Counts, want)
	}
	st.Elapsed = time.Since(start)
	return st, nil
}

// errCanceled is the context's error, if it is done.
func errCanceled(ctx context.Context) error { return ctx.Err() }
