// Package export writes a flat, typed table in the formats analysts use:
// CSV (RFC 4180), JSON (an array of flat objects, or NDJSON), Parquet and
// Arrow IPC (arrow-go), xlsx (excelize) and SDMX-CSV. A table is a list
// of typed columns and rows written one at a time, so a writer holds at
// most one batch of rows however long the table is.
//
// A writer's Close finishes the file (CSV's last line, JSON's closing
// bracket, Parquet's and Arrow's footers, the xlsx archive). A table
// whose rows stop on an error is never closed: its file stays without
// that end, which Parquet and Arrow readers refuse and which the HTTP
// layer makes visible for the other formats by aborting the response.
package export

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// Type is a column's type.
type Type int

// Column types. A cell's Go value is nil (null) or, by type: string,
// int64, float64, bool, time.Time (Date: a calendar day in UTC; Time: an
// instant).
const (
	String Type = iota
	Int
	Float
	Bool
	Date
	Time
)

func (t Type) String() string {
	return [...]string{"string", "int", "float", "bool", "date", "time"}[t]
}

// Column is a named, typed column.
type Column struct {
	Name string
	Type Type
}

// Writer writes a table's rows; Close ends the file. Write must not
// keep row after it returns.
type Writer interface {
	Write(row []any) error
	Close() error
}

// Options tune a format.
type Options struct {
	BOM bool // CSV: start with a UTF-8 byte order mark (for Excel)
	// Dataflow names the table in SDMX-CSV (its DATAFLOW column).
	Dataflow string
	// Sheet is the xlsx sheet's name.
	Sheet string
}

// Format is one output format.
type Format struct {
	Name        string
	ContentType string
	Ext         string // file name extension, without the dot
	// MaxRows is the most rows the format holds (0: no limit).
	MaxRows int
	New     func(w io.Writer, cols []Column, opt Options) (Writer, error)
}

// Formats are the formats by name (the export endpoint's format
// parameter).
var Formats = map[string]Format{
	"csv":      {Name: "csv", ContentType: "text/csv; charset=utf-8; header=present", Ext: "csv", New: newCSV},
	"json":     {Name: "json", ContentType: "application/json", Ext: "json", New: newJSON(false)},
	"ndjson":   {Name: "ndjson", ContentType: "application/x-ndjson", Ext: "ndjson", New: newJSON(true)},
	"parquet":  {Name: "parquet", ContentType: "application/vnd.apache.parquet", Ext: "parquet", New: newParquet},
	"arrow":    {Name: "arrow", ContentType: "application/vnd.apache.arrow.file", Ext: "arrow", New: newArrow},
	"xlsx":     {Name: "xlsx", ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Ext: "xlsx", MaxRows: xlsxMaxRows, New: newXLSX},
	"sdmx-csv": {Name: "sdmx-csv", ContentType: "application/vnd.sdmx.data+csv; version=1.0.0; charset=utf-8", Ext: "csv", New: newSDMX},
}

// FormatNames lists the formats, for error messages.
const FormatNames = "csv, json, ndjson, parquet, arrow, xlsx, sdmx-csv"

// Text renders a cell as text: numbers in the shortest form that reads
// back exactly, dates as YYYY-MM-DD, instants in RFC 3339, null as "".
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 && x.Location() == time.UTC {
			return x.Format(time.DateOnly)
		}
		return x.Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

type csvWriter struct {
	bw  *bufio.Writer
	w   *csv.Writer
	rec []string
}

func newCSV(w io.Writer, cols []Column, opt Options) (Writer, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	if opt.BOM {
		bw.WriteString("\uFEFF")
	}
	c := &csvWriter{bw: bw, w: csv.NewWriter(bw), rec: make([]string, len(cols))}
	c.w.UseCRLF = true // RFC 4180
	for i, col := range cols {
		c.rec[i] = col.Name
	}
	return c, c.w.Write(c.rec)
}

func (c *csvWriter) Write(row []any) error {
	for i, v := range row {
		c.rec[i] = Text(v)
	}
	return c.w.Write(c.rec)
}

func (c *csvWriter) Close() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return c.bw.Flush()
}

type jsonWriter struct {
	bw    *bufio.Writer
	keys  [][]byte
	lines bool
	n     int
	buf   []byte
}

func newJSON(lines bool) func(io.Writer, []Column, Options) (Writer, error) {
	return func(w io.Writer, cols []Column, _ Options) (Writer, error) {
		j := &jsonWriter{bw: bufio.NewWriterSize(w, 64<<10), lines: lines}
		for i, c := range cols {
			k, _ := json.Marshal(c.Name)
			sep := ","
			if i == 0 {
				sep = "{"
			}
			j.keys = append(j.keys, append([]byte(sep), append(k, ':')...))
		}
		if !lines {
			j.bw.WriteByte('[')
		}
		return j, nil
	}
}

func (j *jsonWriter) Write(row []any) error {
	b := j.buf[:0]
	if j.n > 0 && !j.lines {
		b = append(b, ",\n"...)
	}
	j.n++
	if len(row) == 0 {
		b = append(b, '{')
	}
	for i, v := range row {
		b = append(b, j.keys[i]...)
		b = appendJSON(b, v)
	}
	b = append(b, '}')
	if j.lines {
		b = append(b, '\n')
	}
	j.buf = b
	_, err := j.bw.Write(b)
	return err
}

func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case bool:
		return strconv.AppendBool(b, x)
	}
	s, _ := json.Marshal(Text(v))
	return append(b, s...)
}

func (j *jsonWriter) Close() error {
	if !j.lines {
		j.bw.WriteString("]\n")
	}
	return j.bw.Flush()
}
