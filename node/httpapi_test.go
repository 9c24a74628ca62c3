package node_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/myconet/myconet/internal/fixture"
	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/client"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/httpapi"
	"github.com/myconet/myconet/node/nodetest"
)

const testToken = "test-token-0123456789"

// fakeAPI is a node.API with canned answers. Refs select errors: "missing"
// (not found), "bad" (invalid), "withheld", "corrupt".
type fakeAPI struct {
	addProgress int    // progress calls Add makes before answering
	addFailLate bool   // Add fails after its progress calls
	export      []byte // what Export writes
	exportErr   error  // returned by Export after writing export
	bookmarks   []apitype.Bookmark
	lastReq     apitype.AddRequest
	config      map[string]string
}

var _ apitype.API = (*fakeAPI)(nil)

func refErr(ref string) error {
	switch ref {
	case "missing":
		return fmt.Errorf("%w: %s: no such package", apitype.ErrNotFound, ref)
	case "bad":
		return fmt.Errorf("%w: %s: malformed MRI", apitype.ErrInvalid, ref)
	case "withheld":
		return fmt.Errorf("%w: voted remove 80%%", apitype.ErrWithheld)
	case "corrupt":
		return fmt.Errorf("%w: block bafy... does not match its hash", apitype.ErrCorrupt)
	case "plain":
		return errors.New("some internal failure\nwith a second line")
	}
	return nil
}

func (f *fakeAPI) ID(ctx context.Context) (apitype.IDInfo, error) {
	return apitype.IDInfo{PeerID: "12D3KooWfake", Address: "fd6d:7963::1", PublicKey: "AAAA"}, nil
}
func (f *fakeAPI) Status(ctx context.Context) (apitype.Status, error) {
	return apitype.Status{}, fmt.Errorf("%w: offline", apitype.ErrNoDaemon)
}
func (f *fakeAPI) Add(ctx context.Context, req apitype.AddRequest, progress func(apitype.Progress)) (apitype.AddResult, error) {
	f.lastReq = req
	if err := refErr(req.Path); err != nil && !f.addFailLate {
		return apitype.AddResult{}, err
	}
	for i := range f.addProgress {
		if progress != nil {
			progress(apitype.Progress{Bytes: int64(i), Total: int64(f.addProgress)})
		}
	}
	if f.addFailLate {
		return apitype.AddResult{}, fmt.Errorf("%w: add: 10 GB needed", apitype.ErrQuota)
	}
	return apitype.AddResult{MRI: "myco://bafyfake", Package: "bafyfake", Content: "bafycontent", Size: 42, Files: 1}, nil
}
func (f *fakeAPI) Info(ctx context.Context, ref string) (apitype.PackageInfo, error) {
	if err := refErr(ref); err != nil {
		return apitype.PackageInfo{}, err
	}
	return apitype.PackageInfo{MRI: "myco://" + ref, Package: ref, Meta: apitype.Meta{Title: "T", Tags: []string{"a", "b"}}, SignatureValid: true}, nil
}
func (f *fakeAPI) Ls(ctx context.Context, ref string) ([]apitype.Entry, error) {
	if err := refErr(ref); err != nil {
		return nil, err
	}
	return []apitype.Entry{{Name: "a.txt", CID: "bafya", Size: 3, Type: "file"}}, nil
}
func (f *fakeAPI) Cat(ctx context.Context, ref string, w io.Writer) error {
	if err := refErr(ref); err != nil {
		return err
	}
	_, err := io.WriteString(w, "hello "+ref)
	return err
}
func (f *fakeAPI) Get(ctx context.Context, ref, dest string, p func(apitype.Progress)) error {
	return errors.New("fake: not used")
}
func (f *fakeAPI) Pins(ctx context.Context) ([]apitype.PinInfo, error) { return nil, nil }
func (f *fakeAPI) Unpin(ctx context.Context, ref, reason string) error {
	if err := refErr(ref); err != nil {
		return err
	}
	if reason != "local" {
		return fmt.Errorf("%w: reason %q", apitype.ErrInvalid, reason)
	}
	return nil
}
func (f *fakeAPI) GC(ctx context.Context) (apitype.GCResult, error) {
	return apitype.GCResult{Removed: 3, Freed: 300}, nil
}
func (f *fakeAPI) Export(ctx context.Context, ref string, w io.Writer) error {
	if err := refErr(ref); err != nil {
		return err
	}
	if _, err := w.Write(f.export); err != nil {
		return err
	}
	return f.exportErr
}
func (f *fakeAPI) Import(ctx context.Context, r io.Reader) (apitype.ImportResult, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return apitype.ImportResult{}, err
	}
	if len(b) == 0 {
		return apitype.ImportResult{}, fmt.Errorf("%w: empty CAR", apitype.ErrInvalid)
	}
	return apitype.ImportResult{Roots: []string{"myco://bafyimported"}, Blocks: 1, Bytes: int64(len(b))}, nil
}
func (f *fakeAPI) Bookmarks(ctx context.Context) ([]apitype.Bookmark, error) { return f.bookmarks, nil }
func (f *fakeAPI) BookmarkAdd(ctx context.Context, req apitype.BookmarkRequest) (apitype.Bookmark, error) {
	if err := refErr(req.Ref); err != nil {
		return apitype.Bookmark{}, err
	}
	b := apitype.Bookmark{Name: req.Name, MRI: "myco://" + req.Ref, URL: "http://x/", Created: time.Unix(1700000000, 0).UTC(), Follow: req.Follow}
	f.bookmarks = append(f.bookmarks, b)
	return b, nil
}
func (f *fakeAPI) BookmarkFollow(ctx context.Context, name string, follow bool) (apitype.Bookmark, error) {
	for i, b := range f.bookmarks {
		if b.Name == name {
			f.bookmarks[i].Follow = follow
			return f.bookmarks[i], nil
		}
	}
	return apitype.Bookmark{}, fmt.Errorf("%w: no bookmark %q", apitype.ErrNotFound, name)
}

