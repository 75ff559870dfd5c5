package synth

import (
	"bufio"
	"os"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// batchRows is the number of observations per Arrow record and Parquet
// row group.
const batchRows = 1 << 16

// bufFile is a buffered file that flushes on Close.
type bufFile struct {
	*bufio.Writer
	f *os.File
}

func createBuffered(path string) (*bufFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &bufFile{bufio.NewWriterSize(f, 1<<20), f}, nil
}

func (b *bufFile) Close() error {
	err := b.Flush()
	if cerr := b.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func writerProps(extra ...parquet.WriterProperty) *parquet.WriterProperties {
	return parquet.NewWriterProperties(append([]parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithDictionaryDefault(true),
		parquet.WithMaxRowGroupLength(batchRows),
		parquet.WithCreatedBy("chiso synth"),
	}, extra...)...)
}

// writeTableParquet writes a small table as one row group: text columns
// as strings (empty as null), numeric ones as doubles.
func writeTableParquet(path string, t table) error {
	fields := make([]arrow.Field, len(t.cols))
	for i, c := range t.cols {
		fields[i] = arrow.Field{Name: c, Type: arrow.BinaryTypes.String, Nullable: true}
		if t.numeric != nil && t.numeric[i] {
			fields[i].Type = arrow.PrimitiveTypes.Float64
		}
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, row := range t.rows {
		for i, v := range row {
			switch fb := b.Field(i).(type) {
			case *array.StringBuilder:
				if v == "" {
					fb.AppendNull()
				} else {
					fb.Append(v)
				}
			case *array.Float64Builder:
				x, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return err
				}
				fb.Append(x)
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	f, err := createBuffered(path)
	if err != nil {
		return err
	}
	fw, err := pqarrow.NewFileWriter(schema, f, writerProps(), pqarrow.DefaultWriterProps())
	if err != nil {
		f.Close()
		return err
	}
	if err := fw.Write(rec); err != nil {
		fw.Close()
		return err
	}
	return fw.Close()
}

var obsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "unit", Type: arrow.BinaryTypes.String},
	{Name: "indicator", Type: arrow.BinaryTypes.String},
	{Name: "period", Type: arrow.BinaryTypes.String},
	{Name: "kind", Type: arrow.BinaryTypes.String},
	{Name: "value", Type: arrow.PrimitiveTypes.Float64},
	{Name: "denominator", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "qualifier", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "flags", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "methodology", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "source", Type: arrow.BinaryTypes.String},
	{Name: "line", Type: arrow.PrimitiveTypes.Int32},
	{Name: "raw", Type: arrow.BinaryTypes.String},
	{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// obsParquet streams observations into Parquet, one row group per batch.
type obsParquet struct {
	fw                                   *pqarrow.FileWriter
	b                                    *array.RecordBuilder
	unit, ind, period, kind, source, raw *array.StringBuilder
	value                                *array.Float64Builder
	line                                 *array.Int32Builder
	nulls                                []array.Builder
	n                                    int
}

func newObsParquet(path string) (*obsParquet, error) {
	f, err := createBuffered(path)
	if err != nil {
		return nil, err
	}
	props := writerProps(parquet.WithSortingColumns([]parquet.SortingColumn{{ColumnIdx: 1}, {ColumnIdx: 0}, {ColumnIdx: 2}}), parquet.WithStatsFor("raw", false))
	fw, err := pqarrow.NewFileWriter(obsSchema, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		f.Close()
		return nil, err
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, obsSchema)
	w := &obsParquet{fw: fw, b: b}
	str := func(i int) *array.StringBuilder { return b.Field(i).(*array.StringBuilder) }
	w.unit, w.ind, w.period, w.kind, w.source, w.raw = str(0), str(1), str(2), str(3), str(9), str(11)
	w.value = b.Field(4).(*array.Float64Builder)
	w.line = b.Field(10).(*array.Int32Builder)
	w.nulls = []array.Builder{b.Field(5), b.Field(6), b.Field(7), b.Field(8), b.Field(12)}
	b.Reserve(batchRows)
	return w, nil
}

func (w *obsParquet) write(r *obsRow) error {
	w.unit.Append(r.unit)
	w.ind.Append(r.indicator)
	w.period.Append(r.period)
	w.kind.Append(r.kind)
	w.value.Append(r.value)
	w.source.Append(r.source)
	w.line.Append(r.line)
	w.raw.BinaryBuilder.Append(r.raw)
	w.n++
	if w.n == batchRows {
		return w.flush()
	}
	return nil
}

func (w *obsParquet) flush() error {
	if w.n == 0 {
		return nil
	}
	for _, nb := range w.nulls {
		nb.AppendNulls(w.n)
	}
	rec := w.b.NewRecordBatch()
	defer rec.Release()
	w.n = 0
	if err := w.fw.Write(rec); err != nil {
		return err
	}
	w.b.Reserve(batchRows)
	return nil
}

func (w *obsParquet) close() error {
	defer w.b.Release()
	if err := w.flush(); err != nil {
		w.fw.Close()
		return err
	}
	return w.fw.Close()
}
