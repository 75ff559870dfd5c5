package export

import (
	"io"
	"time"

	"github.com/xuri/excelize/v2"
)

// xlsxMaxRows is a worksheet's row limit less the header row.
const xlsxMaxRows = 1<<20 - 1

type xlsxWriter struct {
	w         io.Writer
	f         *excelize.File
	sw        *excelize.StreamWriter
	cols      []Column
	row       int
	dateStyle int
	timeStyle int
	cells     []any
	dateCell  []excelize.Cell
}

// newXLSX writes one worksheet with a bold header row; numbers are
// numeric cells, dates are date cells formatted yyyy-mm-dd. excelize's
// stream writer keeps rows beyond its buffer in a temporary file; the
// archive is written by Close.
func newXLSX(w io.Writer, cols []Column, opt Options) (Writer, error) {
	f := excelize.NewFile()
	sheet := opt.Sheet
	if sheet == "" {
		sheet = "data"
	}
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return nil, err
	}
	dateFmt, timeFmt := "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"
	x := &xlsxWriter{w: w, f: f, sw: sw, cols: cols, row: 1}
	if x.dateStyle, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt}); err != nil {
		return nil, err
	}
	if x.timeStyle, err = f.NewStyle(&excelize.Style{CustomNumFmt: &timeFmt}); err != nil {
		return nil, err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, err
	}
	head := make([]any, len(cols))
	for i, c := range cols {
		head[i] = excelize.Cell{StyleID: bold, Value: c.Name}
	}
	if err := sw.SetRow("A1", head); err != nil {
		return nil, err
	}
	x.cells = make([]any, len(cols))
	x.dateCell = make([]excelize.Cell, len(cols))
	return x, nil
}

func (x *xlsxWriter) Write(row []any) error {
	x.row++
	for i, v := range row {
		t, ok := v.(time.Time)
		if !ok {
			x.cells[i] = v
			continue
		}
		style := x.timeStyle
		if x.cols[i].Type == Date {
			style = x.dateStyle
		}
		x.dateCell[i] = excelize.Cell{StyleID: style, Value: t}
		x.cells[i] = x.dateCell[i]
	}
	cell, err := excelize.CoordinatesToCellName(1, x.row)
	if err != nil {
		return err
	}
	return x.sw.SetRow(cell, x.cells)
}

func (x *xlsxWriter) Close() error {
	defer x.f.Close()
	if err := x.sw.Flush(); err != nil {
		return err
	}
	return x.f.Write(x.w)
}
