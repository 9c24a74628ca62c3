package gateway_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/content"
	"github.com/myconet/myconet/node/gateway"
)

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestGatewaySymlinkedSite is issue 10, item 27: a site whose pages load
// files through symlinks, as Debian's documentation packages do
// (_static/jquery.js -> /usr/share/javascript/…), works through the gateway:
// links that leave the tree are followed at add (their content goes into
// the package), links inside it are kept and the gateway resolves them.
func TestGatewaySymlinkedSite(t *testing.T) {
	f := newGatewayFixture(t)
	outside := gwWriteTree(t, map[string]string{
		"javascript/jquery/jquery.js": "jQuery()\n",
		"sphinx/theme/main.css":       "body{}\n",
		"loose.txt":                   "loose\n",
	})
	symlink(t, "main.css", filepath.Join(outside, "sphinx/theme/alias.css")) // inside the followed directory
	site := gwWriteTree(t, map[string]string{
		"index.html":       `<script src="_static/jquery.js"></script>`,
		"docs/page.html":   "page\n",
		"sub/deep/x.html":  "deep\n",
		"_static/own.css":  "own\n",
		"other/loose.html": "x\n",
	})
	symlink(t, filepath.Join(outside, "javascript/jquery/jquery.js"), filepath.Join(site, "_static/jquery.js")) // absolute, leaves
	symlink(t, filepath.Join(outside, "sphinx/theme"), filepath.Join(site, "_static/theme"))                    // a directory, leaves
	rel, err := filepath.Rel(filepath.Join(site, "docs"), filepath.Join(outside, "loose.txt"))
	if err != nil {
		t.Fatal(err)
	}
	symlink(t, rel, filepath.Join(site, "docs/loose.txt"))                  // relative, climbs out
	symlink(t, "../index.html", filepath.Join(site, "docs/home.html"))      // inside, a file
	symlink(t, "../_static", filepath.Join(site, "docs/static"))            // inside, a directory
	symlink(t, "deep/../deep/x.html", filepath.Join(site, "sub/link.html")) // inside, through ..
	symlink(t, ".", filepath.Join(site, "sub/loop"))                        // inside, its own directory

	res, err := f.n.Add(t.Context(), apitype.AddRequest{Path: site, Title: "linked"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l := res.Links; l == nil || l.Followed != 3 || l.Kept != 5 || l.Dangling != 0 || len(l.Examples) == 0 {
		t.Errorf("links report %+v", l)
	}
	origin := f.origin(res.Package)
	for p, want := range map[string]string{
		"/_static/jquery.js":           "jQuery()\n",
		"/_static/theme/main.css":      "body{}\n",
		"/_static/theme/alias.css":     "body{}\n",
		"/docs/loose.txt":              "loose\n",
		"/docs/home.html":              `<script src="_static/jquery.js"></script>`,
		"/docs/static/own.css":         "own\n",
		"/docs/static/jquery.js":       "jQuery()\n",
		"/docs/static/theme/alias.css": "body{}\n",
		"/sub/link.html":               "deep\n",
		"/sub/loop/loop/deep/x.html":   "deep\n",
	} {
		resp, body := f.get(origin, p)
		if resp.StatusCode != 200 || body != want {
			t.Errorf("%s: %d %q, want %q", p, resp.StatusCode, body, want)
		}
	}
	if resp, _ := f.get(origin, "/_static/jquery.js"); !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("a followed script's type: %q", resp.Header.Get("Content-Type"))
	}
	if resp, _ := f.get(origin, "/docs/static"); resp.StatusCode != 301 || resp.Header.Get("Location") != "/docs/static/" {
		t.Errorf("a linked directory without its slash: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Too many links on one path is a loop, answered 404 with its reason.
	resp, body := f.get(origin, "/sub"+strings.Repeat("/loop", gateway.MaxLinkHops+1)+"/deep/x.html")
	if resp.StatusCode != 404 || !strings.Contains(body, "symlink loop") {
		t.Errorf("link loop: %d %s", resp.StatusCode, body)
	}
	if resp, body := f.get(origin, "/docs/nope/x"); resp.StatusCode != 404 || !strings.Contains(body, "no such path") {
		t.Errorf("missing path: %d %s", resp.StatusCode, body)
	}

	// --no-follow-links keeps the links that leave: the gateway says so.
	res, err = f.n.Add(t.Context(), apitype.AddRequest{Path: site, Title: "linked", NoFollowLinks: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l := res.Links; l == nil || l.Followed != 0 || l.Kept != 7 || l.Dangling != 3 {
		t.Errorf("no-follow links report %+v", l)
	}
	resp, body = f.get(f.origin(res.Package), "/_static/jquery.js")
	if resp.StatusCode != 404 || !strings.Contains(body, "outside the package") {
		t.Errorf("a kept link that leaves: %d %s", resp.StatusCode, body)
	}
	resp, body = f.get(f.origin(res.Package), "/docs/loose.txt")
	if resp.StatusCode != 404 || !strings.Contains(body, "outside the package") {
		t.Errorf("a kept relative link that leaves: %d %s", resp.StatusCode, body)
	}
	if resp, _ := f.get(f.origin(res.Package), "/docs/home.html"); resp.StatusCode != 200 {
		t.Errorf("an inside link without following: %d", resp.StatusCode)
	}
}

// TestAddRefusesSymlinkLoops: links that loop, or that leave the tree
// towards nothing, refuse the add with one line naming the link, and the
// store keeps nothing.
func TestAddRefusesSymlinkLoops(t *testing.T) {
	f := newGatewayFixture(t)
	before, err := f.n.Pins(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		make func(site string)
		want string
	}{
		{"link to an ancestor", func(site string) { symlink(t, site, filepath.Join(site, "a/up")) }, "a/up -> " + "SITE" + " leads back to"},
		{"link to itself through a parent", func(site string) { symlink(t, filepath.Dir(site), filepath.Join(site, "parent")) }, "leads back to"},
		{"links to each other", func(site string) {
			symlink(t, "b", filepath.Join(site, "a"))
			symlink(t, "a", filepath.Join(site, "b"))
		}, "never reaches a file or directory"},
		{"dangling outside", func(site string) { symlink(t, "/nonexistent/myconet/x.js", filepath.Join(site, "x.js")) }, "--no-follow-links"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			site := gwWriteTree(t, map[string]string{"index.html": "hi"})
			tt.make(site)
			real, _ := filepath.EvalSymlinks(site)
			want := strings.ReplaceAll(tt.want, "SITE", site)
			_, err := f.n.Add(t.Context(), apitype.AddRequest{Path: site, Title: "loop"}, nil)
			if err == nil || !errors.Is(err, apitype.ErrInvalid) || !errors.Is(err, content.ErrSymlink) ||
				(!strings.Contains(err.Error(), want) && !strings.Contains(err.Error(), strings.ReplaceAll(tt.want, "SITE", real))) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("add: %v, want an invalid-input error with %q", err, want)
			}
		})
	}
	after, err := f.n.Pins(t.Context())
	if err != nil || len(after) != len(before) {
		t.Errorf("pins %d -> %d (%v)", len(before), len(after), err)
	}
}
