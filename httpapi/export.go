package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"chiso/export"
	"chiso/graph"
	"chiso/indicator"
)

// codeBadRequest is the code of a malformed export request (a missing or
// unknown parameter, a query that selects no list).
const codeBadRequest indicator.Code = "BAD_REQUEST"

// exporter answers /export: it runs a GraphQL query and writes the first
// list it selects as a flat table (see README, "Exports").
type exporter struct {
	exec    *executor.Executor
	schema  *ast.Schema
	eng     indicator.Engine
	log     *slog.Logger
	timeout time.Duration // for answers computed whole (not streamed)
	limits  graph.Limits  // their page sizes
	page    int           // rows read per page when streaming observations
}

// exportRequest is what an export request asks.
type exportRequest struct {
	params graphql.RawParams
	format export.Format
	opt    export.Options
}

func exportBadRequest(param, format string, args ...any) *gqlerror.Error {
	e := gqlerror.Errorf(format, args...)
	e.Extensions = map[string]any{"code": string(codeBadRequest), "argument": param}
	return e
}

// parseExport reads the request: format (and bom) from the URL; the
// GraphQL request from the URL (GET), or from the body as GraphQL JSON,
// a form (query=…) or the raw query (POST).
func parseExport(r *http.Request) (exportRequest, *gqlerror.Error) {
	var req exportRequest
	u := r.URL.Query()
	name := u.Get("format")
	if name == "" && r.Method == http.MethodPost {
		name = r.FormValue("format")
	}
	f, ok := export.Formats[strings.ToLower(name)]
	if !ok {
		if name == "" {
			return req, exportBadRequest("format", "parameter format: missing; expected one of %s", export.FormatNames)
		}
		return req, exportBadRequest("format", "parameter format: unknown format %q; expected one of %s", name, export.FormatNames)
	}
	req.format = f
	switch b := u.Get("bom"); b {
	case "", "0", "false":
	case "1", "true":
		req.opt.BOM = true
	default:
		return req, exportBadRequest("bom", "parameter bom: expected 1 or 0, got %q", b)
	}
	vars := u.Get("variables")
	req.params.Query, req.params.OperationName = u.Get("query"), u.Get("operationName")
	if r.Method == http.MethodPost {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch ct {
		case "application/json":
			var body struct {
				Query         string         `json:"query"`
				OperationName string         `json:"operationName"`
				Variables     map[string]any `json:"variables"`
			}
			d := json.NewDecoder(r.Body)
			d.UseNumber()
			if err := d.Decode(&body); err != nil {
				return req, exportBadRequest("body", "request body: not a GraphQL request in JSON: %v", err)
			}
			req.params.Query, req.params.OperationName, req.params.Variables = body.Query, body.OperationName, body.Variables
			vars = ""
		case "application/x-www-form-urlencoded", "multipart/form-data":
			req.params.Query, req.params.OperationName = r.FormValue("query"), r.FormValue("operationName")
			vars = r.FormValue("variables")
		default: // application/graphql, text/plain or none: the raw query
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return req, exportBadRequest("body", "request body: %v", err)
			}
			req.params.Query = string(b)
		}
	}
	if vars != "" {
		d := json.NewDecoder(strings.NewReader(vars))
		d.UseNumber()
		if err := d.Decode(&req.params.Variables); err != nil {
			return req, exportBadRequest("variables", "parameter variables: expected a JSON object: %v", err)
		}
	}
	if strings.TrimSpace(req.params.Query) == "" {
		return req, exportBadRequest("query", "parameter query: missing; expected a GraphQL query that selects a list")
	}
	return req, nil
}

// writeErrors answers with GraphQL errors, before any of the table.
func writeErrors(w http.ResponseWriter, status int, errs gqlerror.List) {
	w.Header().Set("Content-Type", ContentTypeJSON)
	w.Header().Del("Content-Disposition")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": errs})
}

// statusOf is the HTTP status of an answer that failed with errs.
func statusOf(errs gqlerror.List) int {
	if len(errs) == 0 {
		return http.StatusInternalServerError
	}
	code, _ := errs[0].Extensions["code"].(string)
	switch indicator.Code(code) {
	case codeBadRequest, indicator.CodeInvalidArgument:
		return http.StatusBadRequest
	case indicator.CodeNotFound:
		return http.StatusNotFound
	case indicator.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case indicator.CodeTimeout:
		return http.StatusGatewayTimeout
	case indicator.CodeUnavailable:
		return http.StatusServiceUnavailable
	case indicator.CodeInternal:
		return http.StatusInternalServerError
	}
	return http.StatusUnprocessableEntity // parse and validation errors, as gqlgen answers them
}