func (f *fakeAPI) BookmarkRm(ctx context.Context, name string) error {
	for i, b := range f.bookmarks {
		if b.Name == name {
			f.bookmarks = slices.Delete(f.bookmarks, i, i+1)
			return nil
		}
	}
	return fmt.Errorf("%w: bookmark %q", apitype.ErrNotFound, name)
}
func (f *fakeAPI) OpenURL(ctx context.Context, nameOrRef string) (apitype.URLResponse, error) {
	if err := refErr(nameOrRef); err != nil {
		return apitype.URLResponse{}, err
	}
	return apitype.URLResponse{URL: "http://" + nameOrRef + ".myco.localhost:8190/"}, nil
}
func (f *fakeAPI) Quota(ctx context.Context) (apitype.QuotaInfo, error) {
	return apitype.QuotaInfo{Disk: 1000, DiskUsed: 123, Blocks: 7, Packages: 2, PinsCount: 2, ByReason: map[string]int64{"local": 123}}, nil
}
func (f *fakeAPI) SetQuota(ctx context.Context, r, v string) (apitype.QuotaInfo, error) {
	if r != "disk" {
		return apitype.QuotaInfo{}, fmt.Errorf("%w: unknown resource %q", apitype.ErrInvalid, r)
	}
	return apitype.QuotaInfo{Disk: 5000}, nil
}
func (f *fakeAPI) ConfigShow(ctx context.Context) (string, error) { return "version = 1\n", nil }
func (f *fakeAPI) ConfigGet(ctx context.Context, key string) (string, error) {
	v, ok := f.config[key]
	if !ok {
		return "", fmt.Errorf("%w: unknown config key %q", apitype.ErrInvalid, key)
	}
	return v, nil
}
func (f *fakeAPI) ConfigSet(ctx context.Context, key, value string) error {
	if _, ok := f.config[key]; !ok {
		return fmt.Errorf("%w: unknown config key %q", apitype.ErrInvalid, key)
	}
	f.config[key] = value
	return nil
}

var fakePeers = []apitype.PeerInfo{
	{ID: "12D3KooWpeerA", Addrs: []string{"/ip4/127.0.0.1/tcp/4001"}, Direction: "outbound", Latency: 0.0012},
	{ID: "12D3KooWpeerB", Addrs: []string{"/ip4/127.0.0.1/udp/4002/quic-v1"}, Direction: "inbound", Relayed: true},
}

func (f *fakeAPI) Peers(ctx context.Context) ([]apitype.PeerInfo, error) { return fakePeers, nil }
func (f *fakeAPI) Connect(ctx context.Context, addr string) (apitype.PeerInfo, error) {
	if err := refErr(addr); err != nil {
		return apitype.PeerInfo{}, err
	}
	return apitype.PeerInfo{ID: "12D3KooWdialed", Addrs: []string{addr}, Direction: "outbound"}, nil
}
func (f *fakeAPI) Providers(ctx context.Context, ref string) ([]apitype.ProviderInfo, error) {
	if err := refErr(ref); err != nil {
		return nil, err
	}
	if ref == "nobody" {
		return nil, nil
	}
	return []apitype.ProviderInfo{{ID: "12D3KooWpeerA", Addrs: []string{"/ip4/127.0.0.1/tcp/4001"}}, {ID: "12D3KooWfake", Self: true}}, nil
}
func (f *fakeAPI) SiteGet(ctx context.Context, ref string, progress func(apitype.Progress)) (apitype.PackageInfo, error) {
	if err := refErr(ref); err != nil && !f.addFailLate {
		return apitype.PackageInfo{}, err
	}
	for i := range f.addProgress {
		if progress != nil {
			progress(apitype.Progress{Bytes: int64(i), Blocks: int64(i / 10), Providers: 2})
		}
	}
	if f.addFailLate {
		return apitype.PackageInfo{}, fmt.Errorf("%w: fetch: no provider left", apitype.ErrNotFound)
	}
	return f.Info(ctx, ref)
}
func (f *fakeAPI) Publish(ctx context.Context, channel, ref string) (apitype.PublishResult, error) {
	if err := refErr(ref); err != nil {
		return apitype.PublishResult{}, err
	}
	if channel == "" || strings.Contains(channel, "/") {
		return apitype.PublishResult{}, fmt.Errorf("%w: channel %q", apitype.ErrInvalid, channel)
	}
	return apitype.PublishResult{MRI: "myco://12D3KooWfake/" + channel, Target: "myco://" + ref, Seq: 3, Expires: time.Unix(1800000000, 0).UTC()}, nil
}
func (f *fakeAPI) Channels(ctx context.Context) ([]apitype.PublishResult, error) {
	return nil, nil
}

