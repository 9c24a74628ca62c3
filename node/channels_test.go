package node_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/nodetest"
)

// addVersions adds two small packages on n, titled v1 and v2.
func addVersions(t *testing.T, n *node.Node) (p1, p2 apitype.AddResult) {
	t.Helper()
	dir := t.TempDir()
	for i, body := range []string{"version one", "version two"} {
		path := filepath.Join(dir, fmt.Sprintf("v%d.txt", i+1))
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := n.Add(context.Background(), apitype.AddRequest{Path: path, Title: fmt.Sprintf("v%d", i+1)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		p1, p2 = p2, res
	}
	return p1, p2
}

func TestChannelResolvesToNewest(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 4, nodetest.Options{})
	net.ConnectChain()
	a, c := net.Nodes[0], net.Nodes[3]
	ctx := context.Background()
	p1, p2 := addVersions(t, a)
	// The routing tables must know someone before a record can be stored.
	net.Eventually(30*time.Second, "a routing table", func() bool {
		_, err := a.Publish(ctx, "docs", p1.MRI)
		return err == nil
	})
	chs, err := a.Channels(ctx)
	if err != nil || len(chs) != 1 || chs[0].Target != p1.MRI {
		t.Fatalf("channels: %+v %v", chs, err)
	}
	mutable := chs[0].MRI
	title := func(n *node.Node) string {
		info, err := n.Info(ctx, mutable)
		if err != nil {
			return "error: " + err.Error()
		}
		return info.Meta.Title
	}
	net.Eventually(60*time.Second, "C to resolve the channel to v1", func() bool { return title(c) == "v1" })

	// C follows the channel: each new version is fetched and pinned local.
	if _, err := c.BookmarkAdd(ctx, apitype.BookmarkRequest{Name: "docs", Ref: mutable, Follow: true}); err != nil {
		t.Fatal(err)
	}
	pinnedLocal := func(n *node.Node, pkg string) bool {
		pins, _ := n.Pins(ctx)
		for _, p := range pins {
			if p.Root == pkg && p.Reason == "local" {
				return true
			}
		}
		return false
	}

	res, err := a.Publish(ctx, "docs", p2.MRI)
	if err != nil || res.Seq != 2 || res.MRI != mutable {
		t.Fatalf("second publish: %+v %v", res, err)
	}
	net.Eventually(60*time.Second, "C to resolve the channel to v2", func() bool { return title(c) == "v2" })
	net.Eventually(60*time.Second, "C to follow the channel to v2", func() bool {
		c.RefreshFollowed(ctx)
		return pinnedLocal(c, p2.Package)
	})
	if _, err := c.BookmarkFollow(ctx, "nosuch", true); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("follow unknown bookmark: %v", err)
	}
	if got := title(a); got != "v2" {
		t.Fatalf("A resolves its own channel to %q", got)
	}
	// Bad input.
	if _, err := a.Publish(ctx, "Bad Name", p1.MRI); !errors.Is(err, apitype.ErrInvalid) {
		t.Fatalf("bad channel name: %v", err)
	}
	if _, err := c.Info(ctx, "myco://"+a.Identity().PeerID.String()+"/nosuch"); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("unknown channel: %v", err)
	}
}

