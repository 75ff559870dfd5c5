package export

import (
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// batchRows is how many rows an Arrow record batch (and a Parquet row
// group) holds: what a writer keeps in memory.
const batchRows = 64 << 10

// ArrowSchema is the Arrow schema of cols: strings as UTF-8, Int as
// int64, Float as float64, Date as date32, Time as a UTC timestamp in
// microseconds; every column nullable.
func ArrowSchema(cols []Column) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		var t arrow.DataType
		switch c.Type {
		case Int:
			t = arrow.PrimitiveTypes.Int64
		case Float:
			t = arrow.PrimitiveTypes.Float64
		case Bool:
			t = arrow.FixedWidthTypes.Boolean
		case Date:
			t = arrow.FixedWidthTypes.Date32
		case Time:
			t = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
		default:
			t = arrow.BinaryTypes.String
		}
		fields[i] = arrow.Field{Name: c.Name, Type: t, Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// batcher collects rows into Arrow record batches of batchRows.
type batcher struct {
	b     *array.RecordBuilder
	cols  []Column
	n     int
	flush func(arrow.RecordBatch) error
}

func newBatcher(cols []Column, flush func(arrow.RecordBatch) error) *batcher {
	return &batcher{b: array.NewRecordBuilder(memory.DefaultAllocator, ArrowSchema(cols)), cols: cols, flush: flush}
}

func (b *batcher) Write(row []any) error {
	for i, v := range row {
		f := b.b.Field(i)
		if v == nil {
			f.AppendNull()
			continue
		}
		switch x := v.(type) {
		case string:
			f.(*array.StringBuilder).Append(x)
		case int64:
			f.(*array.Int64Builder).Append(x)
		case float64:
			f.(*array.Float64Builder).Append(x)
		case bool:
			f.(*array.BooleanBuilder).Append(x)
		case time.Time:
			if b.cols[i].Type == Date {
				f.(*array.Date32Builder).Append(arrow.Date32FromTime(x))
			} else {
				f.(*array.TimestampBuilder).Append(arrow.Timestamp(x.UnixMicro()))
			}
		}
	}
	b.n++
	if b.n >= batchRows {
		return b.emit()
	}
	return nil
}

func (b *batcher) emit() error {
	if b.n == 0 {
		return nil
	}
	rec := b.b.NewRecordBatch()
	defer rec.Release()
	b.n = 0
	return b.flush(rec)
}

type arrowWriter struct {
	*batcher
	fw *ipc.FileWriter
}

// newArrow writes the Arrow IPC file format (Feather v2): its footer,
// written by Close, is what a reader needs to open the file.
func newArrow(w io.Writer, cols []Column, _ Options) (Writer, error) {
	fw, err := ipc.NewFileWriter(w, ipc.WithSchema(ArrowSchema(cols)))
	if err != nil {
		return nil, err
	}
	a := &arrowWriter{fw: fw}
	a.batcher = newBatcher(cols, fw.Write)
	return a, nil
}

func (a *arrowWriter) Close() error {
	if err := a.emit(); err != nil {
		return err
	}
	a.b.Release()
	return a.fw.Close()
}

type parquetWriter struct {
	*batcher
	fw *pqarrow.FileWriter
}

// newParquet writes Parquet with Snappy pages, one row group per batch.
func newParquet(w io.Writer, cols []Column, _ Options) (Writer, error) {
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(batchRows))
	fw, err := pqarrow.NewFileWriter(ArrowSchema(cols), w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, err
	}
	p := &parquetWriter{fw: fw}
	p.batcher = newBatcher(cols, fw.Write)
	return p, nil
}

func (p *parquetWriter) Close() error {
	if err := p.emit(); err != nil {
		return err
	}
	p.b.Release()
	return p.fw.Close()
}