func (f *fakeAPI) Search(ctx context.Context, query string, opts apitype.SearchOptions, onResult func(apitype.SearchResult)) ([]apitype.SearchResult, error) {
	if query == "fail" {
		return nil, fmt.Errorf("%w: search: bad filter", apitype.ErrInvalid)
	}
	res := []apitype.SearchResult{
		{MRI: "myco://bafyA", Title: "A " + opts.Kind + " " + strings.Join(opts.Tags, ","), Holders: 1},
		{MRI: "myco://bafyB", Title: "B", Holders: 2},
	}
	for _, r := range res {
		if onResult != nil {
			onResult(r)
		}
	}
	return res, nil
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// serveFake serves a fake API on loopback and returns it with a client.
func serveFake(t *testing.T, f *fakeAPI) (*httptest.Server, *client.Client) {
	t.Helper()
	srv := httptest.NewServer(httpapi.New(f, testToken, testLogger(t)))
	t.Cleanup(srv.Close)
	c := client.New(srv.URL, testToken)
	t.Cleanup(func() { c.Close() })
	return srv, c
}

func TestAPIAuthAndHost(t *testing.T) {
	srv, _ := serveFake(t, &fakeAPI{})
	port := srv.Listener.Addr().(interface{ String() string }).String()
	port = port[strings.LastIndex(port, ":")+1:]
	bearer := "Bearer " + testToken
	tests := []struct {
		name   string
		host   string
		auth   string
		origin string
		want   int
	}{
		{"ok", "", bearer, "", 200},
		{"lowercase scheme", "", "bearer " + testToken, "", 200},
		{"no token", "", "", "", 401},
		{"wrong token", "", "Bearer nope", "", 401},
		{"token prefix", "", "Bearer " + testToken[:5], "", 401},
		{"basic", "", "Basic " + testToken, "", 401},
		{"localhost", "localhost:" + port, bearer, "", 200},
		{"ipv6 loopback", "[::1]:" + port, bearer, "", 200},
		{"127.1.2.3", "127.1.2.3", bearer, "", 200},
		{"rebinding", "evil.example:" + port, bearer, "", 403},
		{"subdomain of localhost", "bafyx.myco.localhost:" + port, bearer, "", 403},
		{"lan ip", "192.168.1.2:" + port, bearer, "", 403},
		{"same origin", "", bearer, srv.URL, 200},
		{"foreign origin", "", bearer, "https://evil.example", 403},
		{"gateway origin", "", bearer, "http://bafyx.myco.localhost:" + port, 403},
		{"other loopback port", "", bearer, "http://127.0.0.1:1", 403},
		{"null origin", "", bearer, "null", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/api/v1/id", nil)
			if tt.host != "" {
				req.Host = tt.host
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want != 200 {
				var eb apitype.ErrorBody
				if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil || eb.Error == "" || eb.Code == "" {
					t.Fatalf("error body %+v, %v", eb, err)
				}
				if want := map[int]apitype.Code{401: apitype.CodeUnauthorized, 403: apitype.CodeForbidden}[tt.want]; eb.Code != want {
					t.Fatalf("code %q with status %d, want %q", eb.Code, tt.want, want)
				}
			}
		})
	}

	// An empty token refuses everything.
	h := httpapi.New(&fakeAPI{}, "", nil)
	req := httptest.NewRequest("GET", "http://127.0.0.1/api/v1/id", nil)
	req.Header.Set("Authorization", "Bearer ")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Fatalf("empty token: status %d", rec.Code)
	}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func TestAPIRouting(t *testing.T) {
	srv, _ := serveFake(t, &fakeAPI{})
	tests := []struct {
		method, path string
		want         int
		code         apitype.Code
	}{
		{"POST", "/api/v1/id", 405, apitype.CodeInvalid},
		{"GET", "/api/v1/gc", 405, apitype.CodeInvalid},
		{"GET", "/api/v1/add", 405, apitype.CodeInvalid},
		{"GET", "/api/v1/pins/rm?ref=x", 405, apitype.CodeInvalid},
		{"GET", "/api/v1/nope", 404, apitype.CodeNotFound},
		{"GET", "/", 404, apitype.CodeNotFound},
		{"GET", "/api/v1/x/../id", 301, ""},
		{"GET", "/api/v1/info", 400, apitype.CodeInvalid}, // no ref
		{"GET", "/api/v1/info?ref=missing", 404, apitype.CodeNotFound},
		{"GET", "/api/v1/info?ref=withheld", 451, apitype.CodeWithheld},
		{"GET", "/api/v1/info?ref=corrupt", 500, apitype.CodeCorrupt},
		{"GET", "/api/v1/info?ref=plain", 500, apitype.CodeInternal},
		{"GET", "/api/v1/status", 503, apitype.CodeNoDaemon},
		{"GET", "/api/v1/get?ref=x", 501, apitype.CodeInternal}, // the fake has no Stat/WriteTar
		{"POST", "/api/v1/peers", 405, apitype.CodeInvalid},
		{"GET", "/api/v1/peers/connect", 405, apitype.CodeInvalid},
		{"POST", "/api/v1/peers/connect", 400, apitype.CodeInvalid}, // no body
		{"GET", "/api/v1/providers", 400, apitype.CodeInvalid},      // no ref
		{"GET", "/api/v1/providers?ref=missing", 404, apitype.CodeNotFound},
		{"GET", "/api/v1/site/get?ref=x", 405, apitype.CodeInvalid},
		{"POST", "/api/v1/site/get", 400, apitype.CodeInvalid},
		{"POST", "/api/v1/fetch", 400, apitype.CodeInvalid},
		{"GET", "/api/v1/publish", 405, apitype.CodeInvalid},
		{"POST", "/api/v1/publish", 400, apitype.CodeInvalid},
		{"POST", "/api/v1/channels", 405, apitype.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.want && !(tt.want == 301 && resp.StatusCode/100 == 3) {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == 301 {
				if loc := resp.Header.Get("Location"); loc != "/api/v1/id" {
					t.Fatalf("location %q", loc)
				}
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("content type %q", ct)
			}
			var eb apitype.ErrorBody
			if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil {
				t.Fatal(err)
			}
			if eb.Code != tt.code || eb.Error == "" || strings.Contains(eb.Error, "\n") {
				t.Fatalf("body %+v, want code %s on one line", eb, tt.code)
			}
		})
	}
}

func TestClientErrorsRoundTrip(t *testing.T) {
	f := &fakeAPI{config: map[string]string{"quota.disk": "10GB"}}
	_, c := serveFake(t, f)
	ctx := t.Context()
	sentinels := map[string]error{"missing": apitype.ErrNotFound, "bad": apitype.ErrInvalid, "withheld": apitype.ErrWithheld, "corrupt": apitype.ErrCorrupt}
	for ref, want := range sentinels {
		direct := refErr(ref)
		calls := map[string]error{}
		_, calls["info"] = c.Info(ctx, ref)
		_, calls["ls"] = c.Ls(ctx, ref)
		calls["cat"] = c.Cat(ctx, ref, io.Discard)
		calls["export"] = c.Export(ctx, ref, io.Discard)
		calls["unpin"] = c.Unpin(ctx, ref, "local")
		_, calls["bookmark add"] = c.BookmarkAdd(ctx, apitype.BookmarkRequest{Name: "b", Ref: ref})
		_, calls["open"] = c.OpenURL(ctx, ref)
		_, calls["add"] = c.Add(ctx, apitype.AddRequest{Path: ref, Title: "x"}, nil)
		_, calls["connect"] = c.Connect(ctx, ref)
		_, calls["providers"] = c.Providers(ctx, ref)
		_, calls["site get"] = c.SiteGet(ctx, ref, nil)
		_, calls["publish"] = c.Publish(ctx, "docs", ref)
		for name, err := range calls {
			if !errors.Is(err, want) {
				t.Errorf("%s(%s): %v, want %v", name, ref, err, want)
				continue
			}
			if err.Error() != direct.Error() {
				t.Errorf("%s(%s): message %q, want %q", name, ref, err, direct)
			}
			if apitype.CodeOf(err) != apitype.CodeOf(direct) {
				t.Errorf("%s(%s): code %s", name, ref, apitype.CodeOf(err))
			}
		}
	}
	if _, err := c.Status(ctx); !errors.Is(err, apitype.ErrNoDaemon) {
		t.Errorf("status: %v", err)
	}
	if err := c.BookmarkRm(ctx, "nope"); !errors.Is(err, apitype.ErrNotFound) {
		t.Errorf("bookmark rm: %v", err)
	}
	if _, err := c.ConfigGet(ctx, "nope.key"); !errors.Is(err, apitype.ErrInvalid) {
		t.Errorf("config get: %v", err)
	}
	if _, err := c.SetQuota(ctx, "cpux", "1"); !errors.Is(err, apitype.ErrInvalid) {
		t.Errorf("set quota: %v", err)
	}
	if _, err := c.Import(ctx, bytes.NewReader(nil)); !errors.Is(err, apitype.ErrInvalid) {
		t.Errorf("import: %v", err)
	}
}

func TestClientValues(t *testing.T) {
	f := &fakeAPI{config: map[string]string{"quota.disk": "10GB"}, export: []byte("CAR bytes")}
	_, c := serveFake(t, f)
	ctx := t.Context()
	check := func(name string, got, want any, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v, want %#v", name, got, want)
		}
	}
	id, err := c.ID(ctx)
	wid, _ := f.ID(ctx)
	check("id", id, wid, err)
	info, err := c.Info(ctx, "bafyx")
	winfo, _ := f.Info(ctx, "bafyx")
	check("info", info, winfo, err)
	ls, err := c.Ls(ctx, "bafyx")
	wls, _ := f.Ls(ctx, "bafyx")
	check("ls", ls, wls, err)
	var buf bytes.Buffer
	err = c.Cat(ctx, "bafy x/a b.txt", &buf)
	check("cat", buf.String(), "hello bafy x/a b.txt", err)
	buf.Reset()
	err = c.Export(ctx, "bafyx", &buf)
	check("export", buf.String(), "CAR bytes", err)
	imp, err := c.Import(ctx, strings.NewReader("some CAR"))
	check("import", imp, apitype.ImportResult{Roots: []string{"myco://bafyimported"}, Blocks: 1, Bytes: 8}, err)
	gc, err := c.GC(ctx)
	check("gc", gc, apitype.GCResult{Removed: 3, Freed: 300}, err)
	pins, err := c.Pins(ctx)
	check("pins", pins, []apitype.PinInfo{}, err)
	check("unpin", nil, nil, c.Unpin(ctx, "bafyx", "local"))
	bm, err := c.BookmarkAdd(ctx, apitype.BookmarkRequest{Name: "my site", Ref: "bafyx", Follow: true})
	check("bookmark add", bm, f.bookmarks[0], err)
	bms, err := c.Bookmarks(ctx)
	check("bookmarks", bms, f.bookmarks, err)
	_, err = c.BookmarkAdd(ctx, apitype.BookmarkRequest{Name: "a/b c?d", Ref: "bafyx"})
	check("bookmark add odd name", nil, nil, err)
	check("bookmark rm odd name", nil, nil, c.BookmarkRm(ctx, "a/b c?d"))
	check("bookmark rm", nil, nil, c.BookmarkRm(ctx, "my site"))
	check("bookmarks after rm", len(f.bookmarks), 0, nil)
	u, err := c.OpenURL(ctx, "bafyx")
	check("open", u, apitype.URLResponse{URL: "http://bafyx.myco.localhost:8190/"}, err)
	q, err := c.Quota(ctx)
	wq, _ := f.Quota(ctx)
	check("quota", q, wq, err)
	q, err = c.SetQuota(ctx, "disk", "5KB")
	check("set quota", q, apitype.QuotaInfo{Disk: 5000}, err)
	text, err := c.ConfigShow(ctx)
	check("config show", text, "version = 1\n", err)
	check("config set", nil, nil, c.ConfigSet(ctx, "quota.disk", "1GB"))
	v, err := c.ConfigGet(ctx, "quota.disk")
	check("config get", v, "1GB", err)

	req := apitype.AddRequest{Path: "/tmp/x", Title: "T", Tags: []string{"a"}, Hidden: true, Entry: "index.html"}
	res, err := c.Add(ctx, req, nil)
	wres, _ := (&fakeAPI{}).Add(ctx, req, nil)
	check("add", res, wres, err)
	check("add request", f.lastReq, req, nil)

	peers, err := c.Peers(ctx)
	check("peers", peers, fakePeers, err)
	pi, err := c.Connect(ctx, "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWx")
	wpi, _ := f.Connect(ctx, "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWx")
	check("connect", pi, wpi, err)
	provs, err := c.Providers(ctx, "bafyx")
	wprovs, _ := f.Providers(ctx, "bafyx")
	check("providers", provs, wprovs, err)
	provs, err = c.Providers(ctx, "nobody")
	check("providers none", provs, []apitype.ProviderInfo{}, err)
	si, err := c.SiteGet(ctx, "bafyx", nil)
	check("site get", si, winfo, err)
	pub, err := c.Publish(ctx, "docs", "bafyx")
	wpub, _ := f.Publish(ctx, "docs", "bafyx")
	check("publish", pub, wpub, err)
	_, err = c.Publish(ctx, "a/b", "bafyx")
	check("publish bad channel", errors.Is(err, apitype.ErrInvalid), true, nil)
	chans, err := c.Channels(ctx)
	check("channels", chans, []apitype.PublishResult{}, err)
	fr, err := c.Fetch(ctx, "bafyx", nil) // the fake cannot fetch: nothing to do
	check("fetch", fr, apitype.FetchResult{}, err)
}

