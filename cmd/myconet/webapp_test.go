package main_test

// The web app in a real headless browser (Debian's chromium, driven by
// chromedp) against real daemons: log in with the link `myconet ui` prints,
// publish a site through the upload form, find it, open it, vote, bookmark,
// change a quota, download it on a second daemon and read it there offline;
// and a page of a package (the gateway's origin) that tries to use the UI
// and the API. Screenshots of the main pages go to docs/screenshots/.

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// chromium returns the browser's path, or "" when none is installed.
func chromium() string {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// newBrowser starts a headless chromium with a fresh profile; the returned
// context drives its first tab.
func newBrowser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	path := chromium()
	if path == "" {
		t.Skip("no chromium at /usr/bin/chromium (apt-get install chromium): skipping the browser test")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	tctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelT(); cancelB(); cancelA() })
	if err := chromedp.Do(tctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return tctx
}

// run runs browser actions and fails the test with what step failed.
func run(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ""`))
		t.Fatalf("%s: %v\nat %s\n%s", step, err, loc, body)
	}
}

// value runs one browser action that returns a value.
func value[T any](t *testing.T, ctx context.Context, step string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	return v
}

func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	return value(t, ctx, "text of #"+id, chromedp.Text(chromedp.ID(id)))
}

// screenshot writes the page to docs/screenshots/<name>.png (the README
// shows them) when MYCONET_SCREENSHOTS is set, else to the test's temp dir.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := t.TempDir()
	if os.Getenv("MYCONET_SCREENSHOTS") != "" {
		dir = filepath.Join("..", "..", "docs", "screenshots")
	}
	buf := value(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// webSite writes the small site the test publishes; attack.html tries to
// use the UI and the API of the daemon from the package's origin.
func webSite(t *testing.T, dir, uiBase string) []string {
	t.Helper()
	files := map[string]string{
		"index.html": `<!doctype html><title>Chanterelle notes</title><link rel="stylesheet" href="style.css"><h1 id="hello">Chanterelles of the northern woods</h1><p>Offline reading works.</p>`,
		"style.css":  "h1 { color: darkorange }\n",
		"attack.html": `<!doctype html><title>attack</title><pre id="out"></pre><script>
const ui = ` + jsString(uiBase) + `;
const out = [];
async function tryit(name, f) {
  try { const r = await f(); out.push(name + ": status " + r.status + " type " + r.type + " body " + (r.type === "opaque" ? "" : (await r.text()).slice(0, 80))); }
  catch (e) { out.push(name + ": blocked " + e.name); }
}
(async () => {
  await tryit("ui-read", () => fetch(ui + "/ui/", {credentials: "include"}));
  await tryit("ui-post", () => fetch(ui + "/ui/bookmarks", {method: "POST", mode: "no-cors", credentials: "include",
    body: new URLSearchParams({name: "pwned", ref: "myco://bafyreichtvvneqhcg7gxpvjyp4nepr64cqhfx6rohiqusvygsspryj7ec4"})}));
  await tryit("api-read", () => fetch(ui + "/api/v1/bookmarks", {credentials: "include"}));
  await tryit("api-post", () => fetch(ui + "/api/v1/bookmarks", {method: "POST", mode: "no-cors", credentials: "include",
    body: JSON.stringify({name: "pwned2", ref: "myco://bafyreichtvvneqhcg7gxpvjyp4nepr64cqhfx6rohiqusvygsspryj7ec4"})}));
  document.getElementById("out").textContent = out.join("\n");
  document.title = "done";
})();
</script>`,
	}
	var paths []string
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestWebApp(t *testing.T) {
	ctx := newBrowser(t, 100*time.Second)
	start := time.Now()

	a := newUser(t)
	a.ok("init")
	a.ok("config", "set", "moderation.pow_bits", "12") // a vote's work in milliseconds
	da := a.startDaemon("--api", "127.0.0.1:0", "--gateway", "127.0.0.1:0", "--no-tun")
	waitFor(t, "the web app line", 10*time.Second, func() bool { return strings.Contains(da.stdout.String(), "Web app http://") })
	// The link the daemon printed at start logs in once.
	started := regexp.MustCompile(`Web app (http://\S+)`).FindStringSubmatch(da.stdout.String())
	for i, want := range []int{http.StatusSeeOther, http.StatusUnauthorized} {
		resp, err := noRedirects.Get(started[1])
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("start link, use %d: %s, want %d", i+1, resp.Status, want)
		}
	}
	link := strings.TrimSpace(a.ok("ui"))
	if !strings.HasPrefix(link, "http://127.0.0.1:") || !strings.Contains(link, "/ui/login?code=") {
		t.Fatalf("myconet ui printed %q", link)
	}
	base := link[:strings.Index(link, "/ui/")]

	// Log in: the address bar then shows a clean URL.
	var loc, peerID string
	run(t, ctx, "log in",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("peer-id")))
	loc = value(t, ctx, "location", chromedp.Location())
	peerID = text(t, ctx, "peer-id")
	if loc != base+"/ui/" {
		t.Errorf("after login the address is %q, want %q", loc, base+"/ui/")
	}
	var id struct {
		PeerID string `json:"peer_id"`
		Listen []string
	}
	a.okJSON(&id, "id")
	if strings.TrimSpace(peerID) != id.PeerID {
		t.Errorf("home shows peer %q, want %q", peerID, id.PeerID)
	}

	// Publish through the upload form: first without a title (the message
	// appears next to the field), then properly.
	files := webSite(t, t.TempDir(), base)
	var errText string
	run(t, ctx, "publish without a title",
		chromedp.Navigate(base+"/ui/publish"),
		chromedp.WaitVisible(chromedp.ID("publish-form")),
		chromedp.SetUploadFiles(chromedp.CSS(`input[name="files"]`), files),
		chromedp.Click(chromedp.ID("publish-btn")),
		chromedp.WaitVisible(chromedp.ID("err-title")))
	errText = text(t, ctx, "err-title")
	if !strings.Contains(errText, "required") {
		t.Errorf("title error = %q", errText)
	}
	screenshot(t, ctx, "publish")
	run(t, ctx, "publish",
		chromedp.SetUploadFiles(chromedp.CSS(`input[name="files"]`), files),
		chromedp.SendKeys(chromedp.ID("f-title"), "Chanterelle notes"),
		chromedp.SendKeys(chromedp.ID("f-tags"), "mushrooms, foraging"),
		chromedp.SetValue(chromedp.ID("f-kind"), "site"),
		chromedp.SendKeys(chromedp.ID("f-entry"), "index.html"),
		chromedp.Click(chromedp.ID("publish-btn")),
		chromedp.WaitVisible(chromedp.ID("pkg-title")))
	loc = value(t, ctx, "location", chromedp.Location())
	pkg := strings.TrimPrefix(loc, base+"/ui/package/")
	if pkg == loc || strings.Contains(pkg, "/") {
		t.Fatalf("after publishing the browser is at %q", loc)
	}

	// Find it by search.
	run(t, ctx, "search",
		chromedp.Navigate(base+"/ui/search?q=chanterelle"),
		chromedp.WaitVisible(chromedp.ID("#r-"+pkg)),
		chromedp.WaitVisible(chromedp.ID("search-summary")))
	screenshot(t, ctx, "search")

	// Open its page, vote keep, see the tally count the vote.
	var tally string
	run(t, ctx, "vote",
		chromedp.Click(chromedp.CSS(`#r-`+pkg+` h3 a`)),
		chromedp.WaitVisible(chromedp.ID("vote-keep")),
		chromedp.Click(chromedp.ID("vote-keep")),
		chromedp.WaitVisible(chromedp.ID("tally-after")))
	tally = text(t, ctx, "tally-after")
	if !strings.Contains(tally, "counts 1 keep") {
		t.Errorf("tally after the vote: %q", tally)
	}

	// Bookmark it.
	var note string
	run(t, ctx, "bookmark",
		chromedp.SendKeys(chromedp.CSS(`#bookmark-form input[name="name"]`), "chanterelles"),
		chromedp.Click(chromedp.CSS(`#bookmark-form button`)),
		chromedp.WaitVisible(chromedp.CSS("#bookmark-status .ok")))
	note = text(t, ctx, "bookmark-status")
	if !strings.Contains(note, "chanterelles") {
		t.Errorf("bookmark answer %q", note)
	}
	screenshot(t, ctx, "package")

	// Change a quota: a bad value gets a message beside it, a good one applies.
	var qerr string
	run(t, ctx, "quota",
		chromedp.Navigate(base+"/ui/settings"),
		chromedp.WaitVisible(chromedp.ID("quota-disk")),
		chromedp.SetValue(chromedp.CSS(`#quota-disk input[name="value"]`), "plenty"),
		chromedp.Click(chromedp.CSS(`#quota-disk button`)),
		chromedp.WaitVisible(chromedp.ID("err-disk")))
	qerr = text(t, ctx, "err-disk")
	run(t, ctx, "quota, a good value",
		chromedp.SetValue(chromedp.CSS(`#quota-disk input[name="value"]`), "7GB"),
		chromedp.Click(chromedp.CSS(`#quota-disk button`)),
		chromedp.WaitVisible(chromedp.ID("settings-notice")))
	if qerr == "" {
		t.Error("no message for a bad disk quota")
	}
	var q struct{ Disk int64 }
	a.okJSON(&q, "quota", "show")
	if q.Disk != 7_000_000_000 {
		t.Errorf("disk quota after the settings page: %d, want 7GB", q.Disk)
	}
	screenshot(t, ctx, "settings")
	for _, p := range []string{"bookmarks", "library"} {
		run(t, ctx, p, chromedp.Navigate(base+"/ui/"+p), chromedp.WaitVisible(chromedp.CSS("main h1")))
		screenshot(t, ctx, p)
	}
	run(t, ctx, "home", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("live")))
	if loc = value(t, ctx, "location", chromedp.Location()); loc != base+"/ui/" {
		t.Errorf("the bare address led to %q, want the web app", loc)
	}
	screenshot(t, ctx, "home")

	// A page of a package, in the same logged-in browser, tries to use the
	// UI and the API: on its own origin (<cid>.myco.localhost), and on the
	// gateway's path form (127.0.0.1:<port>/myco/<cid>/: the same site as
	// the UI, where SameSite cookies do travel). It can neither read nor
	// change anything.
	gw := strings.TrimSpace(a.ok("open", "myco://"+pkg))
	var st struct{ Gateway string }
	a.okJSON(&st, "status")
	for _, page := range []string{strings.TrimSuffix(gw, "/") + "/attack.html", "http://" + st.Gateway + "/myco/" + pkg + "/attack.html"} {
		attack(t, ctx, page)
	}
	if marks := a.ok("bookmark", "ls"); strings.Contains(marks, "pwned") {
		t.Errorf("a package page added a bookmark:\n%s", marks)
	}

	// A second daemon downloads the site through its own web app; with the
	// first stopped, the site still opens from the second's gateway.
	b := newUser(t)
	b.ok("init")
	b.startDaemon("--api", "127.0.0.1:0", "--gateway", "127.0.0.1:0", "--no-tun")
	b.ok("connect", id.Listen[0])
	link2 := strings.TrimSpace(b.ok("ui"))
	base2 := link2[:strings.Index(link2, "/ui/")]
	var gw2 string
	run(t, ctx, "download on the second daemon",
		chromedp.Navigate(link2),
		chromedp.WaitVisible(chromedp.ID("peer-id")),
		chromedp.Navigate(base2+"/ui/package/"+pkg),
		chromedp.WaitVisible(chromedp.ID("download-btn")),
		chromedp.Click(chromedp.ID("download-btn")),
		chromedp.WaitVisible(chromedp.ID("download-done")))
	gw2 = value(t, ctx, "gateway link", chromedp.AttributeValue(chromedp.ID("gateway-link"), "href")).Value
	run(t, ctx, "network page", chromedp.Navigate(base2+"/ui/network"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	screenshot(t, ctx, "network")
	run(t, ctx, "phone-sized home", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base2+"/ui/"), chromedp.WaitVisible(chromedp.ID("live")))
	screenshot(t, ctx, "home-phone")
	run(t, ctx, "desktop again", chromedp.EmulateViewport(1200, 900))
	da.stop()
	var h1 string
	run(t, ctx, "read offline",
		chromedp.Navigate(gw2),
		chromedp.WaitVisible(chromedp.ID("hello")))
	h1 = text(t, ctx, "hello")
	if h1 != "Chanterelles of the northern woods" {
		t.Errorf("offline page shows %q", h1)
	}
	t.Logf("browser test took %s", time.Since(start).Round(time.Millisecond))
}

// TestUICommandNeedsDaemon: without a daemon, `myconet ui` says how to start one.
func TestUICommandNeedsDaemon(t *testing.T) {
	u := newUser(t)
	u.ok("init")
	if msg := u.fail(1, "ui"); !strings.Contains(msg, "myconet daemon") {
		t.Errorf("ui without a daemon: %s", msg)
	}
}

// attack opens a package page that tries to read and change the UI and the
// API (attack.html of webSite) and checks that every try failed.
func attack(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	run(t, ctx, "attack page "+page,
		chromedp.Navigate(page),
		chromedp.WaitReady(chromedp.ID("out")),
		func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Poll[bool](`document.title === "done"`, chromedp.WithPollingTimeout(20*time.Second))(ctx, tg)
			return chromedp.Void{}, err
		})
	out := value(t, ctx, "attack results", chromedp.Evaluate[string](`document.getElementById("out").textContent`))
	if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != 4 {
		t.Fatalf("the attack page %s reported %d results, want 4:\n%s", page, n, out)
	}
	t.Logf("attack page %s:\n%s", page, out)
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "status 200") || strings.Contains(line, "Myconet") || strings.Contains(line, "peer") {
			t.Errorf("a package page reached the UI or API: %s", line)
		}
	}
}
