//go:build unix

package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"chiso/config"
	"chiso/datasets"
	"chiso/graph"
	"chiso/httpapi"
	"chiso/loader"
	"chiso/store"
)

// smallSendBuffers accepts connections whose kernel send buffer is small,
// so a response the client reads slowly is written for as long as the
// client takes, not swallowed by loopback's large buffers.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// TestExportOutlivesWriteTimeout: the server's write timeout (here
// 300 ms, -timeout 200ms) bounds /graphql's answers, but an export that a
// client reads slowly streams past it, up to -export-timeout, and arrives
// whole.
func TestExportOutlivesWriteTimeout(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	cfg, err := config.ParseServe([]string{"-timeout", "200ms", "-write-timeout", "300ms"}, noEnv, serveDefaults(), io.Discard)
	require.NoError(t, err)
	st := store.New(store.Options{})
	t.Cleanup(func() { st.Close() })
	_, err = loader.New(st, loader.Options{}).Load(context.Background(), loader.Dir{Name: "embedded:laichau", FS: datasets.LaiChau()})
	require.NoError(t, err)
	log := slog.New(slog.DiscardHandler)
	api := newAPI(httpapi.Config{Timeout: cfg.Timeout, Limits: graph.DefaultLimits, QueryLimits: graph.DefaultQueryLimits,
		MaxBody: 1 << 20, HTTP: httpapi.Conventions{ExportTimeout: time.Minute}}, st, log)
	srv := newHTTPServer(cfg, api, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(smallSendBuffers{ln})
	t.Cleanup(func() { srv.Close() })

	// A client with a small receive window that reads 4 KB every 10 ms.
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext, DisableCompression: true}}
	q := `{ observations { nodes { unit { code nameVi } indicator { code nameVi } periodLabel value provenance { line raw } } } }`
	start := time.Now()
	resp, err := client.PostForm("http://"+ln.Addr().String()+"/export?format=ndjson", url.Values{"query": {q}})
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		body.Write(buf[:n])
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "the export was cut after %s and %d bytes", time.Since(start), body.Len())
		time.Sleep(10 * time.Millisecond) // the slow reader's pace
	}
	took := time.Since(start)
	info, err := st.Dataset(context.Background())
	require.NoError(t, err)
	lines := strings.Count(body.String(), "\n")
	require.Equal(t, info.Observations, lines, "every observation, one a line")
	require.Equal(t, strconv.Itoa(info.Observations), resp.Trailer.Get("X-Chiso-Export-Rows"), "the export ended properly")
	require.Greater(t, took, 3*cfg.WriteTimeout, "the export streamed well past the write timeout")
	t.Logf("%d bytes, %d rows read in %s against a write timeout of %s", body.Len(), lines, took.Round(time.Millisecond), cfg.WriteTimeout)

}