func TestAPISiteGetProgress(t *testing.T) {
	f := &fakeAPI{addProgress: 50000}
	_, c := serveFake(t, f)
	var got []apitype.Progress
	info, err := c.SiteGet(t.Context(), "bafyx", func(p apitype.Progress) { got = append(got, p) })
	if err != nil || info.Package != "bafyx" {
		t.Fatalf("site get: %+v, %v", info, err)
	}
	if len(got) == 0 || got[0].Providers != 2 {
		t.Fatalf("progress: %v", got)
	}
	f.addFailLate, f.addProgress = true, 10
	_, err = c.SiteGet(t.Context(), "bafyx", nil)
	if !errors.Is(err, apitype.ErrNotFound) || err.Error() != "not found: fetch: no provider left" {
		t.Fatalf("late site get error: %v", err)
	}
}

func TestAPIAddProgress(t *testing.T) {
	f := &fakeAPI{addProgress: 200000}
	_, c := serveFake(t, f)
	var got []apitype.Progress
	start := time.Now()
	res, err := c.Add(t.Context(), apitype.AddRequest{Path: "/x", Title: "x"}, func(p apitype.Progress) { got = append(got, p) })
	elapsed := time.Since(start)
	if err != nil || res.Package != "bafyfake" {
		t.Fatalf("add: %+v, %v", res, err)
	}
	if len(got) == 0 || got[0].Total != 200000 {
		t.Fatalf("progress: %v", got)
	}
	// Throttled to about ten a second.
	if max := int(elapsed/(100*time.Millisecond)) + 2; len(got) > max {
		t.Fatalf("%d progress lines in %v, want at most %d", len(got), elapsed, max)
	}

	// An error after progress started arrives in the stream, with its code.
	f.addFailLate, f.addProgress = true, 10
	got = nil
	_, err = c.Add(t.Context(), apitype.AddRequest{Path: "/x", Title: "x"}, func(p apitype.Progress) { got = append(got, p) })
	if !errors.Is(err, apitype.ErrQuota) || err.Error() != "quota exceeded: add: 10 GB needed" {
		t.Fatalf("late add error: %v", err)
	}
	if len(got) == 0 {
		t.Fatal("no progress before the error")
	}
}

func TestAPIStreamErrorTrailer(t *testing.T) {
	f := &fakeAPI{export: bytes.Repeat([]byte("x"), 100000), exportErr: fmt.Errorf("%w: block gone bad", apitype.ErrCorrupt)}
	_, c := serveFake(t, f)
	var buf bytes.Buffer
	err := c.Export(t.Context(), "bafyx", &buf)
	if !errors.Is(err, apitype.ErrCorrupt) || !strings.Contains(err.Error(), "block gone bad") {
		t.Fatalf("export: %v", err)
	}
	if buf.Len() != 100000 {
		t.Fatalf("got %d bytes before the error", buf.Len())
	}
}

