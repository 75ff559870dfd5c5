package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"chiso/indicator"
)

// Media types of GraphQL over HTTP.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// ContentTypeJSON is the Content-Type of every JSON answer and error:
// the GraphQL-over-HTTP spec asks a server to say the encoding, and
// chiso always writes UTF-8.
const ContentTypeJSON = mediaJSON + "; charset=utf-8"

// CodeBadRequest is the extensions.code of a request chiso cannot read
// as a GraphQL request: malformed JSON, an empty body, a batch, a wrong
// content type, a parameter of the wrong type, a persisted-query hash
// that does not match its query.
const CodeBadRequest = "BAD_REQUEST"

// maxRequestErrors is the most errors a request error lists.
const maxRequestErrors = 50

// transport is GraphQL over HTTP as the spec
// (https://graphql.github.io/graphql-over-http/draft/) writes it, for GET
// and POST with application/json bodies:
//
//   - the response is application/graphql-response+json when the client
//     accepts it before application/json, else application/json (also
//     for a missing Accept, */* and application/*);
//   - a request that is not a well-formed GraphQL-over-HTTP request
//     (malformed JSON, an empty body, a JSON array: batching is not
//     supported, a parameter of the wrong type, no query) is 400 with one
//     error of code BAD_REQUEST naming what is wrong, never echoing the
//     body; a body of another content type is 415;
//   - a request error (the document does not parse or validate, a
//     variable does not coerce, a limit refuses the operation) answers
//     200 under application/json and 400 under
//     application/graphql-response+json, and in both without the data
//     entry (the operation never ran);
//   - an operation that ran answers 200 with its data.
type transport struct{}

var _ graphql.Transport = transport{}

func (transport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") == ""
}

func (transport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	media := responseMedia(r.Header.Values("Accept"))
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	var params *graphql.RawParams
	var perr error
	switch r.Method {
	case http.MethodGet:
		params, perr = getParams(r)
	case http.MethodPost:
		params, perr = postParams(r)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeRequestError(w, http.StatusMethodNotAllowed, CodeBadRequest, "method "+r.Method+" is not allowed: send GraphQL requests by GET or POST")
		return
	}
	if perr != nil {
		var re *requestError
		if errors.As(perr, &re) {
			writeRequestError(w, re.status, CodeBadRequest, re.msg)
			return
		}
		writeRequestError(w, http.StatusBadRequest, CodeBadRequest, perr.Error())
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: graphql.Now(), End: graphql.Now()}

	oc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		status := http.StatusOK
		if media == mediaGraphQLResponse {
			status = http.StatusBadRequest
		}
		for _, e := range errs {
			if e.Extensions == nil || e.Extensions["code"] == nil {
				// Parameter mutators (persisted queries) say nothing of
				// the kind: they are the client's mistakes.
				if e.Extensions == nil {
					e.Extensions = map[string]any{}
				}
				e.Extensions["code"] = CodeBadRequest
				status = http.StatusBadRequest
			}
		}
		if len(errs) > maxRequestErrors {
			// 50,000 repeated directives are 50,000 errors saying the
			// same: keep the first and say how many were dropped.
			dropped := len(errs) - maxRequestErrors
			code := errs[0].Extensions["code"]
			errs = append(errs[:maxRequestErrors:maxRequestErrors], &gqlerror.Error{
				Message:    fmt.Sprintf("%d more errors not shown (at most %d are listed)", dropped, maxRequestErrors),
				Extensions: map[string]any{"code": code, "dropped": dropped},
			})
		}
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, oc), errs)
		writeResponse(w, status, resp)
		return
	}
	if r.Method == http.MethodGet && oc.Operation.Operation != ast.Query {
		w.Header().Set("Allow", "POST")
		writeRequestError(w, http.StatusMethodNotAllowed, CodeBadRequest, "a GET request may only run a query: send a "+string(oc.Operation.Operation)+" by POST")
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, oc)
	resp := responses(ctx)
	if resp == nil {
		// gqlgen answers nothing once the request's context has ended.
		writeContextEnded(w, r.Context())
		return
	}
	writeResponse(w, http.StatusOK, resp)
}

// responseMedia is the media type to answer in, from the Accept headers.
func responseMedia(accept []string) string {
	if len(accept) == 0 {
		return mediaJSON
	}
	for _, h := range accept {
		for part := range strings.SplitSeq(h, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			switch mt {
			case mediaGraphQLResponse:
				return mediaGraphQLResponse
			case mediaJSON, "*/*", "application/*":
				return mediaJSON
			}
		}
	}
	// Nothing acceptable was asked for: the spec lets a server answer
	// 406 or in a type of its choice; chiso answers JSON, which every
	// client reads.
	return mediaJSON
}

// requestError is a request that is not a well-formed GraphQL request.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// wireParams is a POST body: the types are checked by hand so a
// parameter of the wrong type is named.
type wireParams struct {
	Query         json.RawMessage `json:"query"`
	OperationName json.RawMessage `json:"operationName"`
	Variables     json.RawMessage `json:"variables"`
	Extensions    json.RawMessage `json:"extensions"`
}