// TestChannelAfterRestarts restarts every node of a small network (the DHT
// keeps records in memory, so all copies are gone) and expects the channel
// to resolve again promptly, since the publisher republishes as soon as it
// has peers (issue 10 item 3). Meanwhile a followed bookmark opens from the
// last resolution it kept, marked stale, both on a node whose network cannot
// answer and on one with no network at all (item 4).
func TestChannelAfterRestarts(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 3, nodetest.Options{Loopback: true})
	net.ConnectChain()
	ctx := context.Background()
	a := net.Nodes[0]
	p1, p2 := addVersions(t, a)
	var mutable string
	net.Eventually(30*time.Second, "A to publish", func() bool {
		res, err := a.Publish(ctx, "docs", p1.MRI)
		mutable = res.MRI
		return err == nil
	})
	// C follows the channel and keeps v1.
	c := net.Nodes[2]
	if _, err := c.BookmarkAdd(ctx, apitype.BookmarkRequest{Name: "docs", Ref: mutable, Follow: true}); err != nil {
		t.Fatal(err)
	}
	kept := func(n *node.Node) apitype.Bookmark {
		bms, _ := n.Bookmarks(ctx)
		for _, b := range bms {
			if b.Name == "docs" {
				return b
			}
		}
		return apitype.Bookmark{}
	}
	net.Eventually(60*time.Second, "C to follow the channel to v1", func() bool {
		net.Nodes[2].RefreshFollowed(ctx)
		return kept(net.Nodes[2]).Resolved == p1.MRI
	})
	if _, err := a.Publish(ctx, "docs", p2.MRI); err != nil {
		t.Fatal(err)
	}

	for i := range net.Nodes {
		net.Restart(i)
	}
	a, c = net.Nodes[0], net.Nodes[2]

	// Alone, C cannot resolve the channel: it opens the version it kept (v1,
	// or v2 if a round of following met it before the restart).
	was := kept(c)
	if was.Resolved != p1.MRI && was.Resolved != p2.MRI {
		t.Fatalf("kept across the restart: %+v", was)
	}
	start := time.Now()
	o, err := c.OpenURL(ctx, "docs")
	if err != nil || !o.Stale || !strings.Contains(o.URL, strings.TrimPrefix(was.Resolved, "myco://")) || !o.ResolvedAt.Equal(was.ResolvedAt) {
		t.Fatalf("open with no peers: %+v %v (kept %+v)", o, err, was)
	}
	t.Logf("open with no peers answered stale in %v", time.Since(start).Round(time.Millisecond))
	if got, err := c.Info(ctx, mutable); err != nil || got.MRI != was.Resolved || !got.Stale || !got.ResolvedAt.Equal(o.ResolvedAt) {
		t.Fatalf("info of the followed channel with no peers: %s stale %v at %v, %v", got.MRI, got.Stale, got.ResolvedAt, err)
	}

	// Reconnected, C resolves the channel through the network again.
	start = time.Now()
	net.ConnectChain()
	net.Eventually(30*time.Second, "C to resolve the channel after the restarts", func() bool {
		o, err := c.OpenURL(ctx, mutable)
		return err == nil && !o.Stale && strings.Contains(o.URL, p2.Package)
	})
	t.Logf("channel resolved %v after reconnecting", time.Since(start).Round(time.Millisecond))
	if got, err := c.Info(ctx, mutable); err != nil || got.Meta.Title != "v2" || got.Stale {
		t.Fatalf("info of the channel once resolved: %q stale %v, %v", got.Meta.Title, got.Stale, err)
	}
	// Opening the bookmark met the new version: C fetches and keeps it
	// without waiting for its next round.
	if _, err := c.OpenURL(ctx, "docs"); err != nil {
		t.Fatal(err)
	}
	net.Eventually(30*time.Second, "C to keep v2 after open", func() bool { return kept(c).Resolved == p2.MRI })

	// With no network at all, the kept resolution survives a restart too.
	net.Kill(2)
	off, err := node.New(node.Config{Home: net.Home(2), StoreNoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	o, err = off.OpenURL(ctx, "docs")
	if err != nil || !o.Stale || !strings.Contains(o.URL, p2.Package) {
		t.Fatalf("open offline: %+v %v", o, err)
	}
	var buf strings.Builder
	if err := off.Cat(ctx, mutable, &buf); err != nil || buf.String() != "version two" {
		t.Fatalf("cat offline: %q %v", buf.String(), err)
	}
	// A channel nobody follows still needs the network.
	if _, err := off.OpenURL(ctx, "myco://"+a.Identity().PeerID.String()+"/other"); !errors.Is(err, apitype.ErrNoDaemon) {
		t.Fatalf("open of an unfollowed channel offline: %v", err)
	}
}

// TestPublishWithoutPeers: a node with no peers yet keeps what it publishes
// and announces it once it has some (it failed with "failed to find any
// peer in table" and kept nothing).
func TestPublishWithoutPeers(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 2, nodetest.Options{})
	a, b := net.Nodes[0], net.Nodes[1]
	ctx := context.Background()
	p1, _ := addVersions(t, a)
	res, err := a.Publish(ctx, "docs", p1.MRI)
	if err != nil || !res.Pending || res.Seq != 1 {
		t.Fatalf("publish with no peers: %+v %v", res, err)
	}
	if chs, _ := a.Channels(ctx); len(chs) != 1 || !chs[0].Pending {
		t.Fatalf("channels: %+v", chs)
	}
	// Concurrent publishes of one channel never sign the same sequence number.
	const k = 6
	seqs := make(chan uint64, k)
	var wg sync.WaitGroup
	for range k {
		wg.Go(func() {
			r, err := a.Publish(ctx, "other", p1.MRI)
			if err != nil {
				t.Error(err)
			}
			seqs <- r.Seq
		})
	}
	wg.Wait()
	close(seqs)
	seen := map[uint64]bool{}
	for s := range seqs {
		if seen[s] {
			t.Fatalf("two publishes signed seq %d", s)
		}
		seen[s] = true
	}
	net.Connect(1, 0)
	net.Eventually(30*time.Second, "B to resolve the channel published before A had peers", func() bool {
		info, err := b.Info(ctx, res.MRI)
		return err == nil && info.Package == p1.Package
	})
	net.Eventually(10*time.Second, "the channel to be announced", func() bool {
		chs, _ := a.Channels(ctx)
		return len(chs) == 2 && !chs[0].Pending && chs[0].Seq == 1 && !chs[1].Pending && chs[1].Seq == k
	})
}
