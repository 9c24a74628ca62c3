package main_test

// End-to-end checks of what a new user and a tester broke (issue 10, CLI).

import (
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
