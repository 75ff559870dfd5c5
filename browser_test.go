package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"chiso/web"
)

// The browser tests drive Debian's headless Chromium against the real
// server on 127.0.0.1, with every request to another host failed (and
// counted: the tests require none). They skip when Chromium is absent,
// unless CHISO_REQUIRE_BROWSER=1 (as .ci/run sets), and save screenshots
// to CHISO_SCREENSHOTS (default: a new temporary directory, logged).

// chromium finds the browser: CHISO_CHROMIUM, else chromium or
// chromium-browser on PATH.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHISO_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (chromium or chromium-browser on PATH, or CHISO_CHROMIUM): install it with `apt-get install -y chromium` to run the browser tests"
	if os.Getenv("CHISO_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + "; CHISO_REQUIRE_BROWSER=1 requires them")
	}
	t.Skip(msg)
	return ""
}

var shotDir = sync.OnceValues(func() (string, error) {
	if d := os.Getenv("CHISO_SCREENSHOTS"); d != "" {
		return d, os.MkdirAll(d, 0o755)
	}
	return os.MkdirTemp("", "chiso-screenshots-")
})

// page is one browser tab on a chiso server, with the network guarded.
type page struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu       sync.Mutex
	requests []string // every URL the page asked for
	blocked  []string // those failed for not being on 127.0.0.1
	errors   []string // JavaScript exceptions and console errors

	guardTest bool // the test checks the guard itself
}

func newPage(t *testing.T, base string) *page {
	t.Helper()
	exe := chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("hide-scrollbars", true),
		// A second wall: no name resolves but 127.0.0.1's.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	p := &page{t: t, ctx: ctx, base: base}
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *fetch.EventRequestPaused:
			go p.decide(e)
		case *network.EventRequestWillBeSent:
			p.mu.Lock()
			p.requests = append(p.requests, e.Request.URL)
			p.mu.Unlock()
		case *runtime.EventExceptionThrown:
			p.mu.Lock()
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			p.errors = append(p.errors, fmt.Sprintf("%s (%s:%d)", msg, d.URL, d.LineNumber))
			p.mu.Unlock()
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				p.mu.Lock()
				p.errors = append(p.errors, "console.error: "+strings.Join(parts, " "))
				p.mu.Unlock()
			}
		}
	}), "starting %s", exe)
	_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
	require.NoError(t, err)
	_, err = chromedp.Call(ctx, runtime.Enable, cdp.Empty{})
	require.NoError(t, err)
	_, err = chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*"}}})
	require.NoError(t, err)
	t.Cleanup(func() {
		if !p.guardTest {
			p.checkNetwork()
		}
	})
	return p
}

// decide lets a request through if it is for 127.0.0.1, else fails it.
func (p *page) decide(e *fetch.EventRequestPaused) {
	u, err := url.Parse(e.Request.URL)
	if err == nil && (u.Scheme == "data" || u.Scheme == "blob" || u.Hostname() == "127.0.0.1") {
		_, _ = chromedp.Call(p.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID})
		return
	}
	p.mu.Lock()
	p.blocked = append(p.blocked, e.Request.URL)
	p.mu.Unlock()
	_, _ = chromedp.Call(p.ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: e.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
}

// checkNetwork requires that the page asked for nothing off the machine
// and threw no error.
func (p *page) checkNetwork() {
	p.mu.Lock()
	defer p.mu.Unlock()
	require.Empty(p.t, p.blocked, "requests to hosts other than 127.0.0.1")
	require.NotEmpty(p.t, p.requests, "the page made no request at all: the guard saw nothing")
	for _, r := range p.requests {
		u, err := url.Parse(r)
		require.NoError(p.t, err)
		require.True(p.t, u.Scheme == "data" || u.Scheme == "blob" || u.Hostname() == "127.0.0.1", "request to %s", r)
	}
	require.Empty(p.t, p.errors, "JavaScript errors")
}

func (p *page) run(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	require.NoError(p.t, chromedp.Do(p.ctx, steps...))
}

// get runs an action that returns a value.
func get[T any](p *page, a chromedp.Action[T]) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, a)
	require.NoError(p.t, err)
	return v
}

// open loads an explorer URL and waits for its view to be drawn.
func (p *page) open(path, view string) {
	p.t.Helper()
	p.run(chromedp.Navigate(p.base+path), chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`main[data-ready=%q]`, view))))
}

func (p *page) eval(js string, out any) {
	p.t.Helper()
	b := get(p, chromedp.Evaluate[json.RawMessage](js))
	require.NoError(p.t, json.Unmarshal(b, out), js)
}

func (p *page) text(sel string) string {
	p.t.Helper()
	return get(p, chromedp.Text(chromedp.CSS(sel)))
}

