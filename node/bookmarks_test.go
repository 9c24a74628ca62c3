package node

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/myconet/myconet/node/apitype"
)

// addSmall adds a 10-byte file of seed's bytes on n.
func addSmall(t *testing.T, n *Node, seed uint64) apitype.AddResult {
	t.Helper()
	p, _ := randFile(t, t.TempDir(), "f", seed, 10)
	res, err := n.Add(context.Background(), apitype.AddRequest{Path: p, Title: "f"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestBookmarkAddConcurrent: of many adds of one name at once, exactly one
// wins and the others are refused; none replaces it.
func TestBookmarkAddConcurrent(t *testing.T) {
	n := testNode(t)
	ctx := context.Background()
	res := addSmall(t, n, 3)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, refused := []string{}, 0
	for i := range 8 {
		wg.Go(func() {
			ref := res.MRI
			if i%2 == 1 {
				ref += "/"
			}
			_, err := n.BookmarkAdd(ctx, apitype.BookmarkRequest{Name: "x", Ref: ref})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, ref)
			case errors.Is(err, apitype.ErrInvalid) && strings.Contains(err.Error(), "already exists"):
				refused++
			default:
				t.Errorf("add: %v", err)
			}
		})
	}
	wg.Wait()
	if len(won) != 1 || refused != 7 {
		t.Fatalf("%d adds won, %d refused", len(won), refused)
	}
}

// TestKeptResolutionScope: a kept resolution answers only for the channel
// its followed bookmark names (same publisher, same channel), only while the
// bookmark follows it, and a forced replacement forgets it.
func TestKeptResolutionScope(t *testing.T) {
	n := testNode(t)
	ctx := context.Background()
	res := addSmall(t, n, 4)
	pkg, _ := n.resolveRef(ctx, res.MRI)
	other := func(name string) string {
		id, err := loadOrCreateIdentity(filepath.Join(t.TempDir(), name))
		if err != nil {
			t.Fatal(err)
		}
		return id.PeerID.String()
	}
	alice, bob := other("alice"), other("bob")
	channel := "myco://" + alice + "/docs"
	if _, err := n.BookmarkAdd(ctx, apitype.BookmarkRequest{Name: "docs", Ref: channel, Follow: true}); err != nil {
		t.Fatal(err)
	}
	// Offline and never resolved: nothing to fall back on.
	if _, err := n.OpenURL(ctx, "docs"); !errors.Is(err, apitype.ErrNoDaemon) {
		t.Fatalf("open before any resolution: %v", err)
	}
	b, _ := n.db.Bookmark("docs")
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
	b, _ = n.db.Bookmark("docs")
	n.keepResolution(b, pkg.Root)
	if _, err := n.BookmarkAdd(ctx, apitype.BookmarkRequest{Name: "docs", Ref: channel, Follow: true, Force: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := n.db.Bookmark("docs"); b.Resolved.Defined() {
		t.Fatalf("a replaced bookmark kept the old resolution: %+v", b)
	}
	// A resolution kept for a bookmark that changed meanwhile is dropped.
	stale := b
	stale.Target = "myco://" + bob + "/docs"
	n.keepResolution(stale, pkg.Root)
	if b, _ := n.db.Bookmark("docs"); b.Resolved.Defined() {
		t.Fatalf("kept a resolution for a target the bookmark no longer has: %+v", b)
	}
}
