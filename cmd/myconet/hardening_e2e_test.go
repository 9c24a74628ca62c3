package main_test

// End-to-end checks of what a new user and a tester broke (issue 10, CLI).

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
	u.okJSON(&ents, "ls", site.MRI)
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