func (p *page) screenshot(name string) {
	p.t.Helper()
	dir, err := shotDir()
	require.NoError(p.t, err)
	png := get(p, chromedp.CaptureScreenshot())
	f := filepath.Join(dir, name+".png")
	require.NoError(p.t, os.WriteFile(f, png, 0o644))
	p.t.Logf("screenshot %s", f)
}

// hover moves the mouse to the centre of the element sel finds.
func (p *page) hover(sel string) {
	p.t.Helper()
	var box []float64
	p.eval(fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`, sel), &box)
	p.run(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box[0], box[1]))
}

// TestBrowserGraphiQL loads / with the network off the machine blocked,
// runs the first preloaded README question by clicking, and reads the
// answer from the result pane.
func TestBrowserGraphiQL(t *testing.T) {
	s := startServer(t)
	p := newPage(t, s.base)
	p.run(chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.CSS(`.graphiql-execute-button`)))

	var examples []struct{ Title, Query string }
	b, err := os.ReadFile("web/src/examples.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &examples))
	var tabs []string
	p.eval(`[...document.querySelectorAll('.graphiql-tab')].map((t) => t.textContent.trim())`, &tabs)
	require.Len(t, tabs, len(examples), "one tab per README question")

	p.run(chromedp.Click(chromedp.CSS(`.graphiql-execute-button`)))
	result := get(p, chromedp.Poll[string](`(() => { const cm = document.querySelector('.result-window .CodeMirror'); const v = cm && cm.CodeMirror.getValue(); return v && v.includes('"data"') ? v : null; })()`, chromedp.WithPollingTimeout(20*time.Second)))
	var answer struct {
		Data struct {
			Trend struct {
				Points []struct {
					Period struct{ Label string }
					Value  float64
					Change *struct{ CrossesBreak bool }
				}
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(result), &answer), result)
	// Phong Thổ's poverty rate to 2023, document 002_216ab9d5d6ee3cb7:
	// 25.64 (2019) and 22.43 (2020) on line 173, under the 2016–2020
	// standard; 48.42, 43.81, 37.93 (2021–2023) on line 175, under the
	// 2021–2025 standard, so the 2020→2021 change crosses the break.
	var got []string
	for _, pt := range answer.Data.Trend.Points {
		got = append(got, fmt.Sprintf("%s=%g/%v", pt.Period.Label, pt.Value, pt.Change != nil && pt.Change.CrossesBreak))
	}
	require.Equal(t, []string{"2019=25.64/false", "2020=22.43/false", "2021=48.42/true", "2022=43.81/false", "2023=37.93/false"}, got)
	p.screenshot("graphiql")
}

// districts are Lai Châu's eight districts (datasets/laichau/units.csv).
var districts = []string{
	"vn.lai-chau.muong-te", "vn.lai-chau.nam-nhun", "vn.lai-chau.phong-tho", "vn.lai-chau.sin-ho",
	"vn.lai-chau.tam-duong", "vn.lai-chau.tan-uyen", "vn.lai-chau.than-uyen", "vn.lai-chau.tp-lai-chau",
}

// TestBrowserExplorer opens each view of /explore on the embedded data
// and checks what it shows.
func TestBrowserExplorer(t *testing.T) {
	s := startServer(t)
	p := newPage(t, s.base)

	t.Run("series", func(t *testing.T) {
		p.t = t
		p.open("/explore?view=series&unit=vn.lai-chau.phong-tho&ind=poverty_rate", "series")
		var pts []string
		p.eval(`[...document.querySelectorAll('circle.pt')].map((c) => c.dataset.period + '=' + c.dataset.value)`, &pts)
		// Document 002_216ab9d5d6ee3cb7: line 173 gives 25,64% (2019) and
		// 22,43% (2020); line 175 48,42%, 43,81%, 37,93% (2021–2023);
		// line 25 37,93% as the 2024 rate.
		require.Equal(t, []string{"2019=25.64", "2020=22.43", "2021=48.42", "2022=43.81", "2023=37.93", "2024=37.93"}, pts)
		var breaks []string
		p.eval(`[...document.querySelectorAll('g.break')].map((b) => b.dataset.break)`, &breaks)
		require.Equal(t, []string{"poverty_2021_2025"}, breaks, "one methodology break, between 2020 and 2021")
		p.hover(`circle.pt[data-period="2021"]`)
		p.run(chromedp.WaitVisible(chromedp.CSS(`#tip`)))
		tip := p.text(`#tip`)
		for _, want := range []string{"2021", "48,42 %", `"48,42%"`, "poverty_2021_2025", "002_216ab9d5d6ee3cb7", "dòng 175"} {
			require.Contains(t, tip, want)
		}
		cell := p.text(`#observations tr[data-period="2023"] td.num`)
		require.Equal(t, "37,93 %", cell, "Vietnamese number format")
		p.screenshot("explore-series")

		p.run(chromedp.Click(chromedp.CSS(`button[data-lang=en]`)), chromedp.WaitVisible(chromedp.CSS(`main[data-ready=series]`)))
		loc := get(p, chromedp.Location())
		cell = p.text(`#observations tr[data-period="2023"] td.num`)
		require.Contains(t, loc, "lang=en", "the language is in the permalink")
		require.Equal(t, "37.93%", cell)
	})

	t.Run("unit", func(t *testing.T) {
		p.t = t
		p.open("/explore?view=unit&unit=vn.lai-chau.phong-tho", "unit")
		d := gqlData(t, s.base, `{ unit(code: "vn.lai-chau.phong-tho") { indicators { code } } }`)
		want := len(d["unit"].(map[string]any)["indicators"].([]any))
		var rows int
		p.eval(`document.querySelectorAll('tr[data-indicator]').length`, &rows)
		require.Equal(t, want, rows, "one row per indicator the unit has")
		var row []string
		p.eval(`(() => { const r = document.querySelector('tr[data-indicator=poverty_rate]'); return [r.closest('details').dataset.theme, String(r.querySelectorAll('svg.spark polyline').length), r.querySelector('td.num').textContent]; })()`, &row)
		require.Equal(t, []string{"poverty", "1", "37,93 %"}, row, "theme, sparkline, latest value")
		p.screenshot("explore-unit")

		// The filter folds diacritics: "ho ngheo" finds "hộ nghèo".
		p.run(chromedp.SendKeys(chromedp.CSS(`#filter`), "ty le ho ngheo\r"))
		found := get(p, chromedp.Poll[[]string](`(() => { const r = [...document.querySelectorAll('tr[data-indicator]')].map((r) => r.dataset.indicator); return r.length && location.search.includes('filter=') ? r : null; })()`, chromedp.WithPollingTimeout(10*time.Second)))
		require.Contains(t, found, "poverty_rate")
	})

	t.Run("tree and search", func(t *testing.T) {
		p.t = t
		p.open("/explore", "unit")
		var names []string
		p.run(chromedp.WaitVisible(chromedp.CSS(`#tree li[data-code="vn.lai-chau.phong-tho"]`)),
			chromedp.Click(chromedp.CSS(`#tree li[data-code="vn.lai-chau.phong-tho"] > button.tw`)),
			chromedp.WaitVisible(chromedp.CSS(`#tree li[data-code="vn.lai-chau.phong-tho.ban-lang"]`)))
		p.eval(`[...document.querySelectorAll('#tree li[data-code="vn.lai-chau.phong-tho"] > ul > li')].map((l) => l.dataset.code)`, &names)
		// The tree shows the units of 2025-06-30: Phong Thổ's 17 communes in
		// the register (gso-units-20250301), Bản Lang and Sìn Suối Hồ among them.
		require.Len(t, names, 17, "Phong Thổ's communes")
		require.Subset(t, names, []string{"vn.lai-chau.phong-tho.ban-lang", "vn.lai-chau.phong-tho.sin-suoi-ho"})
		p.run(chromedp.SendKeys(chromedp.CSS(`#search`), "phong tho"),
			chromedp.WaitVisible(chromedp.CSS(`#results li`)))
		hits := p.text(`#results`)
		require.Contains(t, hits, "Phong Thổ", "search ignores diacritics")
	})

	t.Run("compare", func(t *testing.T) {
		p.t = t
		p.open("/explore?view=compare&unit=vn.lai-chau&ind=poverty_rate", "compare")
		var ranked [][]string
		p.eval(`[...document.querySelectorAll('#ranking tbody tr')].map((r) => [r.dataset.unit, r.dataset.rank, r.children[2].textContent])`, &ranked)
		// Only Phong Thổ has a district poverty rate: 37,93% for 2024
		// (002_216ab9d5d6ee3cb7 line 25), its latest.
		require.Equal(t, [][]string{{"vn.lai-chau.phong-tho", "1", "37,93 %"}}, ranked)
		var missing []string
		p.eval(`[...document.querySelectorAll('#missing li')].map((l) => l.dataset.unit).sort()`, &missing)
		require.Equal(t, slices.DeleteFunc(slices.Clone(districts), func(c string) bool { return c == "vn.lai-chau.phong-tho" }), missing, "the seven other districts, listed as missing")
		var nbars int
		p.eval(`document.querySelectorAll('svg.bars g.bar').length`, &nbars)
		require.Equal(t, 1, nbars)
		p.checkDownload("compare", s.base)
		p.screenshot("explore-compare")
	})

	t.Run("map", func(t *testing.T) {
		p.t = t
		p.open("/explore?view=map&ind=poverty_rate", "map")
		var drawn [][]string
		p.eval(`[...document.querySelectorAll('svg#map path.district')].map((p) => [p.dataset.code, p.classList.contains('missing') ? 'missing' : p.getAttribute('fill'), String(p.getAttribute('d').length > 100)])`, &drawn)
		require.Len(t, drawn, 8, "Lai Châu's eight districts")
		var codes []string
		for _, d := range drawn {
			codes = append(codes, d[0])
			require.Equal(t, "true", d[2], "%s has a shape", d[0])
			if d[0] == "vn.lai-chau.phong-tho" {
				require.NotEqual(t, "missing", d[1], "Phong Thổ has a value")
			} else {
				require.Equal(t, "missing", d[1], "%s has no district poverty rate", d[0])
			}
		}
		slices.Sort(codes)
		require.Equal(t, districts, codes)
		p.checkDownload("compare", s.base)
		p.screenshot("explore-map")
	})
}

