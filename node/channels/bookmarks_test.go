package channels

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/store"
)

// testService is an offline service on a store of its own, with a node's
// key, whose gateway URLs are http://<root>.gw/<path>, as the node's.
func testService(t *testing.T) *Service {
	t.Helper()
	db, err := store.Open(store.Config{Path: filepath.Join(t.TempDir(), "store.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	self, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{DB: db, Key: priv, Self: self, URL: func(root cid.Cid, path string) string {
		return "http://" + root.String() + ".gw/" + strings.TrimPrefix(path, "/")
	}})
	t.Cleanup(s.Stop)
	return s
}

// testPeer returns the peer ID of a new key.
func testPeer(t *testing.T) peer.ID {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// testPackage returns the MRI of a package root (nothing is stored).
func testPackage(t *testing.T) apitype.AddResult {
	t.Helper()
	h, err := multihash.Sum([]byte("a package"), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mri.New(cid.NewCidV1(cid.DagCBOR, h), "")
	if err != nil {
		t.Fatal(err)
	}
	return apitype.AddResult{MRI: m.String()}
}

// TestKeptResolutionScope: a kept resolution answers only for the channel
// its followed bookmark names (same publisher, same channel), only while the
// bookmark follows it, and a forced replacement forgets it.
func TestKeptResolutionScope(t *testing.T) {
	n := testService(t)
	ctx := context.Background()
	res := testPackage(t)
	pkg, _, _ := n.Resolve(ctx, res.MRI)
	other := func(name string) string { return testPeer(t).String() }
	alice, bob := other("alice"), other("bob")
	channel := "myco://" + alice + "/docs"
	if _, err := n.BookmarkAdd(ctx, apitype.BookmarkRequest{Name: "docs", Ref: channel, Follow: true}); err != nil {
		t.Fatal(err)
	}
	// Offline and never resolved: nothing to fall back on.
	if _, err := n.OpenURL(ctx, "docs"); !errors.Is(err, apitype.ErrNoDaemon) {
		t.Fatalf("open before any resolution: %v", err)
	}
	b, _ := n.cfg.DB.Bookmark("docs")
	n.keepResolution(b, pkg.Root)
	o, err := n.OpenURL(ctx, "docs")
	if err != nil || !o.Stale || !strings.Contains(o.URL, pkg.Root.String()) {
		t.Fatalf("open with a kept resolution: %+v %v", o, err)
	}
	if o2, err := n.OpenURL(ctx, channel+"/sub/page.html"); err != nil || !strings.HasSuffix(o2.URL, "/sub/page.html") {
		t.Fatalf("a path under the channel: %+v %v", o2, err)
	}
	for _, ref := range []string{"myco://" + bob + "/docs", "myco://" + alice + "/other"} {
		if _, err := n.OpenURL(ctx, ref); !errors.Is(err, apitype.ErrNoDaemon) {
			t.Errorf("open %s used another channel's kept resolution: %v", ref, err)
		}
	}
	// Unfollowing forgets it.
	if _, err := n.BookmarkFollow(ctx, "docs", false); err != nil {
		t.Fatal(err)
	}
	if _, err := n.OpenURL(ctx, "docs"); !errors.Is(err, apitype.ErrNoDaemon) {
		t.Fatalf("open after unfollow: %v", err)
	}
	// Following again and replacing with force forgets it too.
	if _, err := n.BookmarkFollow(ctx, "docs", true); err != nil {
		t.Fatal(err)
	}
	b, _ = n.cfg.DB.Bookmark("docs")
	n.keepResolution(b, pkg.Root)
	if _, err := n.BookmarkAdd(ctx, apitype.BookmarkRequest{Name: "docs", Ref: channel, Follow: true, Force: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := n.cfg.DB.Bookmark("docs"); b.Resolved.Defined() {
		t.Fatalf("a replaced bookmark kept the old resolution: %+v", b)
	}
	// A resolution kept for a bookmark that changed meanwhile is dropped.
	stale := b
	stale.Target = "myco://" + bob + "/docs"
	n.keepResolution(stale, pkg.Root)
	if b, _ := n.cfg.DB.Bookmark("docs"); b.Resolved.Defined() {
		t.Fatalf("kept a resolution for a target the bookmark no longer has: %+v", b)
	}
}
