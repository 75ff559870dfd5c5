package export

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"chiso/indicator"
)

// ErrColumns is the error of a table a format cannot write.
var ErrColumns = errors.New("columns")

// sdmxRoles are the SDMX-CSV roles of the observations table's columns,
// by the names a query gives them (the observation's own fields or its
// unit's and indicator's codes).
var sdmxRoles = []struct {
	concept string
	names   []string
}{
	{"REF_AREA", []string{"unit.code", "unitCode"}},
	{"INDICATOR", []string{"indicator.code", "indicatorCode"}},
	{"OBS_KIND", []string{"kind"}},
	{"TIME_PERIOD", []string{"periodLabel", "period.label"}},
	{"OBS_VALUE", []string{"value"}},
}

type sdmxWriter struct {
	csv      Writer
	dataflow string
	order    []int // for each output column after DATAFLOW, the input column
	time     int   // the output index of TIME_PERIOD
	out      []any
}

// newSDMX writes SDMX-CSV 1.0 of the observations table: DATAFLOW, the
// dimensions REF_AREA, INDICATOR, OBS_KIND (when selected) and
// TIME_PERIOD, the measure OBS_VALUE, then every other selected column
// as an attribute (upper case, dots as underscores). TIME_PERIOD is in
// SDMX's ISO 8601 forms: 2020, 2024-06, 2024-Q3, 2024-S1, 2024-05-27, and
// a plan period or school year as a time range (2016-01-01/P5Y,
// 2023-09-01/P1Y).
func newSDMX(w io.Writer, cols []Column, opt Options) (Writer, error) {
	byName := map[string]int{}
	for i, c := range cols {
		byName[c.Name] = i
	}
	used := map[int]bool{}
	s := &sdmxWriter{dataflow: opt.Dataflow, time: -1}
	head := []Column{{Name: "DATAFLOW"}}
	for _, r := range sdmxRoles {
		at := -1
		for _, n := range r.names {
			if i, ok := byName[n]; ok {
				at = i
				break
			}
		}
		if at < 0 {
			if r.concept == "OBS_KIND" {
				continue
			}
			return nil, fmt.Errorf("%w: SDMX-CSV needs %s: select one of %s", ErrColumns, r.concept, strings.Join(r.names, ", "))
		}
		used[at] = true
		if r.concept == "TIME_PERIOD" {
			s.time = len(s.order)
		}
		s.order = append(s.order, at)
		head = append(head, Column{Name: r.concept, Type: cols[at].Type})
	}
	for i, c := range cols {
		if !used[i] {
			s.order = append(s.order, i)
			head = append(head, Column{Name: strings.ToUpper(strings.ReplaceAll(c.Name, ".", "_")), Type: c.Type})
		}
	}
	var err error
	if s.csv, err = newCSV(w, head, opt); err != nil {
		return nil, err
	}
	s.out = make([]any, len(head))
	return s, nil
}

func (s *sdmxWriter) Write(row []any) error {
	s.out[0] = s.dataflow
	for j, i := range s.order {
		s.out[j+1] = row[i]
	}
	if l, ok := s.out[s.time+1].(string); ok {
		s.out[s.time+1] = SDMXPeriod(l)
	}
	return s.csv.Write(s.out)
}

func (s *sdmxWriter) Close() error { return s.csv.Close() }

// SDMXPeriod writes a period label in SDMX's time format; a label that
// does not parse is kept as it is.
func SDMXPeriod(label string) string {
	p, err := indicator.ParsePeriod(label)
	if err != nil {
		return label
	}
	switch p.Kind {
	case indicator.PeriodQuarter:
		return label[:4] + "-Q" + label[5:]
	case indicator.PeriodHalf:
		return label[:4] + "-S" + label[5:]
	case indicator.PeriodRange, indicator.PeriodSchoolYear:
		years := p.End.Year() - p.Start.Year()
		if p.Kind == indicator.PeriodRange {
			years++
		}
		return p.Start.Format("2006-01-02") + "/P" + strconv.Itoa(years) + "Y"
	}
	return label
}
