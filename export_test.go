package main

import (
	"bytes"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

// phongThoQuery is the example: every Phong Thổ observation with
// its unit and indicator codes, period, value and provenance.
const phongThoQuery = `{ observations(filter:{units:["vn.lai-chau.phong-tho"]}) { nodes { unit { code } indicator { code } periodLabel value provenance { line raw } } } }`

// exportFile posts query as a form (as curl --data-urlencode does) to
// /export in format and saves the answer in a file.
func exportFile(t *testing.T, base, format, query string) (string, *http.Response) {
	t.Helper()
	resp, err := http.PostForm(base+"/export?format="+format, url.Values{"query": {query}})
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	path := filepath.Join(t.TempDir(), "t."+format)
	require.NoError(t, os.WriteFile(path, body, 0o644))
	return path, resp
}

func duck(t *testing.T) *sql.DB {
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// phongThoRows counts Phong Thổ's observations in the dataset file itself.
func phongThoRows(t *testing.T, db *sql.DB) int {
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM read_csv('datasets/laichau/observations.csv', header=true, all_varchar=true) WHERE unit = 'vn.lai-chau.phong-tho'`).Scan(&n))
	require.Greater(t, n, 100)
	return n
}

// checkPhongTho asserts a table read back by DuckDB (the view t) against
// the dataset file: the same rows, by value, line and figure as written.
func checkPhongTho(t *testing.T, db *sql.DB, want int) {
	t.Helper()
	var types []string
	rows, err := db.Query(`SELECT column_name || ' ' || column_type FROM (DESCRIBE t)`)
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		types = append(types, s)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"unit.code VARCHAR", "indicator.code VARCHAR", "periodLabel VARCHAR", "value DOUBLE", "provenance.line BIGINT", "provenance.raw VARCHAR"}, types)
	var n, units int
	require.NoError(t, db.QueryRow(`SELECT count(*), count(DISTINCT "unit.code") FROM t`).Scan(&n, &units))
	require.Equal(t, want, n)
	require.Equal(t, 1, units)
	// Every row is a row of the dataset file (the multiset of rows is the
	// same: the EXCEPT ALL both ways is empty).
	var missing, extra int
	const file = `SELECT indicator, period, value::DOUBLE AS value, nullif(line, '')::BIGINT AS line, nullif(raw, '') AS raw
		FROM read_csv('datasets/laichau/observations.csv', header=true, all_varchar=true) WHERE unit = 'vn.lai-chau.phong-tho'`
	const got = `SELECT "indicator.code", "periodLabel", "value", "provenance.line", "provenance.raw" FROM t`
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM (`+file+` EXCEPT ALL `+got+`)`).Scan(&missing))
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM (`+got+` EXCEPT ALL `+file+`)`).Scan(&extra))
	require.Zero(t, missing)
	require.Zero(t, extra)
	// Phong Thổ's 2023 poverty rate, study book line 175: "37,93%".
	var v float64
	var raw string
	require.NoError(t, db.QueryRow(`SELECT value, "provenance.raw" FROM t WHERE "indicator.code" = 'poverty_rate' AND periodLabel = '2023'`).Scan(&v, &raw))
	require.Equal(t, 37.93, v)
	require.Equal(t, "37,93%", raw)
}

// TestExportMustShow: the curl for Parquet, CSV and Arrow, each
// file read back with DuckDB (Arrow with arrow-go's reader, loaded into
// DuckDB) and held to the dataset file; xlsx read back with excelize.
func TestExportMustShow(t *testing.T) {
	srv := startServer(t)
	ver := version(t, srv.base)
	db := duck(t)
	want := phongThoRows(t, db)

	path, resp := exportFile(t, srv.base, "parquet", phongThoQuery)
	require.Equal(t, `attachment; filename="chiso-observations-nodes-`+ver[:12]+`.parquet"`, resp.Header.Get("Content-Disposition"))
	require.Equal(t, ver, resp.Header.Get("X-Chiso-Dataset-Version"))
	_, err := db.Exec(`CREATE OR REPLACE VIEW t AS SELECT * FROM read_parquet('` + path + `')`)
	require.NoError(t, err)
	checkPhongTho(t, db, want)

	path, resp = exportFile(t, srv.base, "csv", phongThoQuery)
	require.Equal(t, "text/csv; charset=utf-8; header=present", resp.Header.Get("Content-Type"))
	_, err = db.Exec(`CREATE OR REPLACE VIEW t AS SELECT * FROM read_csv('` + path + `', header=true, columns={'unit.code':'VARCHAR','indicator.code':'VARCHAR','periodLabel':'VARCHAR','value':'DOUBLE','provenance.line':'BIGINT','provenance.raw':'VARCHAR'})`)
	require.NoError(t, err)
	checkPhongTho(t, db, want)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(b, []byte("unit.code,indicator.code,periodLabel,value,provenance.line,provenance.raw\r\n")), "RFC 4180 header with CRLF")
	require.Equal(t, strconv.Itoa(want), resp.Trailer.Get("X-Chiso-Export-Rows"), "the trailer counts the rows")

	// Arrow: read with arrow-go's IPC file reader, typed, then into DuckDB
	// through a CSV of its rows to run the same checks.
	path, _ = exportFile(t, srv.base, "arrow", phongThoQuery)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	require.NoError(t, err)
	require.Equal(t, []arrow.DataType{arrow.BinaryTypes.String, arrow.BinaryTypes.String, arrow.BinaryTypes.String, arrow.PrimitiveTypes.Float64, arrow.PrimitiveTypes.Int64, arrow.BinaryTypes.String},
		[]arrow.DataType{r.Schema().Field(0).Type, r.Schema().Field(1).Type, r.Schema().Field(2).Type, r.Schema().Field(3).Type, r.Schema().Field(4).Type, r.Schema().Field(5).Type})
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write([]string{"unit.code", "indicator.code", "periodLabel", "value", "provenance.line", "provenance.raw"})
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordBatch(i)
		require.NoError(t, err)
		for j := 0; j < int(rec.NumRows()); j++ {
			line := ""
			if l := rec.Column(4).(*array.Int64); l.IsValid(j) {
				line = l.ValueStr(j)
			}
			cw.Write([]string{rec.Column(0).ValueStr(j), rec.Column(1).ValueStr(j), rec.Column(2).ValueStr(j), rec.Column(3).ValueStr(j), line, rec.Column(5).(*array.String).Value(j)})
		}
	}
	cw.Flush()
	csvPath := filepath.Join(t.TempDir(), "arrow.csv")
	require.NoError(t, os.WriteFile(csvPath, buf.Bytes(), 0o644))
	_, err = db.Exec(`CREATE OR REPLACE VIEW t AS SELECT * FROM read_csv('` + csvPath + `', header=true, columns={'unit.code':'VARCHAR','indicator.code':'VARCHAR','periodLabel':'VARCHAR','value':'DOUBLE','provenance.line':'BIGINT','provenance.raw':'VARCHAR'})`)
	require.NoError(t, err)
	checkPhongTho(t, db, want)

	// xlsx: numbers are numeric cells.
	path, _ = exportFile(t, srv.base, "xlsx", phongThoQuery)
	x, err := excelize.OpenFile(path)
	require.NoError(t, err)
	defer x.Close()
	xr, err := x.GetRows("observations-nodes")
	require.NoError(t, err)
	require.Len(t, xr, want+1)
	require.Equal(t, []string{"unit.code", "indicator.code", "periodLabel", "value", "provenance.line", "provenance.raw"}, xr[0])
	found := false
	for i, row := range xr[1:] {
		if row[1] == "poverty_rate" && row[2] == "2023" {
			found = true
			cell, _ := excelize.CoordinatesToCellName(4, i+2)
			typ, err := x.GetCellType("observations-nodes", cell)
			require.NoError(t, err)
			// A numeric cell has no type attribute (or "n"); text would be an
			// inline or shared string.
			require.Contains(t, []excelize.CellType{excelize.CellTypeUnset, excelize.CellTypeNumber}, typ)
			typ, err = x.GetCellType("observations-nodes", "C2")
			require.NoError(t, err)
			require.Contains(t, []excelize.CellType{excelize.CellTypeInlineString, excelize.CellTypeSharedString}, typ)
			require.Equal(t, "37.93", row[3])
		}
	}
	require.True(t, found)
}

// TestExportTypesAndNames: dates stay dates in Parquet, Vietnamese names
// survive CSV with a BOM, and the JSON formats carry typed values.
func TestExportTypesAndNames(t *testing.T) {
	srv := startServer(t)
	db := duck(t)
	q := `{ observations(filter:{units:["vn.lai-chau.phong-tho"], indicators:["poverty_rate"]}) { nodes { unit { nameVi level } periodStart canonical flags denominator } } }`
	path, _ := exportFile(t, srv.base, "parquet", q)
	var name, level string
	var start time.Time
	var canonical bool
	require.NoError(t, db.QueryRow(`SELECT "unit.nameVi", "unit.level", periodStart, canonical FROM read_parquet('`+path+`') ORDER BY periodStart LIMIT 1`).Scan(&name, &level, &start, &canonical))
	require.Equal(t, "Phong Thổ", name)
	require.Equal(t, "DISTRICT", level)
	var typ string
	require.NoError(t, db.QueryRow(`SELECT column_type FROM (DESCRIBE SELECT * FROM read_parquet('`+path+`')) WHERE column_name = 'periodStart'`).Scan(&typ))
	require.Equal(t, "DATE", typ)

	resp, err := http.Get(srv.base + "/export?format=csv&bom=1&query=" + url.QueryEscape(q))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.True(t, bytes.HasPrefix(body, []byte("\xEF\xBB\xBFunit.nameVi,")))
	require.Contains(t, string(body), "\r\nPhong Thổ,DISTRICT,")

	resp, err = http.Post(srv.base+"/export?format=json", "application/json", strings.NewReader(`{"query":`+jsonString(q)+`}`))
	require.NoError(t, err)
	var rows []map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&rows))
	resp.Body.Close()
	require.NotEmpty(t, rows)
	require.Equal(t, "Phong Thổ", rows[0]["unit.nameVi"])
	require.IsType(t, true, rows[0]["canonical"])
	require.Contains(t, rows[0], "denominator")
	require.Nil(t, rows[0]["denominator"])
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