// checkDownload requires the view's download link to be an /export URL
// whose GraphQL query answers without errors, with the first list the
// export writes (data.<root>.rows) non-empty.
func (p *page) checkDownload(root, base string) {
	p.t.Helper()
	var href string
	p.eval(`document.querySelector('#download').getAttribute('href')`, &href)
	u, err := url.Parse(href)
	require.NoError(p.t, err)
	require.Equal(p.t, "/export", u.Path)
	require.Equal(p.t, "csv", u.Query().Get("format"))
	d := gqlData(p.t, base, u.Query().Get("query"))
	rows := d[root].(map[string]any)["rows"].([]any)
	require.NotEmpty(p.t, rows)
}

// TestWebAssetsServed checks the embedded pages and bundles are served by
// the real server, and that the pages load nothing from elsewhere.
func TestWebAssetsServed(t *testing.T) {
	s := startServer(t)
	for _, path := range []string{"/", "/explore"} {
		body := httpGet(t, s.base+path)
		require.NotContains(t, body, "//cdn", path)
		require.NotContains(t, body, "https://", path)
		require.Contains(t, body, "/assets/", path)
	}
	m, err := web.Manifest()
	require.NoError(t, err)
	for name := range m.Outputs {
		if strings.HasSuffix(name, ".html") {
			continue
		}
		require.NotEmpty(t, httpGet(t, s.base+"/assets/"+name), name)
	}
	require.Contains(t, httpGet(t, s.base+"/assets/lai-chau-districts.geo.json"), `"source":"gis-lai-chau-districts"`)
}

