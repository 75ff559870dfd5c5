package synth

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
)

// writeTableCSV writes a small table with encoding/csv.
func writeTableCSV(path string, t table) error {
	f, err := createBuffered(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write(t.cols)
	w.WriteAll(t.rows) // flushes
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// obsCSV streams observations as CSV lines, quoting fields the way
// encoding/csv does.
type obsCSV struct {
	f   *bufFile
	buf []byte
}

func newObsCSV(path string) (*obsCSV, error) {
	f, err := createBuffered(path)
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteString("unit,indicator,period,kind,value,denominator,qualifier,flags,methodology,source,line,raw,note\n"); err != nil {
		f.Close()
		return nil, err
	}
	return &obsCSV{f: f, buf: make([]byte, 0, 256)}, nil
}

func (w *obsCSV) write(r *obsRow) error {
	b := w.buf[:0]
	b = appendField(b, r.unit)
	b = append(b, ',')
	b = appendField(b, r.indicator)
	b = append(b, ',')
	b = appendField(b, r.period)
	b = append(b, ',')
	b = appendField(b, r.kind)
	b = append(b, ',')
	b = strconv.AppendFloat(b, r.value, 'f', -1, 64)
	b = append(b, ",,,,,"...) // denominator, qualifier, flags, methodology
	b = appendField(b, r.source)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(r.line), 10)
	b = append(b, ',')
	if needsQuotes(r.raw) {
		b = append(b, '"')
		for _, c := range r.raw {
			if c == '"' {
				b = append(b, '"')
			}
			b = append(b, c)
		}
		b = append(b, '"')
	} else {
		b = append(b, r.raw...)
	}
	b = append(b, ",\n"...) // note
	w.buf = b
	_, err := w.f.Write(b)
	return err
}

func (w *obsCSV) close() error { return w.f.Close() }

// appendField appends a text field, quoted if need be.
func appendField(b []byte, s string) []byte {
	if !needsQuotes([]byte(s)) {
		return append(b, s...)
	}
	return append(append(append(b, '"'), strings.ReplaceAll(s, `"`, `""`)...), '"')
}

// needsQuotes is encoding/csv's rule for a comma delimiter.
func needsQuotes(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	if bytes.Equal(s, []byte(`\.`)) || s[0] == ' ' || s[0] == '\t' {
		return true
	}
	return bytes.ContainsAny(s, ",\"\r\n")
}
