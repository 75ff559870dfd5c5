// Package loader reads dataset folders (tables as CSV, Parquet or Arrow
// IPC), validates them completely, and loads them into the store as one
// new snapshot. A dataset with any problem is refused as a whole, with
// every problem (up to a cap) named by file, line or row, and column; the
// data being served is never touched by a failed load.
package loader

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"chiso/indicator"
	"chiso/store"
)

// Tables are the tables of a dataset folder, in load order.
var Tables = []string{"sources", "units", "indicators", "observations"}

// OptionalTables may be given in a folder or not.
var OptionalTables = []string{"unit_changes"}

// Dir is a dataset folder.
type Dir struct {
	Name   string // shown in messages: the folder path, or embedded:NAME
	FS     fs.FS
	OSPath string // the folder on disk, if it is one (Parquet is read from disk)
}

// OSDir returns the dataset folder at path.
func OSDir(p string) Dir { return Dir{Name: p, FS: os.DirFS(p), OSPath: p} }

// Options tunes a loader.
type Options struct {
	MaxErrors int // problems reported before giving up; default 100
	Logger    *slog.Logger
	// Guard refuses a reload that empties a table or drops more than
	// MaxDrop (a share, 0 to 1) of a table's rows, unless forced
	// (LoadOptions.Force): a header-only or truncated file is far more
	// often a mistake than the intended new dataset. See guard.go.
	Guard   bool
	MaxDrop float64
}

// LoadOptions tune one load.
type LoadOptions struct {
	Force bool // swap in even what the reload guard would refuse
}

// Loader loads dataset folders into a store.
type Loader struct {
	st   *store.Store
	opts Options
	log  *slog.Logger
}

// New returns a loader for st.
func New(st *store.Store, opts Options) *Loader {
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = 100
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Loader{st: st, opts: opts, log: opts.Logger}
}

// tableFile is one table file found in a folder.
type tableFile struct {
	dir    Dir
	name   string // file name within the folder
	format Format
}

func (t tableFile) display() string { return path.Join(filepath.ToSlash(t.dir.Name), t.name) }

// Load validates the union of dirs and, if it is sound, swaps it in as the
// served dataset. On any problem it returns a *LoadError (an
// indicator.ErrInvalid) and the served data stays as it was.
func (l *Loader) Load(ctx context.Context, dirs ...Dir) (indicator.DatasetInfo, error) {
	return l.LoadWith(ctx, LoadOptions{}, dirs...)
}

// LoadWith is Load with options.
func (l *Loader) LoadWith(ctx context.Context, o LoadOptions, dirs ...Dir) (indicator.DatasetInfo, error) {
	start := time.Now()
	if len(dirs) == 0 {
		return indicator.DatasetInfo{}, fmt.Errorf("loader: no dataset folder given: %w", indicator.ErrInvalid)
	}
	p := &problems{cap: l.opts.MaxErrors}
	files := map[string][]tableFile{}
	for _, d := range dirs {
		for _, t := range Tables {
			f, err := findTable(d, t)
			if err != nil {
				p.add(err)
				continue
			}
			files[t] = append(files[t], f)
		}
		for _, t := range OptionalTables {
			if !hasTable(d, t) {
				continue
			}
			f, err := findTable(d, t)
			if err != nil {
				p.add(err)
				continue
			}
			files[t] = append(files[t], f)
		}
	}
	if err := p.err(); err != nil {
		return indicator.DatasetInfo{}, err
	}
	b, err := l.st.NewBuild(ctx)
	if err != nil {
		return indicator.DatasetInfo{}, err
	}
	defer b.Close()
	h := sha256.New()
	ld := &load{l: l, b: b, p: p, h: h}
	phase := time.Now()
	mark := func(name string) {
		l.log.Debug("load phase", "phase", name, "elapsed", time.Since(phase).Round(time.Millisecond))
		phase = time.Now()
	}

	srcs := ld.sources(ctx, files["sources"])
	units := ld.units(ctx, files["units"], srcs)
	inds := ld.indicators(ctx, files["indicators"])
	changes := ld.unitChanges(ctx, files["unit_changes"], units, srcs)
	if ld.fatal != nil {
		return indicator.DatasetInfo{}, ld.fatal
	}
	if err := p.err(); err != nil {
		return indicator.DatasetInfo{}, err
	}
	if err := b.PutDimensions(ctx, units, inds, srcs); err != nil {
		return indicator.DatasetInfo{}, err
	}
	if err := b.PutUnitChanges(ctx, changes); err != nil {
		return indicator.DatasetInfo{}, err
	}
	mark("dimensions")
	obsFiles := ld.observations(ctx, files["observations"])
	mark("stage observations")
	if ld.fatal != nil {
		return indicator.DatasetInfo{}, ld.fatal
	}
	// Validate what was staged even if some records were malformed, so one
	// run reports every class of problem.
	findings, err := b.Validate(ctx, p.cap-len(p.errs)+1)
	if err != nil {
		return indicator.DatasetInfo{}, err
	}
	mark("validate")
	ld.report(findings, obsFiles)
	// The finishing sort also reveals duplicates; run it unless the cap is
	// already reached, so one load reports every class of problem.
	if !p.full() {
		dups, err := b.Finish(ctx, p.cap-len(p.errs)+1)
		if err != nil && p.err() == nil {
			return indicator.DatasetInfo{}, err
		}
		mark("finish")
		ld.report(dups, obsFiles)
	}
	if err := p.err(); err != nil {
		sortErrors(p.errs)
		return indicator.DatasetInfo{}, err
	}
	info := indicator.DatasetInfo{Version: hex.EncodeToString(h.Sum(nil)), LoadedAt: time.Now().UTC()}
	for _, d := range dirs {
		info.Origins = append(info.Origins, d.Name)
	}
	if err := l.guard(ctx, o, b, len(srcs), len(units), len(inds)); err != nil {
		return indicator.DatasetInfo{}, err
	}
	if err := l.st.Swap(ctx, b, info); err != nil {
		return indicator.DatasetInfo{}, err
	}
	info, err = l.st.Dataset(ctx)
	if err != nil {
		return info, err
	}
	l.log.Info("dataset loaded", "origins", info.Origins, "version", info.Version[:12], "observations", info.Observations,
		"elapsed", time.Since(start).Round(time.Millisecond))
	return info, nil
}

