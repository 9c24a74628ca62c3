package node_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/store"
)

// TestOpenPreviousLayout opens testdata/v1home, a home written by the
// release before store schema 2 (`myconet init`, `add`, `bookmark add`), and
// checks that this version migrates its store in place and keeps its
// identity, package, pin and bookmark.
func TestOpenPreviousLayout(t *testing.T) {
	home := t.TempDir()
	for _, f := range []string{"store.db", "identity.key", "config.toml"} {
		data, err := os.ReadFile(filepath.Join("testdata", "v1home", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n, err := node.New(node.Config{Home: home, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	in, err := n.Store().Info()
	if err != nil || in.Version != store.SchemaVersion() || !strings.Contains(in.History, "(migrated from v1)") {
		t.Fatalf("store info %+v %v", in, err)
	}
	ctx := t.Context()
	if id, _ := n.ID(ctx); id.PeerID != "12D3KooWCGmQ7Gsa2kS5JSGSQVPmuCqNRVqS4oLqALLHaRxToVrW" {
		t.Errorf("peer %s", id.PeerID)
	}
	pins, err := n.Pins(ctx)
	if err != nil || len(pins) != 1 || pins[0].Title != "Old layout" {
		t.Fatalf("pins %+v %v", pins, err)
	}
	var b strings.Builder
	if err := n.Cat(ctx, pins[0].MRI+"/sub/a.txt", &b); err != nil || b.String() != "hello v1\n" {
		t.Fatalf("content %q %v", b.String(), err)
	}
	bms, err := n.Bookmarks(ctx)
	if err != nil || len(bms) != 1 || bms[0].Name != "old" {
		t.Fatalf("bookmarks %+v %v", bms, err)
	}
	rep, err := n.VerifyRepo(ctx)
	if err != nil || len(rep.Problems) != 0 {
		t.Fatalf("verify %+v %v", rep, err)
	}
}
