package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// serveOn serves h on 127.0.0.1 until the test ends.
func serveOn(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestLimitBody(t *testing.T) {
	got := make(chan []byte, 1)
	url := serveOn(t, LimitBody(10, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	})))
	for _, tc := range []struct {
		name    string
		body    io.Reader
		status  int
		message string
	}{
		{"within the limit", strings.NewReader("0123456789"), http.StatusOK, ""},
		{"declared over it", strings.NewReader("0123456789x"), http.StatusRequestEntityTooLarge, "request body: 11 bytes is over the limit of 10"},
		// Without a Content-Length (chunked), the limit is found reading.
		{"sent over it", io.MultiReader(strings.NewReader("0123456"), strings.NewReader("789xyz")), http.StatusRequestEntityTooLarge, "request body: over the limit of 10 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(url, "application/json", tc.body)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tc.status, resp.StatusCode)
			if tc.status == http.StatusOK {
				require.Equal(t, "0123456789", string(<-got))
				return
			}
			require.Empty(t, got, "the handler is not called")
			require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
			var out struct {
				Errors []struct {
					Message    string
					Extensions map[string]string
				}
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
			require.Len(t, out.Errors, 1)
			require.Equal(t, tc.message, out.Errors[0].Message)
			require.Equal(t, "TOO_LARGE", out.Errors[0].Extensions["code"])
		})
	}
}

func TestTimeout(t *testing.T) {
	url := serveOn(t, Timeout(time.Millisecond, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // what DuckDB is told: the request's context ends
		io.WriteString(w, r.Context().Err().Error())
	})))
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, context.DeadlineExceeded.Error(), string(b))
}

func TestLogRequests(t *testing.T) {
	var log lockedBuffer
	seen := make(chan string, 1)
	url := serveOn(t, LogRequests(slog.New(slog.NewTextHandler(&log, nil)), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- RequestID(r.Context())
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "tea")
	})))
	resp, err := http.Get(url + "/pot")
	require.NoError(t, err)
	resp.Body.Close()
	id := resp.Header.Get("X-Request-Id")
	require.NotEmpty(t, id)
	require.Equal(t, id, <-seen, "the handler sees the id it is logged under")
	require.Contains(t, log.String(), "msg=request id="+id+" method=GET path=/pot status=418 bytes=3 elapsed=")
}

// lockedBuffer is a bytes.Buffer written by the server and read by the
// test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
