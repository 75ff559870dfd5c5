package loader

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// Format is a table file's format.
type Format string

const (
	FormatCSV     Format = "csv"
	FormatParquet Format = "parquet"
	FormatArrow   Format = "arrow"
)

// extensions maps file extensions to formats, in lookup order.
var extensions = []struct {
	ext    string
	format Format
}{
	{".csv", FormatCSV},
	{".parquet", FormatParquet},
	{".arrow", FormatArrow},
	{".arrows", FormatArrow},
	{".ipc", FormatArrow},
	{".feather", FormatArrow},
}

// rowReader yields a table's records as text. line is the 1-based line of
// the record in a CSV file, or the 1-based row number in a columnar file;
// vals is nil at the end.
type rowReader interface {
	header() []string
	next() (line int64, vals []string, err error)
	close() error
}

// csvReader reads CSV with encoding/csv, which knows each field's line and
// column for error messages.
type csvReader struct {
	f    io.Closer
	r    *csv.Reader
	cols []string
}

func newCSVReader(f io.ReadCloser) (*csvReader, error) {
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1 // checked per record, so one bad row does not hide the rest
	r.ReuseRecord = true
	head, err := r.Read()
	if err == io.EOF {
		return nil, &Error{Line: 1, Msg: "empty file: expected a header row with column names"}
	}
	if err != nil {
		return nil, csvError(err)
	}
	cols := make([]string, len(head))
	for i, h := range head {
		if !utf8.ValidString(h) {
			return nil, &Error{Line: 1, Column: i + 1, Msg: "header is not valid UTF-8: expected the file to be saved as UTF-8"}
		}
		cols[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
	}
	return &csvReader{f: f, r: r, cols: cols}, nil
}

func (c *csvReader) header() []string { return c.cols }

func (c *csvReader) next() (int64, []string, error) {
	rec, err := c.r.Read()
	if err == io.EOF {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, csvError(err)
	}
	line, _ := c.r.FieldPos(0)
	for i, f := range rec {
		if !utf8.ValidString(f) {
			l, _ := c.r.FieldPos(i)
			name := ""
			if i < len(c.cols) {
				name = c.cols[i]
			}
			return int64(l), nil, &rowError{e: &Error{Line: int64(l), Column: i + 1, ColumnName: name, Msg: "text is not valid UTF-8: expected the file to be saved as UTF-8"}}
		}
	}
	if len(rec) != len(c.cols) {
		return int64(line), nil, &rowError{e: &Error{Line: int64(line), Msg: fmt.Sprintf("wrong number of fields: %d, expected %d as in the header", len(rec), len(c.cols))}}
	}
	return int64(line), rec, nil
}

// rowError is a problem confined to one record: it is reported and the
// record skipped, and reading goes on.
type rowError struct{ e *Error }

func (r *rowError) Error() string { return r.e.Error() }

func (c *csvReader) close() error { return c.f.Close() }

// csvError turns an encoding/csv error into a positioned Error.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		msg := pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			msg = "wrong number of fields: expected as many as the header has"
		} else if errors.Is(pe.Err, csv.ErrQuote) && pe.StartLine > 0 && pe.StartLine < pe.Line {
			// A quote left open swallows the lines after it: say where
			// it opened, not where the reader gave up.
			return &Error{Line: int64(pe.StartLine), Msg: fmt.Sprintf("a field on this line opens a quote that is not closed where it should be (read on to line %d): expected a field quoted as \"...\" with inner quotes doubled", pe.Line)}
		} else if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
			msg = msg + ": expected a field quoted as \"...\" with inner quotes doubled"
		}
		return &Error{Line: int64(pe.Line), Column: pe.Column, Msg: msg}
	}
	return err
}

// arrowReader reads an Arrow IPC file (or stream) with arrow-go,
// rendering every value as text for the shared validation.
type arrowReader struct {
	f   io.Closer
	rdr interface {
		next() (arrow.RecordBatch, error)
	}
	cols  []string
	rec   arrow.RecordBatch
	i     int
	row   int64
	vals  []string
	relFn func()
}

type ipcFile struct {
	r *ipc.FileReader
	i int
}

func (x *ipcFile) next() (arrow.RecordBatch, error) {
	if x.i >= x.r.NumRecords() {
		return nil, nil
	}
	rec, err := x.r.RecordBatch(x.i)
	x.i++
	return rec, err
}

type ipcStream struct{ r *ipc.Reader }

func (x *ipcStream) next() (arrow.RecordBatch, error) {
	if !x.r.Next() {
		return nil, x.r.Err()
	}
	return x.r.RecordBatch(), nil
}

func newArrowReader(f fs.File) (*arrowReader, error) {
	ar := &arrowReader{f: f}
	var schema *arrow.Schema
	if ra, ok := f.(ipc.ReadAtSeeker); ok {
		if fr, err := ipc.NewFileReader(ra); err == nil {
			ar.rdr, schema, ar.relFn = &ipcFile{r: fr}, fr.Schema(), func() { fr.Close() }
		} else if _, err := ra.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
	}
	if ar.rdr == nil {
		sr, err := ipc.NewReader(f)
		if err != nil {
			return nil, &Error{Line: 1, Msg: fmt.Sprintf("not an Arrow IPC file or stream: %v", err)}
		}
		ar.rdr, schema, ar.relFn = &ipcStream{r: sr}, sr.Schema(), sr.Release
	}
	for _, fld := range schema.Fields() {
		ar.cols = append(ar.cols, fld.Name)
	}
	ar.vals = make([]string, len(ar.cols))
	return ar, nil
}

func (a *arrowReader) header() []string { return a.cols }

func (a *arrowReader) next() (int64, []string, error) {
	for a.rec == nil || a.i >= int(a.rec.NumRows()) {
		rec, err := a.rdr.next()
		if err != nil {
			return 0, nil, &Error{Line: a.row + 1, Msg: fmt.Sprintf("reading Arrow record batch: %v", err)}
		}
		if rec == nil {
			return 0, nil, nil
		}
		a.rec, a.i = rec, 0
	}
	for c := range a.cols {
		col := a.rec.Column(c)
		if col.IsNull(a.i) {
			a.vals[c] = ""
			continue
		}
		switch arr := col.(type) {
		case *array.String:
			a.vals[c] = arr.Value(a.i)
		case *array.LargeString:
			a.vals[c] = arr.Value(a.i)
		default:
			a.vals[c] = arr.ValueStr(a.i)
		}
	}
	a.i++
	a.row++
	for c, v := range a.vals {
		if !utf8.ValidString(v) {
			return a.row, nil, &rowError{e: &Error{Line: a.row, Column: c + 1, ColumnName: a.cols[c], Msg: "text is not valid UTF-8"}}
		}
	}
	return a.row, a.vals, nil
}

func (a *arrowReader) close() error {
	if a.relFn != nil {
		a.relFn()
	}
	return a.f.Close()
}

// sliceReader serves rows already in memory (a small Parquet table read
// through DuckDB).
type sliceReader struct {
	cols []string
	rows [][]string
	i    int
}

func (s *sliceReader) header() []string { return s.cols }

func (s *sliceReader) next() (int64, []string, error) {
	if s.i >= len(s.rows) {
		return 0, nil, nil
	}
	s.i++
	return int64(s.i), s.rows[s.i-1], nil
}

func (s *sliceReader) close() error { return nil }