// engineError presents an engine error as the API does: its code, the
// argument it names, and "internal error" for what has no kind.
func (x *exporter) engineError(ctx context.Context, err error, path ...string) *gqlerror.Error {
	code := indicator.CodeOf(err)
	e := &gqlerror.Error{Message: err.Error(), Extensions: map[string]any{"code": string(code)}}
	for _, p := range path {
		e.Path = append(e.Path, ast.PathName(p))
	}
	if ae, ok := errors.AsType[*indicator.ArgError](err); ok {
		e.Extensions["argument"] = ae.Arg
	}
	if code == indicator.CodeInternal {
		x.log.ErrorContext(ctx, "export failed", "request", RequestID(ctx), "err", err)
		e.Message = "internal error"
	}
	return e
}

// ExportWriteGrace is how long after its time limit an export may still
// be writing: the server's write timeout is sized for /graphql's answers
// (-timeout plus as much grace), and an export streams for as long as
// -export-timeout allows.
const ExportWriteGrace = 20 * time.Second

func (x *exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The write deadline moves to the export's own limit plus the grace;
	// an export without a time limit has no write deadline either.
	var deadline time.Time
	if d, ok := r.Context().Deadline(); ok {
		deadline = d.Add(ExportWriteGrace)
	}
	if err := http.NewResponseController(w).SetWriteDeadline(deadline); err != nil {
		x.log.WarnContext(r.Context(), "export: the write deadline could not be moved", "request", RequestID(r.Context()), "err", err)
	}
	req, bad := parseExport(r)
	if bad != nil {
		writeErrors(w, http.StatusBadRequest, gqlerror.List{bad})
		return
	}
	ctx := graphql.StartOperationTrace(r.Context())
	rc, errs := x.exec.CreateOperationContext(ctx, &req.params)
	if errs != nil {
		writeErrors(w, statusOf(errs), errs)
		return
	}
	t, perr := planTable(x.schema, rc)
	if perr != nil {
		writeErrors(w, http.StatusBadRequest, gqlerror.List{perr})
		return
	}
	info, err := x.eng.Dataset(ctx)
	if err != nil {
		writeErrors(w, http.StatusServiceUnavailable, gqlerror.List{x.engineError(ctx, err)})
		return
	}
	req.opt.Dataflow = "CHISO:" + strings.ToUpper(strings.ReplaceAll(t.name, "-", "_")) + "(" + short(info.Version) + ")"
	req.opt.Sheet = t.name
	out := &tableOut{w: w, req: req, name: t.name, version: info.Version}
	gs, l, unstreamed, ok := streamable(t)
	if ok {
		x.streamObservations(ctx, rc, t, gs, l, out)
		return
	}
	if e := x.onePage(rc, t, unstreamed); e != nil {
		writeErrors(w, http.StatusBadRequest, gqlerror.List{e})
		return
	}
	x.answerWhole(ctx, rc, t, out)
}

// onePage refuses a connection's nodes or edges asked without first or
// last and answered whole: the answer would be the connection's default
// page, and the file would end there without a word. unstreamed, for
// the observations table, is the column that keeps it from streaming.
func (x *exporter) onePage(rc *graphql.OperationContext, t *table, unstreamed string) *gqlerror.Error {
	n := len(t.fields)
	if n < 2 || (t.fields[n-1].Name != "nodes" && t.fields[n-1].Name != "edges") {
		return nil
	}
	conn := t.fields[n-2]
	if def := x.schema.Types[conn.Definition.Type.Name()]; def == nil || def.Fields.ForName("pageInfo") == nil {
		return nil
	}
	args := conn.ArgumentMap(rc.Variables)
	if args["first"] != nil || args["last"] != nil {
		return nil
	}
	msg := fmt.Sprintf("%s without first or last would export only its first page (%d rows); give first (at most %d) and page with after", conn.Name, x.limits.DefaultPageSize, x.limits.MaxPageSize)
	if unstreamed != "" {
		msg += fmt.Sprintf(", or leave out %s: the observations table streams whole when every column is a field of an observation, its unit, indicator, period, provenance or provenance.source", unstreamed)
	}
	return exportBadRequest("first", "%s", msg)
}

func short(version string) string {
	if len(version) > 12 {
		return version[:12]
	}
	return version
}

// tableOut writes the table's response: headers and the format's writer
// on the first row, errors while nothing is written.
type tableOut struct {
	w       http.ResponseWriter
	req     exportRequest
	name    string
	version string
	tw      export.Writer
	rows    int
}