// sortErrors orders problems by file, then line, keeping the order of
// problems on one line.
func sortErrors(errs []*Error) {
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].File != errs[j].File {
			return false // files stay in load order
		}
		return errs[i].Line < errs[j].Line
	})
}

// report turns the store's findings about staged observations into
// positioned errors.
func (ld *load) report(findings []store.Finding, obsFiles []obsFile) {
	for _, f := range findings {
		of := obsFiles[f.File]
		e := &Error{File: of.file.display(), Columnar: of.file.format != FormatCSV, Line: f.Line, ColumnName: f.Column,
			Column: of.colIndex[f.Column], Msg: f.Problem}
		if d := f.Duplicate; d != nil {
			first := obsFiles[d.File].file
			where := "line"
			if first.format != FormatCSV {
				where = "row"
			}
			e.ColumnName, e.Column = "", 0
			e.Msg = fmt.Sprintf("duplicate observation (same unit, indicator, period, kind, qualifier, basis, source, line, figure and flags) of %s %s %d", first.display(), where, d.Line)
		} else if f.Value != "" {
			e.Msg = fmt.Sprintf("%s, got %q", f.Problem, f.Value)
		}
		ld.p.add(e)
	}
}

// hasTable reports whether a folder holds a file of table in any format.
func hasTable(d Dir, table string) bool {
	for _, e := range extensions {
		if st, err := fs.Stat(d.FS, table+e.ext); err == nil && !st.IsDir() {
			return true
		}
	}
	return false
}