func postParams(r *http.Request) (*graphql.RawParams, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil, &requestError{status: http.StatusUnsupportedMediaType, msg: "request body: no Content-Type: send the request as application/json"}
	}
	mt, mp, err := mime.ParseMediaType(ct)
	if err != nil || mt != mediaJSON {
		return nil, &requestError{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("request body: Content-Type %q is not supported: send the request as application/json", truncate(ct, 100))}
	}
	if cs, ok := mp["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, &requestError{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("request body: charset %q is not supported: send UTF-8", truncate(cs, 50))}
	}
	var body bytes.Buffer
	if _, err := body.ReadFrom(r.Body); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, &requestError{status: http.StatusRequestEntityTooLarge, msg: "request body: over the size limit"}
		}
		return nil, badRequest("request body could not be read")
	}
	b := bytes.TrimSpace(body.Bytes())
	switch {
	case len(b) == 0:
		return nil, badRequest(`request body is empty: expected a JSON object such as {"query": "{ dataset { version } }"}`)
	case b[0] == '[':
		return nil, badRequest("request body is a JSON array: batching several operations in one request is not supported; send one operation per request")
	case b[0] != '{':
		return nil, badRequest(`request body is not a JSON object: expected {"query": "…", "variables": {…}}`)
	}
	var wp wireParams
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&wp); err != nil {
		return nil, badRequest("request body is not valid JSON: %s", jsonProblem(err))
	}
	if dec.More() {
		return nil, badRequest("request body has data after its JSON object: send one operation per request")
	}
	return rawParams(wp.Query, wp.OperationName, wp.Variables, wp.Extensions)
}

func getParams(r *http.Request) (*graphql.RawParams, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("URL query could not be parsed: %s", truncate(err.Error(), 200))
	}
	raw := func(name string) (json.RawMessage, error) {
		vs, ok := q[name]
		if !ok {
			return nil, nil
		}
		if len(vs) > 1 {
			return nil, badRequest("URL parameter %s is given %d times: give it once", name, len(vs))
		}
		if name == "query" || name == "operationName" {
			b, _ := json.Marshal(vs[0])
			return b, nil
		}
		if !json.Valid([]byte(vs[0])) {
			return nil, badRequest("URL parameter %s is not valid JSON: expected a JSON object", name)
		}
		return json.RawMessage(vs[0]), nil
	}
	var parts [4]json.RawMessage
	for i, name := range []string{"query", "operationName", "variables", "extensions"} {
		if parts[i], err = raw(name); err != nil {
			return nil, err
		}
	}
	return rawParams(parts[0], parts[1], parts[2], parts[3])
}

// rawParams checks each parameter's type: query and operationName
// strings (or null), variables and extensions objects (or null).
func rawParams(query, opName, vars, exts json.RawMessage) (*graphql.RawParams, error) {
	p := &graphql.RawParams{}
	str := func(name string, m json.RawMessage, dst *string) error {
		if isNull(m) {
			return nil
		}
		if err := json.Unmarshal(m, dst); err != nil {
			return badRequest("parameter %s: expected a string", name)
		}
		return nil
	}
	obj := func(name string, m json.RawMessage, dst *map[string]any) error {
		if isNull(m) {
			return nil
		}
		dec := json.NewDecoder(bytes.NewReader(m))
		dec.UseNumber()
		if err := dec.Decode(dst); err != nil {
			return badRequest("parameter %s: expected a JSON object", name)
		}
		return nil
	}
	if err := str("query", query, &p.Query); err != nil {
		return nil, err
	}
	if err := str("operationName", opName, &p.OperationName); err != nil {
		return nil, err
	}
	if err := obj("variables", vars, &p.Variables); err != nil {
		return nil, err
	}
	if err := obj("extensions", exts, &p.Extensions); err != nil {
		return nil, err
	}
	if p.Query == "" && p.Extensions["persistedQuery"] == nil {
		return nil, badRequest(`parameter query: missing or empty; expected a GraphQL document such as "{ dataset { version } }"`)
	}
	if strings.ContainsRune(p.Query, 0) {
		return nil, badRequest("parameter query: contains a NUL character")
	}
	return p, nil
}

func isNull(m json.RawMessage) bool {
	return len(m) == 0 || string(bytes.TrimSpace(m)) == "null"
}

// jsonProblem says what is wrong with a JSON body in a few words, with
// the offset, without quoting the body.
func jsonProblem(err error) string {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("%s (at byte %d)", truncate(se.Error(), 120), se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "it ends before its object is closed"
	}
	return truncate(err.Error(), 120)
}

// truncate cuts s to at most n bytes on a rune boundary, saying so.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// writeRequestError answers a request that never reached GraphQL: one
// error, no data entry.
func writeRequestError(w http.ResponseWriter, status int, code, msg string) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", ContentTypeJSON)
	}
	writeResponse(w, status, &graphql.Response{Errors: gqlerror.List{{Message: msg, Extensions: map[string]any{"code": code}}}})
}

// writeContextEnded answers a request whose context ended before gqlgen
// answered: its time limit passed (TIMEOUT) or its client left
// (UNAVAILABLE; nobody reads it, but a proxy may log it).
func writeContextEnded(w http.ResponseWriter, ctx context.Context) {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		writeRequestErrorCode(w, http.StatusGatewayTimeout, indicator.CodeTimeout, "the request took longer than its time limit and was stopped")
		return
	}
	writeRequestErrorCode(w, http.StatusServiceUnavailable, indicator.CodeUnavailable, "the request was cancelled")
}

func writeRequestErrorCode(w http.ResponseWriter, status int, code indicator.Code, msg string) {
	writeRequestError(w, status, string(code), msg)
}

// response is graphql.Response with data left out when the operation
// never ran (a request error), as the spec asks.
type response struct {
	Errors     gqlerror.List   `json:"errors,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
	Extensions map[string]any  `json:"extensions,omitempty"`
}

func writeResponse(w http.ResponseWriter, status int, r *graphql.Response) {
	b, err := json.Marshal(response{Errors: r.Errors, Data: r.Data, Extensions: r.Extensions})
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}`)
	}
	w.WriteHeader(status)
	w.Write(b)
}
