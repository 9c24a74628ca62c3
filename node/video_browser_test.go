package node_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/myconet/myconet/internal/browser"
	"github.com/myconet/myconet/node/httpx"
)

// writeWAV writes a mono 16-bit PCM WAV file of noise with n bytes of
// samples at rate samples/s, and returns its duration in seconds.
func writeWAV(t *testing.T, path string, n, rate int, seed uint64) float64 {
	t.Helper()
	body := filepath.Join(t.TempDir(), "samples")
	data := writeRand(t, body, seed, n)
	var h [44]byte
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+n))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16) // fmt chunk size
	binary.LittleEndian.PutUint16(h[20:], 1)  // PCM
	binary.LittleEndian.PutUint16(h[22:], 1)  // mono
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(2*rate)) // bytes/s
	binary.LittleEndian.PutUint16(h[32:], 2)              // bytes per frame
	binary.LittleEndian.PutUint16(h[34:], 16)             // bits per sample
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(n))
	if err := os.WriteFile(path, append(h[:], data...), 0o644); err != nil {
		t.Fatal(err)
	}
	return float64(n) / float64(2*rate)
}

// Issue 13 item 3: a <video> in the browser starts playing, and seeks, on a
// package another node holds, before the package has arrived: each Range
// the browser sends to the reader's gateway is answered from the blocks it
// needs, fetched first. The medium is PCM audio in a WAV file (no video
// encoder is at hand here): the element, the gateway and the Range path are
// those of any video.
func TestVideoPlaysAndSeeksOnRemotePackage(t *testing.T) {
	ctx := browser.Start(t)
	// 24 MiB at A's 4 MB/s: the whole package takes about 6 s to arrive.
	dir := t.TempDir()
	const rate = 8000
	dur := writeWAV(t, filepath.Join(dir, "movie.wav"), 24<<20, rate, 31)
	page := `<!DOCTYPE html><html><body><video src="movie.wav" muted preload="auto"></video></body></html>`
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	_, b, _, root := holderOf(t, "4MB/s", dir)

	gw := b.GatewayHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &httpx.StatusWriter{ResponseWriter: w}
		start := time.Now()
		gw.ServeHTTP(sw, r)
		t.Logf("gateway: %s %s Range %q: %d, %d bytes in %v", r.Method, r.URL.Path, r.Header.Get("Range"), sw.StatusCode(), sw.Bytes, time.Since(start))
	}))
	defer func() {
		// The browser (stopped after this test) may have left a response
		// unread: Close alone would wait for its handler forever.
		srv.CloseClientConnections()
		srv.Close()
	}()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	site := "http://" + root.String() + ".localhost:" + u.Port() + "/"

	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(actx, steps...); err != nil {
			state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const v = document.querySelector('video');
				return v ? JSON.stringify({t: v.currentTime, d: v.duration, rs: v.readyState, ns: v.networkState, err: v.error && v.error.code, paused: v.paused}) : 'no video' })()`))
			t.Fatalf("%s: %v (video: %s)", what, err, state)
		}
	}
	start := time.Now()
	run("open the page and play", chromedp.Navigate(site),
		chromedp.Poll[chromedp.Void](`(() => { const v = document.querySelector('video'); if (v && v.paused) v.play().catch(() => {}); return v && v.currentTime > 0.2 })()`,
			chromedp.WithPollingTimeout(25*time.Second)))
	t.Logf("playing after %v", time.Since(start))
	if b.PinnedForTest(root) {
		t.Fatal("the whole package arrived before the video played")
	}

	duration, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector('video').duration`))
	if err != nil {
		t.Fatal(err)
	}
	if duration < dur-1 || duration > dur+1 {
		t.Fatalf("duration %.1f s, want %.1f", duration, dur)
	}
	target := 0.9 * duration
	start = time.Now()
	run("seek to 90%", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector('video').currentTime = %f`, target)),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`(() => { const v = document.querySelector('video'); return !v.seeking && v.currentTime > %f })()`, target+0.2),
			chromedp.WithPollingTimeout(25*time.Second)))
	t.Logf("playing at %.0f s of %.0f after the seek, %v", target, duration, time.Since(start))
	if b.PinnedForTest(root) {
		t.Fatal("the whole package arrived before the seek was played")
	}
}
