package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/gateway"
)

// gwSite is the Mycosite the gateway tests serve.
var gwSite = map[string]string{
	"index.html":     `<!DOCTYPE html><html><head><link rel="stylesheet" href="css/style.css"></head><body><a href="sub/page.html">page</a></body></html>`,
	"css/style.css":  "body { color: #333 }\n",
	"sub/page.html":  `<html><body><a href="../index.html">home</a></body></html>`,
	"js/app.js":      "console.log('hi')\n",
	"data":           "\x89PNG\r\n\x1a\n" + strings.Repeat("\x00binary", 100),
	"docs/a b.txt":   "spaces\n",
	"docs/<x>&y.txt": "escape me\n",
	"big/range.txt":  strings.Repeat("0123456789", 300000),
}

type gwFixture struct {
	t    *testing.T
	n    *node.Node
	srv  *httptest.Server
	port string
	pkg  string // package CID of gwSite
	hc   *http.Client
}

func newGatewayFixture(t *testing.T) *gwFixture {
	t.Helper()
	n, err := node.New(node.Config{Home: t.TempDir(), StoreNoSync: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	res, err := n.Add(t.Context(), apitype.AddRequest{Path: gwWriteTree(t, gwSite), Title: "Test <site>"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(n.GatewayHandler())
	t.Cleanup(srv.Close)
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &gwFixture{t: t, n: n, srv: srv, port: port, pkg: res.Package, hc: hc}
}

// origin is the Host of package pkg's own origin on the test server.
func (f *gwFixture) origin(pkg string) string { return pkg + ".localhost:" + f.port }

func gwWriteTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// get requests rawPath (sent as is) with the given Host ("" = the server's).
func (f *gwFixture) get(host, rawPath string, hdr ...string) (*http.Response, string) {
	f.t.Helper()
	req, err := http.NewRequest("GET", f.srv.URL+"/", nil)
	if err != nil {
		f.t.Fatal(err)
	}
	req.URL.Opaque = rawPath // no client-side cleaning or escaping
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.hc.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp, string(b)
}

func TestGatewayPackageOrigin(t *testing.T) {
	f := newGatewayFixture(t)
	origin := f.origin(f.pkg)
	styleStat, err := f.n.Stat(t.Context(), "myco://"+f.pkg+"/css/style.css")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		path     string
		status   int
		ctype    string // prefix
		body     string // exact, if set
		contains string
		location string
	}{
		{"root index", "/", 200, "text/html", gwSite["index.html"], "", ""},
		{"css", "/css/style.css", 200, "text/css", gwSite["css/style.css"], "", ""},
		{"js", "/js/app.js", 200, "text/javascript", gwSite["js/app.js"], "", ""},
		{"sniffed", "/data", 200, "image/png", gwSite["data"], "", ""},
		{"escaped name", "/docs/a%20b.txt", 200, "text/plain", gwSite["docs/a b.txt"], "", ""},
		{"index by name", "/index.html", 200, "text/html", gwSite["index.html"], "", ""},
		{"file with slash", "/index.html/", 301, "", "", "", "/index.html"},
		{"dir redirect", "/sub", 301, "", "", "", "/sub/"},
		{"dir redirect keeps query", "/sub?a=1", 301, "", "", "", "/sub/?a=1"},
		{"listing", "/sub/", 200, "text/html", "", `<a href="page.html">page.html</a>`, ""},
		{"listing escapes", "/docs/", 200, "text/html", "", `<a href="%3Cx%3E&amp;y.txt">&lt;x&gt;&amp;y.txt</a>`, ""},
		{"listing links spaces", "/docs/", 200, "text/html", "", `<a href="a%20b.txt">a b.txt</a>`, ""},
		{"missing path", "/nope.html", 404, "text/html", "", "no such path in package: nope.html<", ""},
		{"missing in sub", "/sub/nope/deeper", 404, "text/html", "", "no such path in package: sub/nope/deeper (&#34;sub/nope&#34; does not exist)<", ""},
		{"below a file", "/index.html/x", 404, "text/html", "", "not a directory: index.html/x (&#34;index.html&#34; is not a directory)<", ""},
		{"dotdot", "/sub/../index.html", 400, "text/html", "", "not allowed", ""},
		{"dotdot at root", "/../../etc/passwd", 400, "text/html", "", "", ""},
		{"encoded dotdot", "/sub/%2e%2e/index.html", 400, "text/html", "", "", ""},
		{"encoded slash", "/sub%2Fpage.html", 400, "text/html", "", "slash", ""},
		{"dot", "/./index.html", 400, "text/html", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.get(origin, tt.path)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.ctype) {
				t.Errorf("content type %q, want %q", ct, tt.ctype)
			}
			if tt.body != "" && body != tt.body {
				t.Errorf("body %.200q", body)
			}
			if tt.contains != "" && !strings.Contains(body, tt.contains) {
				t.Errorf("body lacks %q: %s", tt.contains, body)
			}
			if loc := resp.Header.Get("Location"); loc != tt.location {
				t.Errorf("location %q, want %q", loc, tt.location)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); csp != "" {
				t.Errorf("the package's own origin got a CSP %q", csp)
			}
		})
	}

	// Caching headers and conditional requests.
	resp, _ := f.get(origin, "/css/style.css")
	etag := `"` + styleStat.CID.String() + `"`
	if resp.Header.Get("Etag") != etag || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("headers %v", resp.Header)
	}
	resp, body := f.get(origin, "/css/style.css", "If-None-Match", etag)
	if resp.StatusCode != 304 || body != "" {
		t.Errorf("If-None-Match: %d %q", resp.StatusCode, body)
	}
	resp, _ = f.get(origin, "/docs/")
	if et := resp.Header.Get("Etag"); et == "" {
		t.Errorf("listing without ETag")
	} else if resp, _ := f.get(origin, "/docs/", "If-None-Match", et); resp.StatusCode != 304 {
		t.Errorf("listing If-None-Match: %d", resp.StatusCode)
	}

	// HEAD works; other methods do not.
	req, _ := http.NewRequest("HEAD", f.srv.URL+"/css/style.css", nil)
	req.Host = origin
	if resp, err := f.hc.Do(req); err != nil || resp.StatusCode != 200 || resp.ContentLength != int64(len(gwSite["css/style.css"])) {
		t.Errorf("HEAD: %v %v", resp, err)
	}
	req, _ = http.NewRequest("POST", f.srv.URL+"/", strings.NewReader("x"))
	req.Host = origin
	if resp, err := f.hc.Do(req); err != nil || resp.StatusCode != 405 {
		t.Errorf("POST: %v %v", resp, err)
	}
}