func TestAPIBodyLimit(t *testing.T) {
	srv, _ := serveFake(t, &fakeAPI{})
	body := `{"name":"` + strings.Repeat("a", 2<<20) + `","ref":"x"}`
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/bookmarks", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb apitype.ErrorBody
	json.NewDecoder(resp.Body).Decode(&eb)
	if resp.StatusCode != 400 || eb.Code != apitype.CodeInvalid || !strings.Contains(eb.Error, "larger than") {
		t.Fatalf("status %d, %+v", resp.StatusCode, eb)
	}
}

func TestAPIMetrics(t *testing.T) {
	srv, c := serveFake(t, &fakeAPI{})
	ctx := t.Context()
	c.ID(ctx)
	c.ID(ctx)
	c.Info(ctx, "missing")
	m, err := c.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# TYPE myconet_store_bytes gauge\nmyconet_store_bytes 123\n",
		"myconet_store_blocks 7\n",
		"myconet_packages 2\n",
		"# TYPE myconet_api_requests_total counter\n",
		`myconet_api_requests_total{code="200",path="GET /api/v1/id"} 2` + "\n",
		`myconet_api_requests_total{code="404",path="GET /api/v1/info"} 1` + "\n",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
	// The token is required here too.
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("metrics without token: %d", resp.StatusCode)
	}
}

// TestOpenAPIDocumentsRoutes checks that docs/openapi.yaml has every route
// the handler serves, with the right method, and no route it does not serve.
func TestOpenAPIDocumentsRoutes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Paths are "  /path:" lines, methods "    get:" lines under them.
	documented := map[string]bool{}
	pathRe := regexp.MustCompile(`^  (/\S*):\s*$`)
	methodRe := regexp.MustCompile(`^    (get|post|put|delete|patch|head):\s*$`)
	inPaths, cur := false, ""
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "paths:") {
			inPaths = true
			continue
		}
		if inPaths && line != "" && !strings.HasPrefix(line, " ") {
			inPaths = false
		}
		if !inPaths {
			continue
		}
		if m := pathRe.FindStringSubmatch(line); m != nil {
			cur = m[1]
		} else if m := methodRe.FindStringSubmatch(line); m != nil && cur != "" {
			documented[strings.ToUpper(m[1])+" "+cur] = true
		}
	}
	served := map[string]bool{}
	for _, r := range httpapi.Routes() {
		served[r] = true
		if !documented[r] {
			t.Errorf("route %q is not in docs/openapi.yaml", r)
		}
	}
	for r := range documented {
		if !served[r] {
			t.Errorf("docs/openapi.yaml documents %q, which the handler does not serve", r)
		}
	}
}

// TestClientGetRefusesUnsafeTar feeds the client tar streams that try to
// escape the destination.
func TestClientGetRefusesUnsafeTar(t *testing.T) {
	type entry struct {
		name     string
		typ      byte
		linkname string
	}
	tests := []struct {
		name    string
		entries []entry
		ok      bool
	}{
		{"good", []entry{{"a", tar.TypeDir, ""}, {"a/b.txt", tar.TypeReg, ""}, {"c.txt", tar.TypeReg, ""}, {"d/e/f.txt", tar.TypeReg, ""}}, true},
		{"dotdot", []entry{{"../evil.txt", tar.TypeReg, ""}}, false},
		{"inner dotdot", []entry{{"a/../../evil.txt", tar.TypeReg, ""}}, false},
		{"absolute", []entry{{"/tmp/evil.txt", tar.TypeReg, ""}}, false},
		{"symlink", []entry{{"link", tar.TypeSymlink, "/etc"}, {"link/passwd", tar.TypeReg, ""}}, false},
		{"hardlink", []entry{{"h", tar.TypeLink, "/etc/passwd"}}, false},
		{"device", []entry{{"dev", tar.TypeChar, ""}}, false},
		{"duplicate file", []entry{{"a.txt", tar.TypeReg, ""}, {"a.txt", tar.TypeReg, ""}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tb bytes.Buffer
			tw := tar.NewWriter(&tb)
			for _, e := range tt.entries {
				hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.linkname, Mode: 0o777}
				if e.typ == tar.TypeReg {
					hdr.Size = 3
				}
				if err := tw.WriteHeader(hdr); err != nil {
					t.Fatal(err)
				}
				if e.typ == tar.TypeReg {
					tw.Write([]byte("abc"))
				}
			}
			tw.Close()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set(apitype.HeaderType, "dir")
				w.Write(tb.Bytes())
			}))
			defer srv.Close()
			c := client.New(srv.URL, "x")
			defer c.Close()
			base := t.TempDir()
			dest := filepath.Join(base, "out")
			err := c.Get(t.Context(), "bafyx", dest, nil)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(filepath.Join(dest, "d", "e", "f.txt"))
				if err != nil || string(b) != "abc" {
					t.Fatalf("%q, %v", b, err)
				}
				st, _ := os.Stat(filepath.Join(dest, "c.txt"))
				if st.Mode().Perm()&0o111 != 0 {
					t.Fatalf("file mode %v", st.Mode())
				}
				return
			}
			if err == nil {
				t.Fatal("unsafe tar accepted")
			}
			if _, err := os.Lstat(dest); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("dest left behind after failure: %v", err)
			}
			if names, _ := os.ReadDir(base); len(names) != 0 {
				t.Fatalf("files outside dest: %v", names)
			}
		})
	}
}

func TestFromHomeNoDaemon(t *testing.T) {
	home := t.TempDir()
	ctx := t.Context()
	if _, err := client.FromHome(ctx, home); !errors.Is(err, apitype.ErrNoDaemon) {
		t.Fatalf("no api file: %v", err)
	}
	// A stale file: nothing listens there any more.
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	os.WriteFile(filepath.Join(home, apitype.APIFile), []byte(addr+"\n"), 0o600)
	os.WriteFile(filepath.Join(home, apitype.TokenFile), []byte("tok\n"), 0o600)
	start := time.Now()
	if _, err := client.FromHome(ctx, home); !errors.Is(err, apitype.ErrNoDaemon) {
		t.Fatalf("stale api file: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("FromHome took %v", d)
	}
	// A daemon that answers but refuses the token is not "no daemon".
	srv2 := httptest.NewServer(httpapi.New(&fakeAPI{}, "other", nil))
	defer srv2.Close()
	os.WriteFile(filepath.Join(home, apitype.APIFile), []byte(srv2.Listener.Addr().String()), 0o600)
	if _, err := client.FromHome(ctx, home); err == nil || errors.Is(err, apitype.ErrNoDaemon) {
		t.Fatalf("wrong token: %v", err)
	}
}

// newTestNode opens a node in a temporary home.
func newTestNode(t *testing.T) *node.Node {
	t.Helper()
	n, err := node.New(node.Config{Home: t.TempDir(), StoreNoSync: true, Logger: testLogger(t), Override: node.LoopbackOnly})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Store().Check(); err != nil {
			t.Errorf("store check: %v", err)
		}
		n.Close()
	})
	return n
}

