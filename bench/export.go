package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// exportResult is one export of the observations table to a file: by
// chiso's /export over HTTP, or by DuckDB's COPY ... TO in-process.
type exportResult struct {
	System     string  `json:"system"`
	Format     string  `json:"format"`
	Rows       int64   `json:"rows"`
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_sec"`
	FileMB     float64 `json:"file_mb"`
	// RSS of the process that wrote the file, before the export, and
	// its peak during it (VmHWM, reset just before the export).
	RSSBeforeMB float64 `json:"rss_before_mb"`
	PeakRSSMB   float64 `json:"peak_rss_mb"`
}

// exportColumns are the columns both systems write: chiso's GraphQL
// selection and the same columns of chiso's table in SQL, named as
// chiso's export names them.
const (
	exportSelection = `unitCode indicatorCode periodLabel periodStart periodEnd kind value denominator qualifier flags methodology canonical basis
		provenance { line raw note source { id } }`
	exportSQL = `SELECT unit AS "unitCode", indicator AS "indicatorCode", period AS "periodLabel", period_start AS "periodStart", period_end AS "periodEnd",
		upper(kind) AS kind, value, denominator, qualifier, flags, methodology, canonical,
		CASE basis WHEN 'per_year' THEN 'PER_YEAR' WHEN 'cumulative' THEN 'CUMULATIVE' ELSE 'POINT' END AS basis,
		line::BIGINT AS "provenance.line", raw AS "provenance.raw", note AS "provenance.note", source AS "provenance.source.id"
		FROM observations ORDER BY id`
)

// exportFormats are what the export phase measures; DuckDB has no COPY
// to Arrow IPC without an extension, so arrow is chiso's alone.
var exportFormats = []string{"parquet", "csv", "arrow"}

// resetPeak resets a process's VmHWM to its current RSS (Linux
// clear_refs 5), so the next VmHWM is the peak since now.
func resetPeak(pid string) error {
	return os.WriteFile("/proc/"+pid+"/clear_refs", []byte("5"), 0)
}

func procStatusSelf(field string) int64 { return procStatus(os.Getpid(), field) }

// measureExports exports the whole observations table (and its first
// million rows as parquet, to show memory does not grow with rows)
// through chiso's /export into files, and the same columns and rows with
// DuckDB's COPY ... TO from the floor's copy of chiso's table.
func measureExports(ctx context.Context, srv *server, fl *floor, tmp string, sr *sizeResult) error {
	dir := filepath.Join(tmp, "exports")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pid := srv.cmd.Process.Pid
	hc := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	chisoExport := func(format string, first int) (exportResult, error) {
		res := exportResult{System: "chiso /export (HTTP)", Format: format}
		args := ""
		if first > 0 {
			args = fmt.Sprintf("(first: %d)", first)
			res.System += fmt.Sprintf(", first %d rows", first)
		}
		q := `{ observations` + args + ` { nodes { ` + strings.Join(strings.Fields(exportSelection), " ") + ` } } }`
		path := filepath.Join(dir, "chiso."+format)
		f, err := os.Create(path)
		if err != nil {
			return res, err
		}
		defer f.Close()
		res.RSSBeforeMB = float64(procStatus(pid, "VmRSS")) / 1024
		if err := resetPeak(strconv.Itoa(pid)); err != nil {
			return res, fmt.Errorf("resetting chiso's peak RSS: %w", err)
		}
		start := time.Now()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.base+"/export?format="+format+"&query="+url.QueryEscape(q), nil)
		resp, err := hc.Do(req)
		if err != nil {
			return res, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			return res, fmt.Errorf("chiso export %s: status %d: %.500s", format, resp.StatusCode, b)
		}
		n, err := io.Copy(f, resp.Body)
		if err != nil {
			return res, fmt.Errorf("chiso export %s: %w", format, err)
		}
		if err := f.Close(); err != nil {
			return res, err
		}
		el := time.Since(start)
		res.PeakRSSMB = float64(procStatus(pid, "VmHWM")) / 1024
		rows, err := strconv.ParseInt(resp.Trailer.Get("X-Chiso-Export-Rows"), 10, 64)
		if err != nil {
			return res, fmt.Errorf("chiso export %s: no row count in the trailer (%d bytes): the export did not finish", format, n)
		}
		if format == "parquet" { // read back: the file is whole and holds them
			r, err := fl.st.RawQuery(ctx, `SELECT count(*) FROM read_parquet(?)`, path)
			if err != nil {
				return res, fmt.Errorf("reading chiso's parquet back: %w", err)
			}
			if got := r[0][0].(int64); got != rows {
				return res, fmt.Errorf("chiso's parquet holds %d rows, its trailer says %d", got, rows)
			}
		}
		res.Rows, res.Seconds, res.FileMB = rows, el.Seconds(), float64(n)/(1<<20)
		res.RowsPerSec = float64(rows) / el.Seconds()
		return res, nil
	}
	duckCopy := func(format string) (exportResult, error) {
		res := exportResult{System: "DuckDB COPY ... TO (in-process)", Format: format}
		path := filepath.Join(dir, "duckdb."+format)
		opts := map[string]string{"parquet": "(FORMAT parquet, COMPRESSION snappy)", "csv": "(FORMAT csv, HEADER true)"}[format]
		res.RSSBeforeMB = float64(procStatusSelf("VmRSS")) / 1024
		if err := resetPeak("self"); err != nil {
			return res, err
		}
		start := time.Now()
		r, err := fl.st.RawQuery(ctx, `COPY (`+exportSQL+`) TO '`+path+`' `+opts)
		if err != nil {
			return res, fmt.Errorf("duckdb copy %s: %w", format, err)
		}
		el := time.Since(start)
		res.PeakRSSMB = float64(procStatusSelf("VmHWM")) / 1024
		if len(r) == 1 && len(r[0]) == 1 {
			res.Rows, _ = r[0][0].(int64)
		}
		st, err := os.Stat(path)
		if err != nil {
			return res, err
		}
		os.Remove(path)
		res.Seconds, res.FileMB = el.Seconds(), float64(st.Size())/(1<<20)
		res.RowsPerSec = float64(res.Rows) / el.Seconds()
		return res, nil
	}
	add := func(r exportResult, err error) error {
		if err != nil {
			return err
		}
		if r.Rows != int64(sr.Observations) && !strings.Contains(r.System, "first") {
			return fmt.Errorf("%s %s wrote %d rows of %d", r.System, r.Format, r.Rows, sr.Observations)
		}
		log.Printf("%s export %s %s: %d rows in %.2fs (%.0f rows/s), %.0f MB, RSS %.0f MB before, peak %.0f MB",
			sr.Size, r.Format, r.System, r.Rows, r.Seconds, r.RowsPerSec, r.FileMB, r.RSSBeforeMB, r.PeakRSSMB)
		sr.Exports = append(sr.Exports, r)
		return nil
	}
	if err := add(chisoExport("parquet", 1_000_000)); err != nil {
		return err
	}
	for _, format := range exportFormats {
		if err := add(chisoExport(format, 0)); err != nil {
			return err
		}
		os.Remove(filepath.Join(dir, "chiso."+format))
		if format == "arrow" {
			continue
		}
		if err := add(duckCopy(format)); err != nil {
			return err
		}
	}
	return nil
}
