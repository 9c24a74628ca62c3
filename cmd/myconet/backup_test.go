package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/myconet/myconet/store"
)

// TestBackupRestore follows the README's "Backup and restore" section: the
// identity exported with a passphrase, the daemon stopped, the store
// verified, compacted and copied, then restored into a new home, which
// serves the same peer ID and the same packages. A wrong passphrase and an
// import over another identity change nothing.
func TestBackupRestore(t *testing.T) {
	a := newUser(t)
	if err := os.WriteFile(filepath.Join(a.dir, "site.txt"), []byte("kept across machines\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := a.startDaemon("--api", "127.0.0.1:0", "--gateway", "none", "--no-tun")
	var added struct{ MRI string }
	a.okJSON(&added, "add", filepath.Join(a.dir, "site.txt"), "--title", "Kept")
	var idA struct {
		PeerID string `json:"peer_id"`
	}
	a.okJSON(&idA, "id")
	pass := filepath.Join(a.dir, "pass")
	os.WriteFile(pass, []byte("correct horse battery\n"), 0o600)
	backup := filepath.Join(a.dir, "identity.pem")
	a.ok("identity", "export", backup, "--passphrase-file", pass) // works while the daemon runs
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	if r := a.run("identity", "export", backup, "--passphrase-file", pass); r.code == 0 {
		t.Fatal("export overwrote an existing file")
	}
	raw, _ := os.ReadFile(filepath.Join(a.home, "identity.key"))
	if text, _ := os.ReadFile(backup); strings.Contains(string(text), string(raw[len(raw)-16:])) {
		t.Fatal("the backup holds the key in the clear")
	}
	if r := a.run("repo", "compact"); r.code != 1 || !strings.Contains(r.stderr, "daemon stopped") {
		t.Fatalf("compact with the daemon running: %d %q", r.code, r.stderr)
	}
	if out := a.ok("repo", "verify"); !strings.Contains(out, "1 pins walked") || !strings.Contains(out, ": 0 problems") {
		t.Fatalf("repo verify through the daemon: %q", out)
	}
	d.terminate(t)
	if out := a.ok("repo", "verify"); !strings.Contains(out, fmt.Sprintf("store schema v%d: 0 problems", store.SchemaVersion())) {
		t.Fatalf("repo verify in-process: %q", out)
	}
	a.ok("repo", "compact")

	// Restore into a new home on "another machine".
	b := newUser(t)
	b.ok("init") // a fresh node: its own identity, which the import must not silently replace
	wrong := filepath.Join(b.dir, "wrong")
	os.WriteFile(wrong, []byte("incorrect horse\n"), 0o600)
	keyB, _ := os.ReadFile(filepath.Join(b.home, "identity.key"))
	if r := b.run("identity", "import", backup, "--passphrase-file", wrong, "--force"); r.code != 1 || !strings.Contains(r.stderr, "wrong passphrase") {
		t.Fatalf("wrong passphrase: %d %q", r.code, r.stderr)
	}
	if r := b.run("identity", "import", backup, "--passphrase-file", pass); r.code != 1 || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("import over another identity: %d %q", r.code, r.stderr)
	}
	if now, _ := os.ReadFile(filepath.Join(b.home, "identity.key")); string(now) != string(keyB) {
		t.Fatal("a refused import changed the identity")
	}
	b.ok("identity", "import", backup, "--passphrase-file", pass, "--force")
	for _, f := range []string{"store.db", "store.db.blob", "config.toml"} {
		data, err := os.ReadFile(filepath.Join(a.home, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(b.home, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b.ok("repo", "verify")
	b.startDaemon("--api", "127.0.0.1:0", "--gateway", "none", "--no-tun")
	var idB struct {
		PeerID string `json:"peer_id"`
	}
	b.okJSON(&idB, "id")
	if idB.PeerID != idA.PeerID {
		t.Fatalf("restored node is %s, want %s", idB.PeerID, idA.PeerID)
	}
	if got := b.ok("cat", added.MRI); got != "kept across machines\n" {
		t.Fatalf("restored content %q", got)
	}
	if pins := b.pins(); len(pins) != 1 || pins[0].Title != "Kept" {
		t.Fatalf("restored pins %+v", pins)
	}
}

// TestRepoVerifyFails: a damaged store makes `repo verify` exit 1 naming
// the block.
func TestRepoVerifyFails(t *testing.T) {
	u := newUser(t)
	os.WriteFile(filepath.Join(u.dir, "f.txt"), []byte(strings.Repeat("x", 5000)), 0o644)
	u.ok("add", filepath.Join(u.dir, "f.txt"), "--title", "F")
	store := filepath.Join(u.home, "store.db")
	data, _ := os.ReadFile(store)
	i := strings.Index(string(data), strings.Repeat("x", 5000))
	if i < 0 {
		t.Fatal("content not found in the file")
	}
	data[i+10] = 'y'
	os.WriteFile(store, data, 0o600)
	r := u.run("repo", "verify")
	if r.code != 1 || !strings.Contains(r.stdout, "do not hash") || !strings.Contains(r.stderr, "problems") {
		t.Fatalf("verify of a damaged store: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