// TestGatewayPathFormRedirects checks that every shared-origin form moves
// to the package's own origin: served on a shared origin, a site's own
// fetch and storage fail under a CSP sandbox (issue 10, item 19), and
// without one it would read every other package's data.
func TestGatewayPathFormRedirects(t *testing.T) {
	f := newGatewayFixture(t)
	origin := "http://" + f.origin(f.pkg)
	c, _ := cid.Decode(f.pkg)
	b58, _ := c.StringOfBase('z')
	b36, _ := c.StringOfBase('k') // lowercase, as a host
	for _, tt := range []struct{ host, path, location string }{
		{"127.0.0.1:" + f.port, "/myco/" + f.pkg + "/", origin + "/"},
		{"127.0.0.1:" + f.port, "/myco/" + f.pkg, origin + "/"},
		{"127.0.0.1:" + f.port, "/myco/" + f.pkg + "/css/style.css?v=1", origin + "/css/style.css?v=1"},
		{"127.0.0.1:" + f.port, "/myco/" + f.pkg + "/docs/a%20b.txt", origin + "/docs/a%20b.txt"},
		{"127.0.0.1:" + f.port, "/myco/" + b58 + "/sub/", origin + "/sub/"},
		{"localhost:" + f.port, "/myco/" + f.pkg + "/sub/page.html", origin + "/sub/page.html"},
		{"[::1]:" + f.port, "/myco/" + f.pkg + "/", origin + "/"},
		{"127.0.0.2", "/myco/" + f.pkg + "/", "http://" + f.pkg + ".localhost/"},
		// The former per-package host, and other spellings of the CID.
		{f.pkg + ".myco" + ".localhost:" + f.port, "/css/style.css?v=2", origin + "/css/style.css?v=2"},
		{b36 + ".localhost:" + f.port, "/sub/", origin + "/sub/"},
	} {
		resp, body := f.get(tt.host, tt.path)
		if resp.StatusCode != 301 || resp.Header.Get("Location") != tt.location {
			t.Errorf("%s%s: %d %q, want 301 to %q: %s", tt.host, tt.path, resp.StatusCode, resp.Header.Get("Location"), tt.location, body)
		}
	}
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/myco/notacid/", 400},
		{"/myco/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA/", 400},
		{"/ipfs/" + f.pkg, 404},
	} {
		if resp, body := f.get("", tt.path); resp.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d: %s", tt.path, resp.StatusCode, tt.status, body)
		}
	}
}

