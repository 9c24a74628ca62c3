package gateway_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/myconet/myconet/internal/browser"
	"github.com/myconet/myconet/node/apitype"
)

// browserResult navigates to u and returns the JSON the page's script puts
// in window.result, once it does.
func browserResult(t *testing.T, ctx context.Context, u string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		t.Fatalf("navigate %s: %v", u, err)
	}
	s, err := chromedp.Run(ctx, chromedp.Poll[string]("window.result", chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s (now at %s): no result: %v", u, loc, err)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: result %q: %v", u, s, err)
	}
	return m
}

// TestGatewayBrowserPathForm opens a JavaScript site by the path form in
// Chromium: its own fetch and localStorage must work (issue 10, item 19;
// under the former CSP sandbox both failed on an opaque origin).
func TestGatewayBrowserPathForm(t *testing.T) {
	ctx := browser.Start(t)
	f := newGatewayFixture(t)
	site := map[string]string{
		"data/x.json": `{"v":"fetched"}`,
		"index.html": `<!DOCTYPE html><html><body><script>
(async () => {
  const out = {origin: location.origin};
  try { out.fetch = (await (await fetch('data/x.json')).json()).v; } catch (e) { out.fetch = 'error: ' + e; }
  try { localStorage.setItem('k', 'stored'); out.storage = localStorage.getItem('k'); } catch (e) { out.storage = 'error: ' + e; }
  try { document.cookie = 'c=baked; path=/'; out.cookie = document.cookie; } catch (e) { out.cookie = 'error: ' + e; }
  window.result = JSON.stringify(out);
})();
</script></body></html>`,
	}
	res, err := f.n.Add(t.Context(), apitype.AddRequest{Path: gwWriteTree(t, site), Title: "js site"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"origin": "http://" + f.origin(res.Package), "fetch": "fetched", "storage": "stored", "cookie": "c=baked"}
	for _, u := range []string{
		"http://127.0.0.1:" + f.port + "/myco/" + res.Package + "/",
		"http://localhost:" + f.port + "/myco/" + res.Package + "/index.html",
		"http://" + f.origin(res.Package) + "/",
	} {
		got := browserResult(t, ctx, u)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", u, k, got[k], v)
			}
		}
	}
}

// TestGatewayBrowserCookieIsolation is the attack of issue 10, item 20: a
// page of package A sets cookies widened to every parent domain of its host
// (as "domain=myco.localhost" did under the former <cid>.myco.localhost
// origins) and writes localStorage; a page of package B must read none of
// it, nor read A's files.
func TestGatewayBrowserCookieIsolation(t *testing.T) {
	ctx := browser.Start(t)
	f := newGatewayFixture(t)
	attacker := map[string]string{
		"secret.txt": "A's secret",
		"index.html": `<!DOCTYPE html><html><body><script>
const labels = location.hostname.split('.');
for (let i = 1; i < labels.length; i++) {
  document.cookie = 'wide' + i + '=secret; path=/; domain=' + labels.slice(i).join('.');
}
document.cookie = 'wide0=secret; path=/; domain=localhost';
document.cookie = 'own=secret; path=/';
localStorage.setItem('secret', 'A');
window.result = JSON.stringify({cookie: document.cookie, storage: localStorage.getItem('secret')});
</script></body></html>`,
	}
	a, err := f.n.Add(t.Context(), apitype.AddRequest{Path: gwWriteTree(t, attacker), Title: "A"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reader := map[string]string{
		"index.html": `<!DOCTYPE html><html><body><script>
(async () => {
  const out = {cookie: document.cookie, storage: String(localStorage.getItem('secret'))};
  try { out.fetch = await (await fetch(new URLSearchParams(location.search).get('a') + 'secret.txt')).text(); } catch (e) { out.fetch = 'refused'; }
  window.result = JSON.stringify(out);
})();
</script></body></html>`,
	}
	b, err := f.n.Add(t.Context(), apitype.AddRequest{Path: gwWriteTree(t, reader), Title: "B"}, nil)
	if err != nil {
		t.Fatal(err)
	}

	got := browserResult(t, ctx, "http://"+f.origin(a.Package)+"/")
	if !strings.Contains(got["cookie"], "own=secret") || got["storage"] != "A" {
		t.Fatalf("package A's own cookie and storage: %v", got)
	}
	aURL := "http://" + f.origin(a.Package) + "/"
	got = browserResult(t, ctx, "http://"+f.origin(b.Package)+"/?a="+aURL)
	if got["cookie"] != "" || got["storage"] != "null" || got["fetch"] != "refused" {
		t.Errorf("package B reads package A's data: %v", got)
	}
	// The former origins redirect before any script runs, so they cannot
	// share cookies either.
	got = browserResult(t, ctx, "http://"+b.Package+".myco.localhost:"+f.port+"/?a="+aURL)
	if got["cookie"] != "" || got["storage"] != "null" || !strings.Contains(got["fetch"], "refused") {
		t.Errorf("package B on its former host reads package A's data: %v", got)
	}
}
