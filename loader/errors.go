package loader

import (
	"fmt"
	"strings"

	"chiso/indicator"
)

// Error is one problem in a dataset file, positioned as precisely as the
// format allows: line and column for CSV, row and column for columnar
// files.
type Error struct {
	File       string // path as given (folder joined with file name)
	Columnar   bool   // Line is a row number, not a text line
	Line       int64  // 1-based; 0 if the problem is the whole file
	Column     int    // 1-based field position; 0 if unknown
	ColumnName string
	Msg        string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	switch {
	case e.Line > 0 && e.Columnar:
		fmt.Fprintf(&b, ": row %d", e.Line)
	case e.Line > 0:
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.ColumnName != "" {
		if e.Columnar && e.Column > 0 {
			fmt.Fprintf(&b, "column %d %q: ", e.Column, e.ColumnName)
		} else {
			fmt.Fprintf(&b, "column %q: ", e.ColumnName)
		}
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap makes every positioned error an ErrInvalid.
func (e *Error) Unwrap() error { return indicator.ErrInvalid }

// LoadError collects every problem found in a load, up to the cap.
type LoadError struct {
	Errors    []*Error
	Truncated bool // more problems exist than were reported
}

func (e *LoadError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dataset rejected: %d problem", len(e.Errors))
	if len(e.Errors) != 1 {
		b.WriteString("s")
	}
	if e.Truncated {
		b.WriteString(" (stopped at the cap; more remain)")
	}
	for _, x := range e.Errors {
		b.WriteString("\n  ")
		b.WriteString(x.Error())
	}
	return b.String()
}

// Unwrap makes a LoadError an ErrInvalid.
func (e *LoadError) Unwrap() error { return indicator.ErrInvalid }

// problems accumulates positioned errors up to a cap.
type problems struct {
	cap  int
	errs []*Error
	more bool
}

func (p *problems) add(e *Error) {
	if len(p.errs) >= p.cap {
		p.more = true
		return
	}
	p.errs = append(p.errs, e)
}

// full reports that one more problem than the cap was seen: reading stops
// there, and the report says more remain.
func (p *problems) full() bool { return p.more }

func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return &LoadError{Errors: p.errs, Truncated: p.more}
}