func TestGatewayRange(t *testing.T) {
	f := newGatewayFixture(t)
	big := gwSite["big/range.txt"]
	p := "/big/range.txt"
	for _, r := range []struct{ from, to int }{{0, 0}, {100, 199}, {1048570, 1048589}, {len(big) - 10, len(big) - 1}} {
		resp, body := f.get(f.origin(f.pkg), p, "Range", fmt.Sprintf("bytes=%d-%d", r.from, r.to))
		if resp.StatusCode != 206 {
			t.Fatalf("range %v: status %d", r, resp.StatusCode)
		}
		if cr, want := resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-%d/%d", r.from, r.to, len(big)); cr != want {
			t.Errorf("Content-Range %q, want %q", cr, want)
		}
		if body != big[r.from:r.to+1] {
			t.Errorf("range %v: wrong bytes", r)
		}
	}
	resp, _ := f.get(f.origin(f.pkg), p, "Range", fmt.Sprintf("bytes=%d-", len(big)+5))
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("unsatisfiable range: %d", resp.StatusCode)
	}
	resp, body := f.get(f.origin(f.pkg), p)
	if resp.StatusCode != 200 || body != big || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("whole file: %d, %d bytes", resp.StatusCode, len(body))
	}
}

func TestGatewaySubdomain(t *testing.T) {
	f := newGatewayFixture(t)
	origin := f.origin(f.pkg)
	resp, body := f.get(origin, "/")
	if resp.StatusCode != 200 || body != gwSite["index.html"] {
		t.Fatalf("root: %d %q", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); csp != "" {
		t.Errorf("the package's own origin got a sandbox: %q", csp)
	}
	resp, body = f.get(origin, "/css/style.css")
	if resp.StatusCode != 200 || body != gwSite["css/style.css"] || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("css: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	resp, _ = f.get(origin, "/sub")
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "/sub/" {
		t.Errorf("dir redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = f.get(origin, "/sub/page.html")
	if resp.StatusCode != 200 {
		t.Errorf("page: %d", resp.StatusCode)
	}
	resp, _ = f.get(origin, "/../index.html")
	if resp.StatusCode != 400 {
		t.Errorf("escape from the subdomain root: %d", resp.StatusCode)
	}
	for _, h := range []string{"notacid.localhost", "notacid.myco.localhost", "a." + f.pkg + ".localhost", "12d3koowd3eckifwprn9wqpmg9r9hx3sd158z7eqhwmweqaju5sa.localhost"} {
		if resp, _ := f.get(h+":"+f.port, "/"); resp.StatusCode != 400 {
			t.Errorf("bad label %s: %d", h, resp.StatusCode)
		}
	}
	resp, _ = f.get("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy.localhost:"+f.port, "/")
	if resp.StatusCode != 404 {
		t.Errorf("unknown package: %d", resp.StatusCode)
	}
	// The uppercase form of the host is the same origin.
	resp, _ = f.get(strings.ToUpper(f.pkg)+".LOCALHOST:"+f.port, "/css/style.css")
	if resp.StatusCode != 200 {
		t.Errorf("uppercase host: %d", resp.StatusCode)
	}

	// Only loopback hosts.
	for _, h := range []string{"evil.example", "evil.example:" + f.port, "192.168.1.1:" + f.port, f.pkg + ".evil.example", f.pkg + ".localhost.evil.example"} {
		for _, p := range []string{"/myco/" + f.pkg + "/", "/"} {
			if resp, _ := f.get(h, p); resp.StatusCode != 403 {
				t.Errorf("host %q %s: %d", h, p, resp.StatusCode)
			}
		}
	}
}

func TestGatewayHomeEntryAndFiles(t *testing.T) {
	f := newGatewayFixture(t)
	ctx := t.Context()
	// A site without index.html whose metadata names an entry page.
	dir := gwWriteTree(t, map[string]string{"start/here.html": "<p>start</p>", "other.txt": "x"})
	entryPkg, err := f.n.Add(ctx, apitype.AddRequest{Path: dir, Title: "Entry site", Entry: "start/here.html"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := f.get(f.origin(entryPkg.Package), "/")
	if want := "/start/here.html"; resp.StatusCode != 301 || resp.Header.Get("Location") != want {
		t.Errorf("entry redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := f.get(f.origin(entryPkg.Package), "/start/")
	if resp.StatusCode != 200 || !strings.Contains(body, "here.html") {
		t.Errorf("listing below the root: %d", resp.StatusCode)
	}

	// A package of a single file.
	file := filepath.Join(gwWriteTree(t, map[string]string{"song.txt": "la la"}), "song.txt")
	filePkg, err := f.n.Add(ctx, apitype.AddRequest{Path: file, Title: "Song"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/"} {
		if resp, body := f.get(f.origin(filePkg.Package), p); resp.StatusCode != 200 || body != "la la" {
			t.Errorf("%s: %d %q", p, resp.StatusCode, body)
		}
	}

	// The home page lists the pinned packages, linking to their origins.
	resp, body = f.get("", "/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("home: %d", resp.StatusCode)
	}
	for _, want := range []string{
		`href="http://` + f.pkg + `.localhost:` + f.port + `/">Test &lt;site&gt;</a>`,
		`>Entry site</a>`,
		`>Song</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("home lacks %q:\n%s", want, body)
		}
	}
	if strings.Index(body, "Entry site") > strings.Index(body, "Song") {
		t.Errorf("home not sorted by title")
	}
}

func TestGatewayURL(t *testing.T) {
	f := newGatewayFixture(t)
	c, _ := cid.Decode(f.pkg)
	if got, want := f.n.GatewayURL(c, "docs/a b.txt"), "http://"+f.pkg+".localhost:8190/docs/a%20b.txt"; got != want {
		t.Errorf("GatewayURL %q, want %q", got, want)
	}
	if got, want := f.n.GatewayURL(c, ""), "http://"+f.pkg+".localhost:8190/"; got != want {
		t.Errorf("GatewayURL %q, want %q", got, want)
	}
	// The URL works against the gateway (with the test server's port).
	u := strings.Replace(f.n.GatewayURL(c, "docs/a b.txt"), ":8190", ":"+f.port, 1)
	host, p, _ := strings.Cut(strings.TrimPrefix(u, "http://"), "/")
	if resp, body := f.get(host, "/"+p); resp.StatusCode != 200 || body != gwSite["docs/a b.txt"] {
		t.Errorf("%s: %d %q", u, resp.StatusCode, body)
	}
	o, err := f.n.OpenURL(t.Context(), "myco://"+f.pkg+"/sub/page.html")
	if err != nil || o.URL != "http://"+f.pkg+".localhost:8190/sub/page.html" || o.Stale {
		t.Errorf("OpenURL %+v %v", o, err)
	}
}

// errSource is a gatewaySource whose every call fails with err.
type errSource struct{ err error }

func (e errSource) Stat(context.Context, string) (apitype.PathStat, error) {
	return apitype.PathStat{}, e.err
}
func (e errSource) OpenFile(context.Context, string) (apitype.ReadSeekCloser, apitype.PathStat, error) {
	return nil, apitype.PathStat{}, e.err
}
func (e errSource) Ls(context.Context, string) ([]apitype.Entry, error) { return nil, e.err }
func (e errSource) Pins(context.Context) ([]apitype.PinInfo, error)     { return nil, e.err }

func TestGatewayErrorStatuses(t *testing.T) {
	const pkg = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
	for _, tt := range []struct {
		err    error
		status int
	}{
		{fmt.Errorf("%w: voted remove by 93%% of 1200 voters", apitype.ErrWithheld), 451},
		{fmt.Errorf("%w: block mismatch", apitype.ErrCorrupt), 500},
		{fmt.Errorf("%w: no such path", apitype.ErrNotFound), 404},
		{fmt.Errorf("%w: bad", apitype.ErrInvalid), 400},
		{fmt.Errorf("disk on fire\nsecond line"), 500},
	} {
		g := gateway.New(errSource{tt.err}, slog.New(slog.DiscardHandler))
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", "http://"+pkg+".localhost:8190/x.html", nil))
		if rec.Code != tt.status {
			t.Errorf("%v: status %d, want %d", tt.err, rec.Code, tt.status)
		}
		body := rec.Body.String()
		if want := strings.Join(strings.Fields(tt.err.Error()), " "); !strings.Contains(body, strings.ReplaceAll(want, "%", "%")) {
			t.Errorf("page lacks the message %q: %s", want, body)
		}
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("headers %v", rec.Header())
		}
	}
}

// TestGatewayMediaTypes checks the types of the files a Mycosite is made
// of; Go's own table serves .webm as audio/webm (issue 10, item 22).
func TestGatewayMediaTypes(t *testing.T) {
	f := newGatewayFixture(t)
	want := map[string]string{
		"v.webm": "video/webm", "v.mp4": "video/mp4", "v.ogv": "video/ogg", "a.ogg": "audio/ogg",
		"a.mp3": "audio/mpeg", "a.opus": "audio/ogg", "a.flac": "audio/flac", "a.wav": "audio/wav", "a.m4a": "audio/mp4",
		"m.wasm": "application/wasm", "i.svg": "image/svg+xml", "i.webp": "image/webp", "i.avif": "image/avif",
		"f.woff2": "font/woff2", "f.woff": "font/woff", "f.ttf": "font/ttf", "d.json": "application/json",
		"s.mjs": "text/javascript; charset=utf-8", "s.js": "text/javascript; charset=utf-8",
		"c.css": "text/css; charset=utf-8", "p.html": "text/html; charset=utf-8", "t.vtt": "text/vtt; charset=utf-8",
		"m.webmanifest": "application/manifest+json", "UPPER.WEBM": "video/webm",
	}
	files := map[string]string{}
	for name := range want {
		files[name] = "x"
	}
	res, err := f.n.Add(t.Context(), apitype.AddRequest{Path: gwWriteTree(t, files), Title: "types"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, ct := range want {
		resp, _ := f.get(f.origin(res.Package), "/"+name)
		if got := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || got != ct {
			t.Errorf("%s: %d %q, want %q", name, resp.StatusCode, got, ct)
		}
	}
}