// siteFiles is a small Mycosite: relative links, a subdirectory without an
// index, a binary file without extension, a name that needs escaping.
var siteFiles = map[string]string{
	"index.html":     `<!DOCTYPE html><html><head><link rel="stylesheet" href="css/style.css"></head><body><a href="sub/page.html">page</a></body></html>`,
	"css/style.css":  "body { color: #333 }\n",
	"sub/page.html":  `<html><body><a href="../index.html">home</a></body></html>`,
	"docs/a b.txt":   "spaces in the name\n",
	"docs/notes.md":  "# notes\n",
	"data":           "\x89PNG\r\n\x1a\n" + strings.Repeat("\x00binary", 40000),
	"docs/<x>&y.txt": "escape me\n",
	"js/app.js":      "console.log('hi')\n",
	"big/range.txt":  strings.Repeat("0123456789", 300000), // 3 MB: several chunks
}

// writeTree writes files (slash paths → content) under a new directory.
func writeTree(t *testing.T, files map[string]string) string {
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

// readTree reads every regular file under dir, failing on anything else.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = string(b)
		default:
			t.Errorf("%s: unexpected type %v", rel, d.Type())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAPIOverRealNode checks that the client over the HTTP API answers what
// the node answers directly.
func TestAPIOverRealNode(t *testing.T) {
	n := newTestNode(t)
	token := "real-token"
	srv := httptest.NewServer(httpapi.New(n, token, testLogger(t)))
	defer srv.Close()
	c := client.New(srv.URL, token)
	defer c.Close()
	ctx := t.Context()

	site := writeTree(t, siteFiles)
	var progress []apitype.Progress
	res, err := c.Add(ctx, apitype.AddRequest{Path: site, Title: "Test site", Tags: []string{"test"}}, func(p apitype.Progress) {
		progress = append(progress, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("added %+v with %d progress lines", res, len(progress))

	same := func(name string, viaAPI, direct any, errAPI, errDirect error) {
		t.Helper()
		if (errAPI == nil) != (errDirect == nil) || (errAPI != nil && (errAPI.Error() != errDirect.Error() || apitype.CodeOf(errAPI) != apitype.CodeOf(errDirect))) {
			t.Errorf("%s: error via API %v, direct %v", name, errAPI, errDirect)
			return
		}
		if !reflect.DeepEqual(viaAPI, direct) {
			t.Errorf("%s: via API %#v\ndirect %#v", name, viaAPI, direct)
		}
	}
	pkg := res.MRI
	for _, ref := range []string{pkg, pkg + "/sub/page.html", pkg + "/docs", pkg + "/nope", "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", "myco://x"} {
		a, e1 := c.Info(ctx, ref)
		b, e2 := n.Info(ctx, ref)
		same("info "+ref, a, b, e1, e2)
		l1, e1 := c.Ls(ctx, ref)
		l2, e2 := n.Ls(ctx, ref)
		if e1 == nil && e2 == nil && len(l1) == 0 && len(l2) == 0 {
			l1, l2 = nil, nil
		}
		same("ls "+ref, l1, l2, e1, e2)
	}
	for _, p := range []string{"index.html", "big/range.txt", "docs/a b.txt", "docs/<x>&y.txt", "docs", "missing"} {
		var b1, b2 bytes.Buffer
		e1 := c.Cat(ctx, pkg+"/"+p, &b1)
		e2 := n.Cat(ctx, pkg+"/"+p, &b2)
		same("cat "+p, b1.String(), b2.String(), e1, e2)
		if e2 == nil && b1.String() != siteFiles[p] {
			t.Errorf("cat %s: wrong bytes", p)
		}
	}

	// get: a file and a tree, through the client and directly.
	for _, p := range []string{"", "/sub/page.html", "/docs"} {
		base := t.TempDir()
		d1, d2 := filepath.Join(base, "api"), filepath.Join(base, "direct")
		var last apitype.Progress
		e1 := c.Get(ctx, pkg+p, d1, func(pr apitype.Progress) { last = pr })
		e2 := n.Get(ctx, pkg+p, d2, nil)
		if e1 != nil || e2 != nil {
			t.Fatalf("get %q: %v / %v", p, e1, e2)
		}
		if p == "/sub/page.html" {
			b1, _ := os.ReadFile(d1)
			b2, _ := os.ReadFile(d2)
			same("get file", string(b1), string(b2), nil, nil)
		} else {
			same("get tree "+p, readTree(t, d1), readTree(t, d2), nil, nil)
		}
		if last.Bytes == 0 || last.Files == 0 {
			t.Errorf("get %q: final progress %+v", p, last)
		}
		if err := c.Get(ctx, pkg+p, d1, nil); !errors.Is(err, apitype.ErrInvalid) {
			t.Errorf("get %q onto an existing dest: %v", p, err)
		}
	}
	if got := readTree(t, func() string {
		d := filepath.Join(t.TempDir(), "site")
		if err := c.Get(ctx, pkg, d, nil); err != nil {
			t.Fatal(err)
		}
		return d
	}()); !reflect.DeepEqual(got, siteFiles) {
		t.Errorf("get of the whole site differs from what was added")
	}
	if err := c.Get(ctx, pkg+"/nope", filepath.Join(t.TempDir(), "x"), nil); !errors.Is(err, apitype.ErrNotFound) {
		t.Errorf("get of a missing path: %v", err)
	}

	// export / import.
	var car1, car2 bytes.Buffer
	e1 := c.Export(ctx, pkg, &car1)
	e2 := n.Export(ctx, pkg, &car2)
	same("export", car1.Bytes(), car2.Bytes(), e1, e2)
	n2 := newTestNode(t)
	srv2 := httptest.NewServer(httpapi.New(n2, token, testLogger(t)))
	defer srv2.Close()
	c2 := client.New(srv2.URL, token)
	defer c2.Close()
	i1, e1 := c2.Import(ctx, bytes.NewReader(car1.Bytes()))
	i2, e2 := n.Import(ctx, bytes.NewReader(car1.Bytes())) // already there: same roots
	if e1 != nil || e2 != nil || !reflect.DeepEqual(i1.Roots, i2.Roots) || i1.Blocks == 0 {
		t.Errorf("import: via API %+v %v, direct %+v %v", i1, e1, i2, e2)
	}
	inf1, e1 := c2.Info(ctx, pkg)
	inf2, e2 := n.Info(ctx, pkg)
	inf1.Pins, inf2.Pins = nil, nil
	same("info after import", inf1, inf2, e1, e2)
	if _, err := c2.Import(ctx, strings.NewReader("not a CAR")); err == nil || errors.Is(err, apitype.ErrNotFound) {
		t.Errorf("import of garbage: %v", err)
	}

	// pins, bookmarks, open, quota, config.
	p1, e1 := c.Pins(ctx)
	p2, e2 := n.Pins(ctx)
	same("pins", p1, p2, e1, e2)
	bm, err := c.BookmarkAdd(ctx, apitype.BookmarkRequest{Name: "site", Ref: pkg + "/sub/page.html"})
	if err != nil {
		t.Fatal(err)
	}
	bms1, e1 := c.Bookmarks(ctx)
	bms2, e2 := n.Bookmarks(ctx)
	same("bookmarks", bms1, bms2, e1, e2)
	if len(bms2) != 1 || bms2[0].Name != bm.Name || !bms2[0].Created.Equal(bm.Created) {
		t.Errorf("bookmark add answered %+v; stored %+v", bm, bms2)
	}
	// A taken name is refused, and so is --follow of a package, both leaving
	// the bookmark as it was; force replaces.
	for _, req := range []apitype.BookmarkRequest{{Name: "site", Ref: pkg}, {Name: "site", Ref: pkg, Follow: true, Force: true}} {
		_, e1 = c.BookmarkAdd(ctx, req)
		_, e2 = n.BookmarkAdd(ctx, req)
		same(fmt.Sprintf("bookmark add %+v", req), nil, nil, e1, e2)
		if e1 == nil || !errors.Is(e1, apitype.ErrInvalid) {
			t.Errorf("bookmark add %+v: %v, want invalid", req, e1)
		}
	}
	if bms, _ := n.Bookmarks(ctx); len(bms) != 1 || bms[0].MRI != bm.MRI || bms[0].Follow {
		t.Errorf("refused adds changed the bookmark: %+v", bms)
	}
	b1, e1 := c.BookmarkAdd(ctx, apitype.BookmarkRequest{Name: "site", Ref: pkg + "/sub/page.html", Force: true})
	if e1 != nil || b1.MRI != bm.MRI {
		t.Errorf("forced add: %+v %v", b1, e1)
	}
	u1, e1 := c.OpenURL(ctx, "site")
	u2, e2 := n.OpenURL(ctx, "site")
	same("open", u1, u2, e1, e2)
	_, e1 = c.OpenURL(ctx, "no such bookmark")
	_, e2 = n.OpenURL(ctx, "no such bookmark")
	same("open unknown", nil, nil, e1, e2)
	if err := c.BookmarkRm(ctx, "site"); err != nil {
		t.Fatal(err)
	}
	e1 = c.BookmarkRm(ctx, "site")
	e2 = n.BookmarkRm(ctx, "site")
	same("bookmark rm twice", nil, nil, e1, e2)

	q1, e1 := c.Quota(ctx)
	q2, e2 := n.Quota(ctx)
	same("quota", q1, q2, e1, e2)
	q1, e1 = c.SetQuota(ctx, "disk", "1GB")
	q2, e2 = n.Quota(ctx)
	same("set quota", q1, q2, e1, e2)
	if q1.Disk != 1_000_000_000 {
		t.Errorf("disk quota %d after set", q1.Disk)
	}
	_, e1 = c.SetQuota(ctx, "disk", "lots")
	_, e2 = n.SetQuota(ctx, "disk", "lots")
	same("bad quota", nil, nil, e1, e2)
	s1, e1 := c.ConfigShow(ctx)
	s2, e2 := n.ConfigShow(ctx)
	same("config show", s1, s2, e1, e2)
	if err := c.ConfigSet(ctx, "replication.replicas", "5"); err != nil {
		t.Fatal(err)
	}
	v1, e1 := c.ConfigGet(ctx, "replication.replicas")
	v2, e2 := n.ConfigGet(ctx, "replication.replicas")
	same("config get", v1, v2, e1, e2)
	if v1 != "5" {
		t.Errorf("config get after set: %q", v1)
	}
	_, e1 = c.ConfigGet(ctx, "no.such")
	_, e2 = n.ConfigGet(ctx, "no.such")
	same("config get unknown", nil, nil, e1, e2)

	// Range through /cat (the node offers OpenFile).
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/cat?ref="+url.QueryEscape(pkg+"/big/range.txt"), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Range", "bytes=1048570-1048589")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || string(body) != siteFiles["big/range.txt"][1048570:1048590] {
		t.Errorf("range: %d %q", resp.StatusCode, body)
	}

	// Unpin and GC through the API.
	if err := c.Unpin(ctx, pkg, ""); err != nil {
		t.Fatal(err)
	}
	gc, err := c.GC(ctx)
	if err != nil || gc.Removed == 0 {
		t.Errorf("gc: %+v, %v", gc, err)
	}
	if _, err := c.Info(ctx, pkg); !errors.Is(err, apitype.ErrNotFound) {
		t.Errorf("info after unpin and gc: %v", err)
	}
}

func TestInProcessClient(t *testing.T) {
	n := newTestNode(t)
	c := client.NewInProcess(n, testLogger(t))
	ctx := t.Context()
	id1, err := c.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := n.ID(ctx)
	if !reflect.DeepEqual(id1, id2) {
		t.Fatalf("id %+v vs %+v", id1, id2)
	}
	dir := writeTree(t, map[string]string{"f.txt": "hello"})
	res, err := c.Add(ctx, apitype.AddRequest{Path: filepath.Join(dir, "f.txt"), Title: "f"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := c.Cat(ctx, res.MRI, &b); err != nil || b.String() != "hello" {
		t.Fatalf("cat: %q %v", b.String(), err)
	}
	if _, err := c.Status(ctx); !errors.Is(err, apitype.ErrNoDaemon) {
		t.Fatalf("status: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := c.ID(ctx); err == nil {
		t.Fatal("closed in-process client still answers")
	}
}

// TestAPINetworkOverRealNodes checks the network endpoints against two
// nodes on a mocknet: what the client answers over HTTP is what the node
// answers directly, and fetch reports progress.
func TestAPINetworkOverRealNodes(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 2, nodetest.Options{Override: func(_ int, fc *config.FileConfig) {
		fc.Quota.Replicas = "1B" /* no replicas: this test is about fetching */
	}})
	net.Connect(0, 1)
	a, b := net.Nodes[0], net.Nodes[1]
	ctx := t.Context()
	srv := httptest.NewServer(httpapi.New(b, testToken, testLogger(t)))
	defer srv.Close()
	c := client.New(srv.URL, testToken)
	defer c.Close()

	dir := writeTree(t, map[string]string{"big.bin": string(fixture.Bytes(5, 3_200_000)), "index.html": "<h1>hi</h1>"})
	res, err := a.Add(ctx, apitype.AddRequest{Path: dir, Title: "net"}, nil)
	if err != nil {
		t.Fatal(err)
	}

	p1, e1 := c.Peers(ctx)
	p2, e2 := b.Peers(ctx)
	if e1 != nil || e2 != nil || len(p1) != 1 || p1[0].ID != a.Identity().PeerID.String() || p1[0].ID != p2[0].ID {
		t.Fatalf("peers: via API %+v %v, direct %+v %v", p1, e1, p2, e2)
	}
	if _, err := c.Connect(ctx, "/ip4/127.0.0.1/tcp/1"); !errors.Is(err, apitype.ErrInvalid) {
		t.Errorf("connect without /p2p: %v", err)
	}

	// fetch: progress, then nothing left to do.
	var got []apitype.Progress
	var fr apitype.FetchResult
	nodetest.Eventually(t, 30*time.Second, "a fetch from A", func() bool {
		fr, err = c.Fetch(ctx, res.MRI, func(p apitype.Progress) { got = append(got, p) })
		return err == nil
	})
	if !fr.Fetched || fr.Bytes < 3_200_000 || fr.Blocks < 4 || fr.Providers != 1 || len(got) == 0 || got[0].Providers != 1 {
		t.Errorf("fetch: %+v, progress %v", fr, got)
	}
	if fr, err := c.Fetch(ctx, res.MRI, nil); err != nil || fr.Fetched {
		t.Errorf("second fetch: %+v %v", fr, err)
	}
	var buf bytes.Buffer
	if err := c.Cat(ctx, res.MRI+"/index.html", &buf); err != nil || buf.String() != "<h1>hi</h1>" {
		t.Errorf("cat after fetch: %q %v", buf.String(), err)
	}

	pr1, e1 := c.Providers(ctx, res.MRI)
	if e1 != nil || len(pr1) == 0 {
		t.Errorf("providers via API: %+v %v", pr1, e1)
	}
	si1, e1 := c.SiteGet(ctx, res.MRI, nil)
	si2, e2 := b.SiteGet(ctx, res.MRI, nil)
	if e1 != nil || e2 != nil || !reflect.DeepEqual(si1, si2) || !slices.Contains(si1.Pins, "local") {
		t.Errorf("site get: via API %+v %v, direct %+v %v", si1, e1, si2, e2)
	}

	pub, err := c.Publish(ctx, "docs", res.MRI)
	if err != nil || pub.MRI != "myco://"+b.Identity().PeerID.String()+"/docs" || pub.Target != res.MRI || pub.Seq != 1 {
		t.Errorf("publish: %+v %v", pub, err)
	}
	ch1, e1 := c.Channels(ctx)
	ch2, e2 := b.Channels(ctx)
	if e1 != nil || e2 != nil || len(ch1) != 1 || !ch1[0].Expires.Equal(ch2[0].Expires) || ch1[0].MRI != ch2[0].MRI {
		t.Errorf("channels: via API %+v %v, direct %+v %v", ch1, e1, ch2, e2)
	}
	if _, err := c.Publish(ctx, "bad/name", res.MRI); !errors.Is(err, apitype.ErrInvalid) {
		t.Errorf("publish under a bad name: %v", err)
	}
}

// TestAPINetworkOffline: without the network, the network endpoints say
// no_daemon (503), fetch has nothing to do, and channels still list.
func TestAPINetworkOffline(t *testing.T) {
	n := newTestNode(t)
	srv := httptest.NewServer(httpapi.New(n, testToken, testLogger(t)))
	defer srv.Close()
	c := client.New(srv.URL, testToken)
	defer c.Close()
	ctx := t.Context()
	ref := "myco://bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
	checks := map[string]error{}
	_, checks["peers"] = c.Peers(ctx)
	_, checks["connect"] = c.Connect(ctx, "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWAudKjcgFhVb6et6DBcCcPbqZc27Uo4HCn3A7rMy3hzmY")
	_, checks["providers"] = c.Providers(ctx, ref)
	_, checks["publish"] = c.Publish(ctx, "docs", ref)
	for name, err := range checks {
		if !errors.Is(err, apitype.ErrNoDaemon) {
			t.Errorf("%s offline: %v", name, err)
		}
	}
	if _, err := c.SiteGet(ctx, ref, nil); err == nil {
		t.Error("site get offline succeeded")
	}
	if fr, err := c.Fetch(ctx, ref, nil); err != nil || fr.Fetched {
		t.Errorf("fetch offline: %+v %v", fr, err)
	}
	if ch, err := c.Channels(ctx); err != nil || len(ch) != 0 {
		t.Errorf("channels offline: %+v %v", ch, err)
	}
}

// TestAPISearch checks the search stream: results through the callback,
// filters and limit on the wire, errors with their codes.
func TestAPISearch(t *testing.T) {
	_, c := serveFake(t, &fakeAPI{})
	var streamed []string
	res, err := c.Search(t.Context(), "hello", apitype.SearchOptions{Kind: "video", Tags: []string{"a", "b c"}, Limit: 5}, func(r apitype.SearchResult) {
		streamed = append(streamed, r.MRI)
	})
	if err != nil || len(res) != 2 || res[0].Title != "A video a,b c" || res[1].Holders != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	if len(streamed) != 2 {
		t.Fatalf("streamed %v", streamed)
	}
	if _, err := c.Search(t.Context(), "fail", apitype.SearchOptions{}, nil); !errors.Is(err, apitype.ErrInvalid) {
		t.Fatalf("fail: %v", err)
	}
	if _, err := c.Search(t.Context(), "  ", apitype.SearchOptions{}, nil); !errors.Is(err, apitype.ErrInvalid) {
		t.Fatalf("empty: %v", err)
	}

	// Over a real node the client answers what the node answers.
	n := newTestNode(t)
	srv := httptest.NewServer(httpapi.New(n, "tok", testLogger(t)))
	defer srv.Close()
	rc := client.New(srv.URL, "tok")
	defer rc.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
	if _, err := n.Add(t.Context(), apitype.AddRequest{Path: filepath.Join(dir, "f"), Title: "Needle in <b>haystack</b>", Kind: "document"}, nil); err != nil {
		t.Fatal(err)
	}
	direct, err1 := n.Search(t.Context(), "needle", apitype.SearchOptions{Kind: "document"}, nil)
	via, err2 := rc.Search(t.Context(), "needle", apitype.SearchOptions{Kind: "document"}, nil)
	if err1 != nil || err2 != nil || len(direct) != 1 || len(via) != 1 || direct[0].MRI != via[0].MRI || direct[0].Score != via[0].Score {
		t.Fatalf("direct %+v %v, via API %+v %v", direct, err1, via, err2)
	}
	if via, err := rc.Search(t.Context(), "needle -haystack", apitype.SearchOptions{}, nil); err != nil || len(via) != 0 {
		t.Fatalf("exclusion via API: %+v %v", via, err)
	}
	if _, err := rc.Search(t.Context(), "needle", apitype.SearchOptions{Limit: -1}, nil); !errors.Is(err, apitype.ErrInvalid) {
		t.Fatalf("negative limit: %v", err)
	}
}