// gqlData runs query and returns its data, requiring no errors.
func gqlData(t *testing.T, base, query string) map[string]any {
	t.Helper()
	out := gql(t, base, query)
	require.Nil(t, out["errors"], query)
	return out["data"].(map[string]any)
}

func httpGet(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, u)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// TestExamplesAnswer runs every question GraphiQL preloads (the README's,
// web/src/examples.json) as its tab sends it, and requires an answer
// without errors.
func TestExamplesAnswer(t *testing.T) {
	s := startServer(t)
	b, err := os.ReadFile("web/src/examples.json")
	require.NoError(t, err)
	var examples []struct{ Title, Name, Query string }
	require.NoError(t, json.Unmarshal(b, &examples))
	require.Len(t, examples, 10, "the README's ten questions")
	for _, e := range examples {
		d := gqlData(t, s.base, "# "+e.Title+"\nquery "+e.Name+" "+e.Query)
		for field, v := range d {
			require.NotNil(t, v, "%s: %s is null", e.Name, field)
		}
	}
}

// TestBrowserGuardBlocks shows the guard at work: a page on 127.0.0.1
// that asks for an image from another host gets it failed, and the
// request is counted.
func TestBrowserGuardBlocks(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<!doctype html><p id=p>x</p><img id=i src="http://example.invalid/pixel.png" onerror="document.getElementById('p').textContent='failed'">`)
	}))
	defer srv.Close()
	p := newPage(t, srv.URL)
	p.guardTest = true
	p.run(chromedp.Navigate(srv.URL + "/"))
	require.Equal(t, "failed", get(p, chromedp.Poll[string](`document.getElementById('p').textContent === 'failed' ? 'failed' : null`, chromedp.WithPollingTimeout(10*time.Second))))
	p.mu.Lock()
	defer p.mu.Unlock()
	require.Equal(t, []string{"http://example.invalid/pixel.png"}, p.blocked)
}