func findTable(d Dir, table string) (tableFile, *Error) {
	var found []tableFile
	for _, e := range extensions {
		name := table + e.ext
		if st, err := fs.Stat(d.FS, name); err == nil && !st.IsDir() {
			found = append(found, tableFile{dir: d, name: name, format: e.format})
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		var want []string
		for _, e := range extensions {
			want = append(want, table+e.ext)
		}
		return tableFile{}, &Error{File: d.Name, Msg: fmt.Sprintf("missing table %q: expected one of %s", table, strings.Join(want, ", "))}
	}
	var names []string
	for _, f := range found {
		names = append(names, f.name)
	}
	return tableFile{}, &Error{File: d.Name, Msg: fmt.Sprintf("table %q is given more than once (%s): expected exactly one file", table, strings.Join(names, ", "))}
}

// load is the state of one Load call.
type load struct {
	l     *Loader
	b     *store.Build
	p     *problems
	h     hash.Hash
	fatal error // an I/O or engine failure (not a data problem)
}

// open returns a row reader for a table file, hashing its bytes into the
// dataset version.
func (ld *load) open(ctx context.Context, tf tableFile) (rowReader, error) {
	if tf.format == FormatParquet {
		path, cleanup, err := ld.localPath(tf)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		cols, rows, err := ld.b.ParquetTable(ctx, path)
		if err != nil {
			return nil, &Error{Msg: fmt.Sprintf("not a readable Parquet file: %v", err)}
		}
		return &sliceReader{cols: cols, rows: rows}, nil
	}
	fmt.Fprintf(ld.h, "%s\x00", tf.name)
	switch tf.format {
	case FormatCSV:
		f, err := tf.dir.FS.Open(tf.name)
		if err != nil {
			return nil, err
		}
		return newCSVReader(readCloser{io.TeeReader(f, ld.h), f})
	case FormatArrow:
		if err := hashFile(ld.h, tf); err != nil {
			return nil, err
		}
		f, err := tf.dir.FS.Open(tf.name)
		if err != nil {
			return nil, err
		}
		return newArrowReader(f)
	}
	return nil, fmt.Errorf("unknown format %q", tf.format)
}

type readCloser struct {
	io.Reader
	io.Closer
}

func hashFile(h hash.Hash, tf tableFile) error {
	f, err := tf.dir.FS.Open(tf.name)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(h, f)
	return err
}

// localPath returns a path on disk for a table file that DuckDB reads
// itself (Parquet), hashing its name and bytes into the dataset version on
// the way: a file on disk is read once for the hash; an embedded one is
// hashed while it is copied out, not read twice.
func (ld *load) localPath(tf tableFile) (string, func(), error) {
	fmt.Fprintf(ld.h, "%s\x00", tf.name)
	if tf.dir.OSPath != "" {
		if err := hashFile(ld.h, tf); err != nil {
			return "", nil, err
		}
		return filepath.Join(tf.dir.OSPath, tf.name), func() {}, nil
	}
	src, err := tf.dir.FS.Open(tf.name)
	if err != nil {
		return "", nil, err
	}
	defer src.Close()
	tmp, err := os.CreateTemp("", "chiso-*-"+tf.name)
	if err != nil {
		return "", nil, err
	}
	if _, err := io.Copy(tmp, io.TeeReader(src, ld.h)); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", nil, err
	}
	tmp.Close()
	return tmp.Name(), func() { os.Remove(tmp.Name()) }, nil
}

// positioned fills in the file of an error from a reader, or records a
// non-data failure as fatal.
func (ld *load) fail(tf tableFile, err error) {
	var e *Error
	if errors.As(err, &e) {
		e.File = tf.display()
		e.Columnar = tf.format != FormatCSV
		ld.p.add(e)
		return
	}
	if ld.fatal == nil {
		ld.fatal = fmt.Errorf("loader: %s: %w", tf.display(), err)
	}
}

// record is one row of a small table being validated.
type record struct {
	tf   tableFile
	line int64
	cols map[string]int
	vals []string
}

func (r record) get(col string) string {
	if i, ok := r.cols[col]; ok && i < len(r.vals) {
		return strings.TrimSpace(r.vals[i])
	}
	return ""
}

func (r record) errf(col, format string, a ...any) *Error {
	e := &Error{File: r.tf.display(), Columnar: r.tf.format != FormatCSV, Line: r.line, ColumnName: col, Msg: fmt.Sprintf(format, a...)}
	if i, ok := r.cols[col]; ok {
		e.Column = i + 1
	}
	return e
}

func (r record) where() string {
	if r.tf.format == FormatCSV {
		return fmt.Sprintf("%s:%d", r.tf.display(), r.line)
	}
	return fmt.Sprintf("%s row %d", r.tf.display(), r.line)
}

// eachRecord opens a small table, checks its required columns and calls fn
// for every record.
func (ld *load) eachRecord(ctx context.Context, tf tableFile, required []string, fn func(record)) {
	rr, err := ld.open(ctx, tf)
	if err != nil {
		ld.fail(tf, err)
		return
	}
	defer rr.close()
	cols := map[string]int{}
	for i, c := range rr.header() {
		if _, dup := cols[c]; dup {
			ld.fail(tf, &Error{Line: 1, Column: i + 1, ColumnName: c, Msg: "column named twice in the header"})
			return
		}
		cols[c] = i
	}
	missing := false
	for _, c := range required {
		if _, ok := cols[c]; !ok {
			ld.fail(tf, &Error{Line: 1, Msg: fmt.Sprintf("missing required column %q (the header has: %s)", c, strings.Join(rr.header(), ", "))})
			missing = true
		}
	}
	if missing {
		return
	}
	for !ld.p.full() {
		line, vals, err := ld.nextRow(tf, rr)
		if err != nil {
			ld.fail(tf, err)
			return
		}
		if vals == nil {
			return
		}
		fn(record{tf: tf, line: line, cols: cols, vals: vals})
	}
}

// nextRow returns the next well-formed record, reporting and skipping
// records that are malformed on their own (a wrong field count).
func (ld *load) nextRow(tf tableFile, rr rowReader) (int64, []string, error) {
	for {
		line, vals, err := rr.next()
		var re *rowError
		if errors.As(err, &re) {
			ld.fail(tf, re.e)
			if ld.p.full() {
				return 0, nil, nil
			}
			continue
		}
		return line, vals, err
	}
}
