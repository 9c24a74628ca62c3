// Package browser starts headless Chromium for tests that must see what a
// real browser does (origins, cookies, storage, CSP), driven by chromedp.
//
// Start finds Debian's chromium (/usr/bin/chromium, or $MYCONET_CHROMIUM),
// runs it with a fresh profile in t.TempDir and the flags that keep it off
// the network (no sync, no component updates, no background networking, no
// QUIC), and stops it when the test ends. Without a browser the test is
// skipped with one line saying how to install one.
package browser

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path returns the Chromium binary to use, or "" if none is installed.
func Path() string {
	if p := os.Getenv("MYCONET_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Start launches a headless browser for t and returns a context bound to
// its first tab, for chromedp.Run and chromedp.Do. The browser lives until
// t ends; bound single steps with context.WithTimeout on the returned
// context, never the browser's own (a deadline there stops the browser).
func Start(t testing.TB) context.Context {
	t.Helper()
	bin := Path()
	if bin == "" {
		t.Skip("no Chromium: install it (apt-get install -y chromium) or set MYCONET_CHROMIUM")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-proxy-server", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	start, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(ctx) }() // starts the browser
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("start %s: %v", bin, err)
		}
	case <-start.Done():
		t.Fatalf("start %s: no answer within a minute", bin)
	}
	return ctx
}
