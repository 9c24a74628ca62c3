package webui

import (
	"strings"
	"testing"
	"time"

	"github.com/myconet/myconet/node/apitype"
)

// FuzzUploadPath: a file name from the browser becomes a clean relative
// path (no empty, "." or ".." segment, no backslash or control character)
// or is refused; it never escapes the staging directory.
func FuzzUploadPath(f *testing.F) {
	for _, s := range []string{"a.txt", "site/index.html", "../x", "/etc/passwd", "a//b", "a\\b", ".", "a/./b", "a/\x00", "é/ü.png", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, err := uploadPath(name)
		if err != nil {
			return
		}
		if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
			t.Fatalf("uploadPath(%q) = %q", name, p)
		}
		for _, s := range strings.Split(p, "/") {
			if s == "" || s == "." || s == ".." {
				t.Fatalf("uploadPath(%q) = %q has segment %q", name, p, s)
			}
		}
	})
}

func TestFieldOf(t *testing.T) {
	f, r, ok := fieldOf(errString("add: metadata: language: \"x y\" is not a BCP 47 language tag"))
	if !ok || f != "language" || !strings.Contains(r, "BCP 47") {
		t.Fatalf("fieldOf = %q %q %v", f, r, ok)
	}
	if _, _, ok := fieldOf(errString("store: quota exceeded")); ok {
		t.Fatal("fieldOf found a field in a non-metadata error")
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestBandwidthChart: samples of the bulk counters become rates drawn as
// two polylines, from the second sample on.
func TestBandwidthChart(t *testing.T) {
	now := time.Unix(1000, 0)
	u := New(nil, Options{Now: func() time.Time { return now }})
	defer u.Close()
	st := &apitype.Status{Peers: 2, DHT: "server"}
	if d := u.sampleLive(st); d.UpLine != "" || d.Peers != 2 {
		t.Fatalf("first sample: %+v", d)
	}
	now = now.Add(2 * time.Second)
	st.Store.Uploaded, st.Store.Downloaded = 2000, 4000
	d := u.sampleLive(st)
	if d.UpRate != apitype.FormatSize(1000)+"/s" || d.DownRate != apitype.FormatSize(2000)+"/s" {
		t.Fatalf("rates %q %q", d.UpRate, d.DownRate)
	}
	if strings.Count(d.DownLine, ",") != 2 || !strings.HasPrefix(d.DownLine, "0.0,4.0 ") {
		t.Fatalf("down line %q", d.DownLine)
	}
	if d := u.sampleLive(nil); d.Online {
		t.Fatal("offline status drawn as online")
	}
}

// A node with no peers says so on the home page (Status.Alone, which the
// daemon sets while it has none), and says nothing when it has peers.
func TestHomeSaysAlone(t *testing.T) {
	tm := parseTemplates()
	for _, tc := range []struct {
		alone string
		want  bool
	}{{"no peers: lost every peer at 12:00:00", true}, {"", false}} {
		var buf strings.Builder
		d := homeData{Status: &apitype.Status{Alone: tc.alone}}
		if err := tm.t.ExecuteTemplate(&buf, "home", page{Data: d}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), `id="alone"`); got != tc.want || (tc.want && !strings.Contains(buf.String(), tc.alone)) {
			t.Errorf("alone %q: notice shown %v, want %v:\n%s", tc.alone, got, tc.want, buf.String())
		}
	}
}