// start sends the headers and begins the file. A table the format
// refuses (SDMX-CSV without its dimensions) is answered with the error,
// since nothing is written yet.
func (o *tableOut) start(cols []export.Column) (refused bool, err error) {
	h := o.w.Header()
	h.Set("Content-Type", o.req.format.ContentType)
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="chiso-%s-%s.%s"`, o.name, short(o.version), o.req.format.Ext))
	h.Set("X-Chiso-Dataset-Version", o.version)
	h.Set("Trailer", "X-Chiso-Export-Rows")
	cw := &countingWriter{w: o.w}
	o.tw, err = o.req.format.New(cw, cols, o.req.opt)
	if err != nil && cw.n == 0 {
		h.Del("Trailer")
		h.Del("X-Chiso-Dataset-Version")
		status := http.StatusInternalServerError
		if errors.Is(err, export.ErrColumns) {
			status = http.StatusBadRequest
		}
		writeErrors(o.w, status, gqlerror.List{exportBadRequest("query", "%v", err)})
		return true, err
	}
	if err != nil {
		return false, err
	}
	o.w.WriteHeader(http.StatusOK)
	// The headers go out now, so a client sees the export begin (and,
	// should it fail later, end without its last chunk).
	if f, ok := o.w.(http.Flusher); ok {
		f.Flush()
	}
	return false, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

func (o *tableOut) write(row []any) error {
	o.rows++
	return o.tw.Write(row)
}

// finish ends the file and says in the trailer how many rows it holds.
func (o *tableOut) finish() error {
	if err := o.tw.Close(); err != nil {
		return err
	}
	o.w.Header().Set("X-Chiso-Export-Rows", strconv.Itoa(o.rows))
	return nil
}

// abort ends a response whose table failed after it began: the
// connection is cut before the chunked body's last chunk, so every HTTP
// client sees an incomplete transfer, and the file lacks its end
// (Parquet's and Arrow's footers, JSON's closing bracket).
func (x *exporter) abort(ctx context.Context, err error) {
	x.log.WarnContext(ctx, "export aborted after it began", "request", RequestID(ctx), "err", err)
	panic(http.ErrAbortHandler)
}

// answerWhole runs the query as /graphql would (with its limits and
// timeout) and writes the list it answers.
func (x *exporter) answerWhole(ctx context.Context, rc *graphql.OperationContext, t *table, out *tableOut) {
	if x.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, x.timeout)
		defer cancel()
	}
	handle, ctx := x.exec.DispatchOperation(ctx, rc)
	resp := handle(ctx)
	if resp == nil {
		writeErrors(out.w, http.StatusServiceUnavailable, gqlerror.List{x.engineError(ctx, ctx.Err())})
		return
	}
	if len(resp.Errors) > 0 {
		writeErrors(out.w, statusOf(resp.Errors), resp.Errors)
		return
	}
	d := json.NewDecoder(bytes.NewReader(resp.Data))
	d.UseNumber()
	var data any
	if err := d.Decode(&data); err != nil {
		writeErrors(out.w, http.StatusInternalServerError, gqlerror.List{x.engineError(ctx, err)})
		return
	}
	var list []any
	at := data
	for i, k := range t.path {
		m, _ := at.(map[string]any)
		at = m[k]
		if i == len(t.path)-1 {
			list, _ = at.([]any)
		}
	}
	cols := t.columns()
	if refused, err := out.start(cols); refused {
		return
	} else if err != nil {
		x.abort(ctx, err)
	}
	row := make([]any, len(cols))
	emit := func(elems ...any) {
		for i, c := range t.cols {
			row[i] = c.fromJSON(elems[c.part])
		}
		if err := out.write(row); err != nil {
			x.abort(ctx, err)
		}
	}
	if t.matrix != nil {
		x.writeMatrix(data, t, emit)
	} else {
		for _, e := range list {
			emit(e)
		}
	}
	if err := out.finish(); err != nil {
		x.abort(ctx, err)
	}
}

// writeMatrix writes a matrix one row per cell: the row's unit, the
// column and the cell.
func (x *exporter) writeMatrix(data any, t *table, emit func(...any)) {
	at := data
	for _, k := range t.path {
		m, _ := at.(map[string]any)
		at = m[k]
	}
	m, _ := at.(map[string]any)
	rows, _ := m[t.matrix.rows].([]any)
	columns, _ := m[t.matrix.columns].([]any)
	cells, _ := m[t.matrix.cells].([]any)
	for i := range max(len(rows), len(cells)) {
		var r any
		if i < len(rows) {
			r = rows[i]
		}
		var line []any
		if i < len(cells) {
			line, _ = cells[i].([]any)
		}
		for j := range max(len(columns), len(line)) {
			var c, cell any
			if j < len(columns) {
				c = columns[j]
			}
			if j < len(line) {
				cell = line[j]
			}
			emit(r, c, cell)
		}
	}
}
