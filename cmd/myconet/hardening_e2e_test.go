package main_test

// End-to-end checks of what a new user and a tester broke (issue 10, CLI).

import (
	"archive/tar"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/myconet/myconet/internal/fixture"
)

// A typo in --home must not start a new node: only init and the daemon
// create a home; init on an existing home says nothing was initialized.
func TestNoHomeIsAnError(t *testing.T) {
	u := newBareUser(t)
	for _, args := range [][]string{{"pin", "ls"}, {"status"}, {"id"}, {"config", "show"}, {"search", "x"}, {"info", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"}} {
		msg := u.fail(1, args...)
		if want := "no Myconet home at " + u.home + ": run `myconet init`"; !strings.Contains(msg, want) {
			t.Errorf("myconet %s: %q lacks %q", strings.Join(args, " "), msg, want)
		}
		if _, err := os.Stat(u.home); !os.IsNotExist(err) {
			t.Fatalf("myconet %s created the home (%v)", strings.Join(args, " "), err)
		}
	}
	if out := u.ok("init"); !strings.HasPrefix(out, "initialized "+u.home+"\n") {
		t.Errorf("first init: %q", out)
	}
	id := u.ok("id")
	out := u.ok("init")
	if strings.Contains(out, "initialized") || !strings.Contains(out, "already a Myconet home; nothing changed") {
		t.Errorf("second init: %q", out)
	}
	if again := u.ok("id"); again != id {
		t.Errorf("second init changed the identity: %q → %q", id, again)
	}
	u.ok("pin", "ls")
}

// `info` on content that is not a package says what it is and fails
// (it printed "signature: INVALID" and exited 0). Tags that repeat up to
// case fold. Errors name the command once.
func TestInfoOnContentAndMessages(t *testing.T) {
	u := newUser(t)
	makeSite(t, filepath.Join(u.dir, "site"))
	var site addResult
	u.okJSON(&site, "add", "site", "--title", "Site", "--tag", "Audio", "--tag", "audio", "--tag", "Music")
	var info struct {
		Content string
		Meta    struct{ Tags []string }
	}
	u.okJSON(&info, "info", site.MRI)
	if want := []string{"Audio", "Music"}; !slices.Equal(info.Meta.Tags, want) {
		t.Errorf("tags %q, want %q", info.Meta.Tags, want)
	}
	var ents []entry
	u.okList(&ents, "entries", "ls", site.MRI)
	var leaf, sub string
	for _, e := range ents {
		switch e.Name {
		case "style.css":
			leaf = e.CID
		case "sub":
			sub = e.CID
		}
	}
	for _, tt := range []struct{ ref, want string }{
		{info.Content, "is not a package but a content directory of 3 entries"},
		{sub, "is not a package but a content directory of 1 entry"},
		{leaf, "is not a package but a raw block"},
		{info.Content + "/style.css", "is not a package but a content directory"},
	} {
		for _, json := range []string{"--json=false", "--json"} {
			if msg := u.fail(1, "info", tt.ref, json); !strings.Contains(msg, tt.want) || strings.Contains(msg, "INVALID") {
				t.Errorf("info %s: %q, want %q", tt.ref, msg, tt.want)
			}
		}
	}

	os.WriteFile(filepath.Join(u.dir, "bad.car"), []byte("garbage\n"), 0o644)
	if msg := u.fail(1, "import", "bad.car"); !strings.HasPrefix(msg, "myconet: import: ") || strings.Contains(msg, "import: import:") {
		t.Errorf("import of a bad CAR: %q", msg)
	}
	d := u.startDaemon("--api", "127.0.0.1:0", "--gateway", "127.0.0.1:0", "--no-tun")
	defer d.terminate(t)
	if msg := u.fail(1, "get", site.MRI+"/style.css", "-o", filepath.Join(u.dir, "missing", "x.css")); !strings.HasPrefix(msg, "myconet: get: ") || strings.Contains(msg, "get: get:") {
		t.Errorf("get into a missing directory: %q", msg)
	}
}

// untar extracts a tar stream into dir (regular files and directories).
func untar(t *testing.T, stream, dir string) {
	t.Helper()
	tr := tar.NewReader(strings.NewReader(stream))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// `get -o -` writes a file to stdout and a directory as a tar stream with
// one top directory (it made a directory named "-"); `export -o -` writes
// the same CAR as `export -o FILE`. Offline and through a daemon alike.
func TestGetAndExportToStdout(t *testing.T) {
	u := newUser(t)
	makeSite(t, filepath.Join(u.dir, "site"))
	var site addResult
	u.okJSON(&site, "add", "site", "--title", "Site")
	for _, withDaemon := range []bool{false, true} {
		if withDaemon {
			d := u.startDaemon("--api", "127.0.0.1:0", "--gateway", "127.0.0.1:0", "--no-tun")
			defer d.terminate(t)
		}
		out := u.ok("get", site.MRI, "-o", "-")
		dir := t.TempDir()
		untar(t, out, dir)
		sameTree(t, filepath.Join(u.dir, "site"), filepath.Join(dir, site.Package))
		if css := u.ok("get", site.MRI+"/style.css", "-o", "-"); css != "h1 { color: green }\n" {
			t.Errorf("get file -o -: %q", css)
		}
		if _, err := os.Lstat(filepath.Join(u.dir, "-")); err == nil {
			t.Fatalf("get -o - made a file or directory named -")
		}
		car := u.ok("export", site.MRI, "-o", "-")
		u.ok("export", site.MRI, "-o", "site.car")
		if data, err := os.ReadFile(filepath.Join(u.dir, "site.car")); err != nil || string(data) != car || len(car) == 0 {
			t.Errorf("export -o - gave %d bytes, export -o site.car %d (%v)", len(car), len(data), err)
		}
		os.Remove(filepath.Join(u.dir, "site.car"))
	}
}

// `config set` keeps the comments of config.toml, writes a fraction as
// one, takes several values for a list, prints what changed and says when
// a key applies only at the next start.
func TestConfigSetReports(t *testing.T) {
	u := newUser(t)
	cfgPath := filepath.Join(u.home, "config.toml")
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	const note = "# my own note: keep this\n"
	if err := os.WriteFile(cfgPath, append([]byte(note), data...), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		out  string
	}{
		{[]string{"quota.disk", "5GB"}, "quota.disk: 10GB → 5GB\n"},
		{[]string{"quota.disk", "5GB"}, "quota.disk: unchanged (5GB)\n"},
		{[]string{"gateway.address", "127.0.0.1:0"}, "gateway.address: 127.0.0.1:8190 → 127.0.0.1:0 (applies at next start)\n"},
		{[]string{"network.listen", "/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}, "(applies at next start)\n"},
		{[]string{"moderation.remove_ratio", "3/4"}, "moderation.remove_ratio: 2/3 → 0.75\n"},
		{[]string{"moderation.remove_ratio", "2/3"}, "moderation.remove_ratio: 0.75 → 2/3\n"},
	} {
		if out := u.ok(append([]string{"config", "set"}, tt.args...)...); !strings.HasSuffix(out, tt.out) || strings.Count(out, "\n") != 1 {
			t.Errorf("config set %s: %q, want %q", strings.Join(tt.args, " "), out, tt.out)
		}
	}
	text, _ := os.ReadFile(cfgPath)
	for _, want := range []string{note, "\n# Most disk the store may use", `disk = "5GB"`, `remove_ratio = "2/3"`,
		`listen = ["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"]`} {
		if !strings.Contains(string(text), want) {
			t.Errorf("config.toml lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(string(text), "0.666") {
		t.Errorf("config.toml has a rounded 2/3:\n%s", text)
	}
	u.fail(2, "config", "set", "quota.disk", "1GB", "2GB")

	d := u.startDaemon("--api", "127.0.0.1:0", "--no-tun")
	defer d.terminate(t)
	if out := u.ok("config", "set", "quota.upload", "1MB/s"); out != "quota.upload: unlimited → 1MB/s (applied to the running daemon)\n" {
		t.Errorf("live key: %q", out)
	}
	if out := u.ok("config", "set", "network.dht", "client"); out != "network.dht: auto → client (applies at next start: restart the daemon)\n" {
		t.Errorf("restart key: %q", out)
	}
}

// SIGTERM while a download is in flight stops the daemon promptly (it took
// 6.7 s) and the log says it is shutting down.
func TestDaemonStopsPromptlyDuringGet(t *testing.T) {
	u := newUser(t)
	bigFile(t, filepath.Join(u.dir, "big.bin"), 3, 32*fixture.MiB)
	var f addResult
	u.okJSON(&f, "add", "big.bin", "--title", "Big")
	d := u.startDaemon("--api", "127.0.0.1:0", "--gateway", "none", "--no-tun")
	addr, err := os.ReadFile(filepath.Join(u.home, "api"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := os.ReadFile(filepath.Join(u.home, "api.token"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://"+strings.TrimSpace(string(addr))+"/api/v1/cat?ref="+f.MRI, nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 1)); err != nil { // the download is under way; it reads no further
		t.Fatal(err)
	}
	start := time.Now()
	d.terminate(t)
	took := time.Since(start)
	t.Logf("daemon stopped %v after SIGTERM with a download in flight", took)
	if took > 4*time.Second {
		t.Errorf("daemon took %v to stop", took)
	}
	if !strings.Contains(d.stderr.String(), "shutting down") {
		t.Errorf("no \"shutting down\" line in the log:\n%s", d.stderr.String())
	}
	if d.err != nil {
		t.Errorf("daemon stopped by SIGTERM exits %v, want 0", d.err)
	}
}
