package webui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/nodetest"
	"github.com/myconet/myconet/node/webui"
)

const token = "test-token-0123456789"

// env is a UI over a real in-process node (on mocknet, with a second node
// connected so that votes have aggregators), served by httptest.
type env struct {
	t    *testing.T
	net  *nodetest.Net
	ui   *webui.UI
	srv  *httptest.Server
	hc   *http.Client // logged in (cookie jar), no redirects followed
	csrf string
	// tempDir is the UI's staging area.
	tempDir string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	nt := nodetest.New(t, 2, nodetest.Options{Override: func(i int, fc *config.FileConfig) {
		fc.Moderation.PowBits = 4
		fc.Moderation.MinVotes = 1
		fc.Moderation.MinTallies = 1
	}})
	nt.Connect(0, 1)
	tmp := t.TempDir()
	ui := webui.New(nt.Nodes[0], webui.Options{Token: token, TempDir: tmp})
	srv := httptest.NewServer(ui)
	t.Cleanup(func() { srv.Close(); ui.Close() })
	e := &env{t: t, net: nt, ui: ui, srv: srv, tempDir: tmp}
	e.hc = newClient()
	e.login()
	return e
}

func newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// loginLink mints a login link as `myconet ui` does.
func (e *env) loginLink() string {
	req, _ := http.NewRequest("POST", e.srv.URL+"/ui/login-link", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp := e.do(http.DefaultClient, req, 200)
	var l webui.LoginLink
	if err := json.Unmarshal([]byte(resp), &l); err != nil {
		e.t.Fatal(err)
	}
	return e.srv.URL + l.Path
}

func (e *env) login() {
	resp, err := e.hc.Get(e.loginLink())
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		e.t.Fatalf("login: %s → %q, want 303 to /ui/", resp.Status, resp.Header.Get("Location"))
	}
	page := e.get("/ui/", 200)
	m := regexp.MustCompile(`X-CSRF-Token": "([0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		e.t.Fatal("no CSRF token on the home page")
	}
	e.csrf = m[1]
}

// do sends req and checks the status; it returns the body.
func (e *env) do(hc *http.Client, req *http.Request, want int) string {
	e.t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s: %s, want %d\n%s", req.Method, req.URL.Path, resp.Status, want, b)
	}
	return string(b)
}

func (e *env) get(path string, want int) string {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	return e.do(e.hc, req, want)
}

// post sends a form with the CSRF header (as htmx does).
func (e *env) post(path string, form url.Values, want int) string {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(webui.CSRFHeader, e.csrf)
	return e.do(e.hc, req, want)
}

// upload posts the publish form: fields, then files named by their paths.
func (e *env) upload(csrf string, fields map[string]string, files map[string]string) *http.Response {
	e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf", csrf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for name, content := range files {
		w, _ := mw.CreateFormFile("file", name)
		_, _ = w.Write([]byte(content))
	}
	mw.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+"/ui/publish", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

func (e *env) publish(title string) string {
	e.t.Helper()
	resp := e.upload(e.csrf, map[string]string{"title": title, "kind": "site", "tags": "demo, web app"},
		map[string]string{"site/index.html": "<h1>hello</h1>", "site/img/dot.png": "\x89PNG\r\n\x1a\n", "site/notes/a.txt": "a"})
	defer resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/package/") {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("publish: %s → %q\n%s", resp.Status, loc, b)
	}
	return strings.TrimPrefix(loc, "/ui/package/")
}

// runJob posts an action that starts a job and polls the job until it is
// done; it returns the finished job's fragment.
func (e *env) runJob(path string, form url.Values) string {
	e.t.Helper()
	job := e.post(path, form, 200)
	id := regexp.MustCompile(`id="job-([0-9a-f]+)"`).FindStringSubmatch(job)
	if id == nil {
		e.t.Fatalf("%s did not start a job:\n%s", path, job)
	}
	var done string
	nodetest.Eventually(e.t, 30*time.Second, path+" done", func() bool {
		done = e.get("/ui/job/"+id[1], 200)
		return strings.Contains(done, "job-done")
	})
	return done
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	anon := newClient()

	// No session: pages go to the login page, calls are refused.
	req, _ := http.NewRequest("GET", e.srv.URL+"/ui/search?q=x", nil)
	resp, err := anon.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/login?next=%2Fui%2Fsearch%3Fq%3Dx" {
		t.Fatalf("no session: %s → %q, want 303 to /ui/login?next=…", resp.Status, resp.Header.Get("Location"))
	}
	req, _ = http.NewRequest("POST", e.srv.URL+"/ui/library/gc", nil)
	req.Header.Set("HX-Request", "true")
	e.do(anon, req, http.StatusUnauthorized)

	// A login link needs the API token.
	req, _ = http.NewRequest("POST", e.srv.URL+"/ui/login-link", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	e.do(anon, req, http.StatusUnauthorized)

	// The link sets an HttpOnly, SameSite=Strict cookie and lands on a clean URL; it works once.
	link := e.loginLink()
	resp, err = anon.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("login: %s → %q", resp.Status, resp.Header.Get("Location"))
	}
	sc := resp.Header.Get("Set-Cookie")
	for _, want := range []string{webui.CookieName + "_", "HttpOnly", "SameSite=Strict", "Path=/ui/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	req, _ = http.NewRequest("GET", e.srv.URL+"/ui/", nil)
	home := e.do(anon, req, 200)
	if !strings.Contains(home, e.net.Nodes[0].Identity().PeerID.String()) {
		t.Error("home does not show the peer ID")
	}
	req, _ = http.NewRequest("GET", link, nil)
	e.do(newClient(), req, http.StatusUnauthorized) // used once already

	// The login form takes the API token (POST, so it stays out of history).
	req, _ = http.NewRequest("POST", e.srv.URL+"/ui/login", strings.NewReader("token=nope"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	e.do(newClient(), req, http.StatusUnauthorized)
	req, _ = http.NewRequest("POST", e.srv.URL+"/ui/login", strings.NewReader("token="+token))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	e.do(newClient(), req, http.StatusSeeOther)

	// After logging in the form goes back to the deep link, never to another site.
	for next, want := range map[string]string{
		"/ui/search?q=x": "/ui/search?q=x", "//evil.example/ui/": "/ui/", "https://evil.example/": "/ui/",
		"/ui/\\evil.example": "/ui/", "/api/v1/id": "/ui/",
	} {
		form := url.Values{"token": {token}, "next": {next}}
		req, _ = http.NewRequest("POST", e.srv.URL+"/ui/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := newClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Location"); got != want {
			t.Errorf("login with next %q went to %q, want %q", next, got, want)
		}
	}

	// Log out: the session is gone.
	cl := newClient()
	req, _ = http.NewRequest("POST", e.srv.URL+"/ui/login", strings.NewReader("token="+token))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	e.do(cl, req, http.StatusSeeOther)
	req, _ = http.NewRequest("GET", e.srv.URL+"/ui/", nil)
	page := e.do(cl, req, 200)
	csrf := regexp.MustCompile(`X-CSRF-Token": "([0-9a-f]+)"`).FindStringSubmatch(page)[1]
	req, _ = http.NewRequest("POST", e.srv.URL+"/ui/logout", strings.NewReader("csrf="+csrf))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	e.do(cl, req, http.StatusSeeOther)
	req, _ = http.NewRequest("GET", e.srv.URL+"/ui/", nil)
	e.do(cl, req, http.StatusSeeOther)
}

// TestSessionExpiry: a login link lasts ten minutes, a session 24 idle hours.
func TestSessionExpiry(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	nt := nodetest.New(t, 1, nodetest.Options{})
	ui := webui.New(nt.Nodes[0], webui.Options{Token: token, Now: clock})
	srv := httptest.NewServer(ui)
	t.Cleanup(func() { srv.Close(); ui.Close() })
	e := &env{t: t, srv: srv, ui: ui}
	link := e.loginLink()
	now = now.Add(11 * time.Minute)
	req, _ := http.NewRequest("GET", link, nil)
	e.do(newClient(), req, http.StatusUnauthorized)

	cl := newClient()
	req, _ = http.NewRequest("GET", e.loginLink(), nil)
	e.do(cl, req, http.StatusSeeOther)
	now = now.Add(23 * time.Hour)
	req, _ = http.NewRequest("GET", srv.URL+"/ui/bookmarks", nil)
	e.do(cl, req, http.StatusOK) // used: the idle time starts again
	now = now.Add(25 * time.Hour)
	req, _ = http.NewRequest("GET", srv.URL+"/ui/bookmarks", nil)
	e.do(cl, req, http.StatusSeeOther)

	// The link the daemon prints at start lasts a day.
	start := srv.URL + ui.NewLoginLink(webui.StartLinkTTL).Path
	now = now.Add(23 * time.Hour)
	req, _ = http.NewRequest("GET", start, nil)
	e.do(newClient(), req, http.StatusSeeOther)
}

func TestSecurityHeadersAndAttacks(t *testing.T) {
	e := newEnv(t)
	resp, err := e.hc.Get(e.srv.URL + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("missing X-Frame-Options or nosniff")
	}

	form := url.Values{"name": {"b1"}, "ref": {"myco://bafyreichtvvneqhcg7gxpvjyp4nepr64cqhfx6rohiqusvygsspryj7ec4"}}
	// CSRF: a logged-in browser's cross-site form post carries the cookie
	// (were SameSite not enforced) but not the token.
	req, _ := http.NewRequest("POST", e.srv.URL+"/ui/bookmarks", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	e.do(e.hc, req, http.StatusForbidden)
	req, _ = http.NewRequest("POST", e.srv.URL+"/ui/bookmarks", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	forged := "0" + e.csrf[1:] // one character off (a token starting with '0' gets '1')
	if forged == e.csrf {
		forged = "1" + e.csrf[1:]
	}
	req.Header.Set(webui.CSRFHeader, forged)
	e.do(e.hc, req, http.StatusForbidden)

	// Another origin, even with cookie and token: a page of a package on the
	// gateway's origin, another site, an opaque origin.
	for _, origin := range []string{
		"http://bafyreichtvvneqhcg7gxpvjyp4nepr64cqhfx6rohiqusvygsspryj7ec4.myco.localhost:8190",
		"http://evil.example", "null", "http://localhost:1",
		"http://127.0.0.1:8190", // the gateway's path form: same site (ports do not count), another origin
	} {
		req, _ = http.NewRequest("POST", e.srv.URL+"/ui/bookmarks", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(webui.CSRFHeader, e.csrf)
		req.Header.Set("Origin", origin)
		e.do(e.hc, req, http.StatusForbidden)
		req, _ = http.NewRequest("GET", e.srv.URL+"/ui/library", nil)
		req.Header.Set("Origin", origin)
		e.do(e.hc, req, http.StatusForbidden)
	}
	// Fetch metadata: a cross-site subresource (fetch, img, iframe) is refused,
	// a cross-site link that opens a page is allowed (it gets no cookie).
	req, _ = http.NewRequest("GET", e.srv.URL+"/ui/library", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	e.do(e.hc, req, http.StatusForbidden)
	req, _ = http.NewRequest("GET", e.srv.URL+"/ui/library", nil)
	req.Header.Set("Sec-Fetch-Site", "same-site")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("Sec-Fetch-Dest", "iframe")
	e.do(e.hc, req, http.StatusForbidden)
	req, _ = http.NewRequest("GET", e.srv.URL+"/ui/library", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("Sec-Fetch-Dest", "document")
	e.do(e.hc, req, http.StatusOK)

	// DNS rebinding: a hostile name that resolves to 127.0.0.1 sends its own Host.
	for _, host := range []string{"evil.example", "evil.example:80", "127.0.0.1.nip.io", "cid.myco.localhost"} {
		req, _ = http.NewRequest("GET", e.srv.URL+"/ui/", nil)
		req.Host = host
		e.do(e.hc, req, http.StatusForbidden)
	}
	for _, host := range []string{"localhost", "127.0.0.1", "[::1]:5190"} {
		req, _ = http.NewRequest("GET", e.srv.URL+"/ui/login", nil)
		req.Host = host
		e.do(newClient(), req, http.StatusOK)
	}

	// With the token, from this origin: accepted.
	req, _ = http.NewRequest("POST", e.srv.URL+"/ui/bookmarks", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(webui.CSRFHeader, e.csrf)
	req.Header.Set("Origin", e.srv.URL)
	e.do(e.hc, req, http.StatusOK)
	// And as a plain form field (no script).
	form.Set("csrf", e.csrf)
	form.Set("name", "b2")
	req, _ = http.NewRequest("POST", e.srv.URL+"/ui/bookmarks", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	e.do(e.hc, req, http.StatusOK)

	// The upload checks the token too (in its first part).
	resp = e.upload("bad", map[string]string{"title": "t"}, map[string]string{"a.txt": "a"})
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("upload with a wrong CSRF token: %s, want 403", resp.Status)
	}
	if pins, _ := e.net.Nodes[0].Pins(context.Background()); len(pins) != 0 {
		t.Errorf("a refused upload pinned %d packages", len(pins))
	}
}

func TestPublishSearchVote(t *testing.T) {
	e := newEnv(t)
	pkg := e.publish("Mushroom field guide")

	page := e.get("/ui/package/"+pkg, 200)
	for _, want := range []string{"Mushroom field guide", "✔ verifies", "index.html", "img/", "Open in gateway", "demo"} {
		if !strings.Contains(page, want) {
			t.Errorf("package page lacks %q", want)
		}
	}
	if card := e.get("/ui/package/"+pkg+"/tally", 200); !strings.Contains(card, "<strong>undecided</strong>: 0 counted votes") {
		t.Errorf("the decision should read once, then why:\n%s", card)
	}
	tree := e.get("/ui/package/"+pkg+"/tree?path=img", 200)
	if !strings.Contains(tree, "/ui/raw/"+pkg+"/img/dot.png") {
		t.Errorf("tree of img/ has no preview of dot.png:\n%s", tree)
	}

	if why := e.get("/ui/package/"+pkg+"/why", 200); !strings.Contains(why, "moderation: <strong>") {
		t.Errorf("moderation badge: %s", why)
	}
	res := e.get("/ui/search?q=mushroom&kind=site", 200)
	if !strings.Contains(res, `id="r-`+pkg+`"`) || !strings.Contains(res, "1 result,") {
		t.Errorf("search does not find the package:\n%s", res)
	}
	if res := e.get("/ui/search?q=mushroom&kind=video", 200); strings.Contains(res, `id="r-`+pkg) {
		t.Error("the kind filter let a site through")
	}

	// Vote keep: a job, polled until done, then the tally counts it.
	done := e.runJob("/ui/package/"+pkg+"/vote", url.Values{"choice": {"keep"}})
	if !strings.Contains(done, "vote-done") || !regexp.MustCompile(`Tally now: <strong>1</strong> keep`).MatchString(done) {
		t.Fatalf("vote result:\n%s", done)
	}
	if bad := e.post("/ui/package/"+pkg+"/vote", url.Values{"choice": {"maybe"}}, 400); !strings.Contains(bad, "keep or remove") {
		t.Errorf("bad choice: %s", bad)
	}

	// This node's own rule: deny, then clear.
	if card := e.post("/ui/package/"+pkg+"/rule", url.Values{"rule": {"deny"}}, 200); !strings.Contains(card, "your rule: deny") {
		t.Errorf("after deny:\n%s", card)
	}
	if card := e.post("/ui/package/"+pkg+"/rule", url.Values{"rule": {"clear"}}, 200); strings.Contains(card, "your rule:") {
		t.Errorf("after clear:\n%s", card)
	}
	e.post("/ui/package/"+pkg+"/rule", url.Values{"rule": {"maybe"}}, 400)

	// Bookmark it; the bookmarks page lists it and resolves its version.
	e.post("/ui/package/"+pkg+"/bookmark", url.Values{"name": {"guide"}}, 200)
	if page := e.get("/ui/bookmarks", 200); !strings.Contains(page, "guide") || strings.Contains(page, ">Follow<") {
		t.Error("bookmarks page lacks the bookmark, or offers to follow a package (only channels can be followed)")
	}
	if v := e.get("/ui/bookmarks/version?ref=myco://"+pkg, 200); !strings.Contains(v, "Mushroom field guide") {
		t.Errorf("bookmark version: %s", v)
	}
	// Home shows it under recent activity and as a local pin.
	if home := e.get("/ui/", 200); !strings.Contains(home, "published") || !strings.Contains(home, "voted keep on") {
		t.Errorf("home lacks the activity:\n%s", home)
	}
	// Library: remove it, then gc.
	lib := e.post("/ui/library/unpin", url.Values{"ref": {pkg}, "reason": {"local"}}, 200)
	if !strings.Contains(lib, "Unpinned") {
		t.Errorf("unpin: %s", lib)
	}
	if gc := e.post("/ui/library/gc", nil, 200); !strings.Contains(gc, "Garbage collection removed") {
		t.Errorf("gc: %s", gc)
	}
}

func TestPublishValidation(t *testing.T) {
	e := newEnv(t)
	resp := e.upload(e.csrf, map[string]string{"title": " ", "language": "not a tag!", "license": "nope nope", "kind": "poem"}, map[string]string{"a.txt": "a"})
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad metadata: %s, want 422", resp.Status)
	}
	for _, f := range []string{"title", "language", "license", "kind"} {
		if !regexp.MustCompile(`id="err-` + f + `">[^<]+</small>`).Match(b) {
			t.Errorf("no message next to %s", f)
		}
		if !strings.Contains(string(b), `aria-describedby="err-`+f+`"`) {
			t.Errorf("field %s is not marked invalid", f)
		}
	}
	for _, tc := range []struct {
		files map[string]string
		want  string
	}{
		{nil, "choose files"},
		{map[string]string{"../../etc/passwd": "x"}, "not a clean relative path"},
		{map[string]string{"a//b": "x"}, "not a clean relative path"},
		{map[string]string{"a\\b": "x"}, "backslash"},
	} {
		resp := e.upload(e.csrf, map[string]string{"title": "ok"}, tc.files)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), tc.want) {
			t.Errorf("files %v: %s, want 422 with %q", tc.files, resp.Status, tc.want)
		}
	}
	if pins, _ := e.net.Nodes[0].Pins(context.Background()); len(pins) != 0 {
		t.Errorf("refused uploads pinned %d packages", len(pins))
	}
}

func TestSettingsApplied(t *testing.T) {
	e := newEnv(t)
	bad := e.post("/ui/settings/quota", url.Values{"resource": {"disk"}, "value": {"lots"}}, http.StatusUnprocessableEntity)
	if !strings.Contains(bad, `id="err-disk"`) {
		t.Errorf("no error next to disk:\n%s", bad)
	}
	ok := e.post("/ui/settings/quota", url.Values{"resource": {"disk"}, "value": {"3GB"}}, 200)
	if !strings.Contains(ok, "disk set to 3GB") {
		t.Errorf("quota answer:\n%s", ok)
	}
	q, err := e.net.Nodes[0].Quota(context.Background())
	if err != nil || q.Disk != 3_000_000_000 {
		t.Fatalf("disk quota now %d (%v), want 3GB", q.Disk, err)
	}
	e.post("/ui/settings/config", url.Values{"key": {"moderation.refresh"}, "value": {"30m"}}, 200)
	if v, _ := e.net.Nodes[0].ConfigGet(context.Background(), "moderation.refresh"); v != "30m" {
		t.Errorf("moderation.refresh = %q, want 30m", v)
	}
	bad = e.post("/ui/settings/config", url.Values{"key": {"moderation.refresh"}, "value": {"soon"}}, http.StatusUnprocessableEntity)
	if !strings.Contains(bad, "field-error") {
		t.Errorf("no error for a bad moderation.refresh:\n%s", bad)
	}
	e.post("/ui/settings/config", url.Values{"key": {"api.address"}, "value": {"0.0.0.0:1"}}, http.StatusUnprocessableEntity)
	if v, _ := e.net.Nodes[0].ConfigGet(context.Background(), "api.address"); v == "0.0.0.0:1" {
		t.Error("the settings page changed a key it does not offer")
	}
	if page := e.get("/ui/settings", 200); !strings.Contains(page, `value="3GB"`) {
		t.Error("settings page does not show the new disk quota")
	}
}

func TestRawPreviewOnlyMedia(t *testing.T) {
	e := newEnv(t)
	pkg := e.publish("Previews")
	req, _ := http.NewRequest("GET", e.srv.URL+"/ui/raw/"+pkg+"/img/dot.png", nil)
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || string(b) != "\x89PNG\r\n\x1a\n" {
		t.Fatalf("png preview: %s %q %q", resp.Status, resp.Header.Get("Content-Type"), b)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") {
		t.Errorf("preview CSP %q is not sandboxed", csp)
	}
	// A range request (a video seeks).
	req.Header.Set("Range", "bytes=1-3")
	if got := e.do(e.hc, req, http.StatusPartialContent); got != "PNG" {
		t.Errorf("range: %q", got)
	}
	// HTML is never served from the UI's origin.
	e.get("/ui/raw/"+pkg+"/index.html", http.StatusUnsupportedMediaType)
	e.get("/ui/raw/"+pkg+"/notes/a.txt", http.StatusUnsupportedMediaType)
}

// TestJobsStopOnClose: Close cancels running jobs and waits for them.
func TestJobsStopOnClose(t *testing.T) {
	leakcheck.Check(t)
	e := newEnv(t)
	pkg := e.publish("Close")
	e.post("/ui/package/"+pkg+"/download", nil, 200)
	done := make(chan struct{})
	go func() { e.ui.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	if got := e.post("/ui/package/"+pkg+"/download", nil, http.StatusServiceUnavailable); !strings.Contains(got, "shutting down") {
		t.Errorf("a job after Close: %s", got)
	}
}

// TestUploadLimits: an upload larger than the disk quota has room for is
// refused with a message by the files, nothing is added, and the staging
// area is emptied; New removes what a crash left there.
func TestUploadLimits(t *testing.T) {
	e := newEnv(t)
	if _, err := e.net.Nodes[0].SetQuota(context.Background(), "disk", "64KB"); err != nil {
		t.Fatal(err)
	}
	resp := e.upload(e.csrf, map[string]string{"title": "big"}, map[string]string{"big.bin": strings.Repeat("x", 100_000)})
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), "disk quota has room for") {
		t.Fatalf("upload over the quota: %s\n%s", resp.Status, b)
	}
	if pins, _ := e.net.Nodes[0].Pins(context.Background()); len(pins) != 0 {
		t.Errorf("an upload over the quota pinned %d packages", len(pins))
	}

	dir := t.TempDir()
	left := filepath.Join(dir, "myconet-upload-123", "upload")
	if err := os.MkdirAll(left, 0o700); err != nil {
		t.Fatal(err)
	}
	ui := webui.New(e.net.Nodes[0], webui.Options{Token: token, TempDir: dir})
	defer ui.Close()
	if _, err := os.Stat(filepath.Dir(left)); !os.IsNotExist(err) {
		t.Errorf("a crashed upload's staging directory is still there: %v", err)
	}
	resp = e.upload(e.csrf, map[string]string{"title": "small"}, map[string]string{"a.txt": "a"})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("small upload: %s", resp.Status)
	}
	ents, _ := os.ReadDir(e.tempDir)
	if len(ents) != 0 {
		t.Errorf("staging area not emptied after publishing: %v", ents)
	}
}

func TestAnnotateAndNetwork(t *testing.T) {
	e := newEnv(t)
	pkg := e.publish("Annotated guide")
	if bad := e.post("/ui/package/"+pkg+"/annotate", url.Values{}, 400); !strings.Contains(bad, "write a tag") {
		t.Errorf("empty annotation: %s", bad)
	}
	done := e.runJob("/ui/package/"+pkg+"/annotate", url.Values{"tags": {"fungi, forest"}, "note": {"lovely"}})
	if !strings.Contains(done, "annotate-done") {
		t.Fatalf("annotation result:\n%s", done)
	}

	// Network: the peer is listed; a firewall rule is added, then removed;
	// a bad rule and a bad ping address get one clear line.
	page := e.get("/ui/network", 200)
	if !strings.Contains(page, e.net.Nodes[1].Identity().PeerID.String()) {
		t.Error("network page does not list the connected peer")
	}
	fw := e.post("/ui/network/firewall", url.Values{"op": {"add"}, "rule": {"allow tcp 8000"}}, 200)
	if !strings.Contains(fw, "<code>allow tcp 8000</code>") {
		t.Errorf("firewall after add:\n%s", fw)
	}
	if got, _ := e.net.Nodes[0].Firewall(context.Background()); !strings.Contains(strings.Join(got.Rules, ";"), "allow tcp 8000") {
		t.Errorf("node firewall: %v", got.Rules)
	}
	fw = e.post("/ui/network/firewall", url.Values{"op": {"remove"}, "rule": {"allow tcp 8000"}}, 200)
	if strings.Contains(fw, "<code>allow tcp 8000</code>") {
		t.Errorf("firewall after remove:\n%s", fw)
	}
	if fw := e.post("/ui/network/firewall", url.Values{"op": {"add"}, "rule": {"let everyone in"}}, 200); !strings.Contains(fw, `class="alert"`) {
		t.Errorf("bad rule:\n%s", fw)
	}
	if bad := e.post("/ui/network/ping", url.Values{"addr": {"192.0.2.1"}}, 400); !strings.Contains(bad, "not an overlay address") {
		t.Errorf("bad ping: %s", bad)
	}
}

// streamingAPI is a node whose search answers one result, then waits.
type streamingAPI struct {
	apitype.API
	release chan struct{}
}

func (s streamingAPI) Search(ctx context.Context, q string, opts apitype.SearchOptions, on func(apitype.SearchResult)) ([]apitype.SearchResult, error) {
	first := apitype.SearchResult{Package: "bafyfirst", Title: "First to answer", Holders: 1}
	on(first)
	<-s.release
	second := apitype.SearchResult{Package: "bafysecond", Title: "Second to answer", Holders: 2}
	on(second)
	return []apitype.SearchResult{second, first}, nil
}

// TestSearchStreams: a result is on the page before the search ends, and
// the ranked order comes last.
func TestSearchStreams(t *testing.T) {
	nt := nodetest.New(t, 1, nodetest.Options{})
	api := streamingAPI{API: nt.Nodes[0], release: make(chan struct{})}
	ui := webui.New(api, webui.Options{Token: token})
	srv := httptest.NewServer(ui)
	t.Cleanup(func() { srv.Close(); ui.Close() })
	e := &env{t: t, srv: srv, ui: ui, hc: newClient()}
	req, _ := http.NewRequest("GET", e.loginLink(), nil)
	e.do(e.hc, req, http.StatusSeeOther)

	resp, err := e.hc.Get(srv.URL + "/ui/search?q=answer")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	chunks := make(chan string, 64)
	go func() {
		defer close(chunks)
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			chunks <- string(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	var got strings.Builder
	timeout := time.After(5 * time.Second)
	for !strings.Contains(got.String(), "First to answer") {
		select {
		case c := <-chunks:
			got.WriteString(c)
		case <-timeout:
			close(api.release)
			t.Fatalf("the first result did not arrive before the search ended:\n%s", got.String())
		}
	}
	if strings.Contains(got.String(), "search-summary") {
		t.Fatal("the summary came before the search ended")
	}
	close(api.release)
	var rest strings.Builder
	for c := range chunks {
		rest.WriteString(c)
	}
	all := got.String() + rest.String()
	if !strings.Contains(all, `data-order="bafysecond bafyfirst"`) || !strings.Contains(all, "2 results") {
		t.Errorf("end of the stream:\n%s", rest.String())
	}
}

// TestChannelFromPackagePage: a package is published to a channel from its
// page; the bookmarks page lists the channel, and a bookmark of its MRI
// resolves to the package.
func TestChannelFromPackagePage(t *testing.T) {
	e := newEnv(t)
	pkg := e.publish("Weekly notes")
	out := e.post("/ui/package/"+pkg+"/channel", url.Values{"channel": {"notes"}}, 200)
	m := regexp.MustCompile(`<code class="cid">(myco://[^<]+/notes)</code>`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("channel answer:\n%s", out)
	}
	if bad := e.post("/ui/package/"+pkg+"/channel", url.Values{"channel": {"no/slash"}}, 400); !strings.Contains(bad, "alert") {
		t.Errorf("bad channel name: %s", bad)
	}
	if page := e.get("/ui/bookmarks", 200); !strings.Contains(page, m[1]) {
		t.Error("bookmarks page does not list the channel")
	}
	e.post("/ui/bookmarks", url.Values{"name": {"notes"}, "ref": {m[1]}, "follow": {"1"}}, 200)
	if page := e.get("/ui/bookmarks", 200); !strings.Contains(page, ">Unfollow<") {
		t.Error("a followed channel has no Unfollow button")
	}
	if v := e.get("/ui/bookmarks/version?ref="+url.QueryEscape(m[1]), 200); !strings.Contains(v, "Weekly notes") {
		t.Errorf("followed channel's version: %s", v)
	}
}

// TestSingleFilePreview: a package that is one image shows it inline, from
// the package's content root.
func TestSingleFilePreview(t *testing.T) {
	e := newEnv(t)
	resp := e.upload(e.csrf, map[string]string{"title": "A dot"}, map[string]string{"dot.png": "\x89PNG\r\n\x1a\nsingle"})
	resp.Body.Close()
	pkg := strings.TrimPrefix(resp.Header.Get("Location"), "/ui/package/")
	if resp.StatusCode != http.StatusSeeOther || pkg == "" {
		t.Fatalf("publish: %s", resp.Status)
	}
	page := e.get("/ui/package/"+pkg, 200)
	m := regexp.MustCompile(`<img src="(/ui/raw/[^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no inline image on the page of a one-image package:\n%s", page)
	}
	if got := e.get(strings.ReplaceAll(m[1], "&amp;", "&"), 200); got != "\x89PNG\r\n\x1a\nsingle" {
		t.Errorf("preview bytes %q", got)
	}

	// A one-file HTML package is never served from the UI's origin, even
	// under an image's name.
	resp = e.upload(e.csrf, map[string]string{"title": "Sneaky"}, map[string]string{"x.png": "<html><script>alert(1)</script>"})
	resp.Body.Close()
	html := strings.TrimPrefix(resp.Header.Get("Location"), "/ui/package/")
	if page := e.get("/ui/package/"+html, 200); strings.Contains(page, "/ui/raw/") {
		t.Error("an HTML file got an inline preview")
	}
	e.get("/ui/raw/"+html+"/file?file=1", http.StatusUnsupportedMediaType)
}

// TestStaticFiles: pages load the embedded files by addresses that carry
// their content hash; the licenses are not served.
func TestStaticFiles(t *testing.T) {
	e := newEnv(t)
	home := e.get("/ui/", 200)
	m := regexp.MustCompile(`src="(/ui/static/app\.js\?v=[0-9a-f]{12})"`).FindStringSubmatch(home)
	if m == nil {
		t.Fatal("home does not load app.js by a hashed address")
	}
	resp, err := e.hc.Get(e.srv.URL + m[1])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("app.js: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	e.get("/ui/static/htmx.LICENSE", http.StatusNotFound)
	e.get("/ui/static/nope.js", http.StatusNotFound)
}

// The library shows when each package was last read here.
func TestLibraryShowsLastRead(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("spores"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := e.net.Nodes[0].Add(t.Context(), apitype.AddRequest{Path: filepath.Join(dir, "notes.txt"), Title: "Notes"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	page := e.get("/ui/library", 200)
	if !strings.Contains(page, "<th>Last read</th>") {
		t.Fatalf("no last-read column:\n%s", page)
	}
	pins, err := e.net.Nodes[0].Pins(t.Context())
	if err != nil || len(pins) != 1 || pins[0].Accessed.IsZero() || pins[0].MRI != res.MRI {
		t.Fatalf("pins %+v %v: want one with its access time", pins, err)
	}
}
