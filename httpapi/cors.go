package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// corsMaxAge is how long a browser may reuse a preflight answer.
const corsMaxAge = 10 * time.Minute

// CORS lets pages from the allowed origins call the API from a browser:
// an allowed Origin is echoed in Access-Control-Allow-Origin ("*" allows
// every origin), and a preflight (OPTIONS with
// Access-Control-Request-Method) is answered 204 with the methods and
// headers the API takes. A preflight from another origin is answered 403
// without those headers, so the browser refuses the call. With no
// origins CORS is off: next sees every request, OPTIONS included, as
// before.
func CORS(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	anyOrigin := false
	allowed := map[string]bool{}
	for _, o := range origins {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "*" {
			anyOrigin = true
		}
		allowed[strings.ToLower(o)] = true
	}
	const methods = "GET, POST, OPTIONS"
	const headers = "Content-Type, Accept, Authorization, X-Request-Id, Cache-Control, If-None-Match, Apollographql-Client-Name, Apollographql-Client-Version"
	const exposed = "X-Request-Id, X-Chiso-Cache, X-Chiso-Dataset-Version, ETag, Content-Disposition"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		h.Add("Vary", "Origin")
		ok := origin != "" && (anyOrigin || allowed[strings.ToLower(origin)])
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			if !ok {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", methods)
			h.Set("Access-Control-Allow-Headers", headers)
			h.Set("Access-Control-Max-Age", strconv.Itoa(int(corsMaxAge.Seconds())))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if ok {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", exposed)
		}
		next.ServeHTTP(w, r)
	})
}
