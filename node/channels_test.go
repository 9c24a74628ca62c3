package node_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/nodetest"
)

func TestChannelResolvesToNewest(t *testing.T) {
	nodetest.CheckGoroutines(t)
	net := nodetest.New(t, 4, nodetest.Options{})
	net.ConnectChain()
	a, c := net.Nodes[0], net.Nodes[3]
	ctx := context.Background()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "v1.txt"), []byte("version one"), 0o644)
	os.WriteFile(filepath.Join(dir, "v2.txt"), []byte("version two"), 0o644)
	p1, err := a.Add(ctx, node.AddRequest{Path: filepath.Join(dir, "v1.txt"), Title: "v1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := a.Add(ctx, node.AddRequest{Path: filepath.Join(dir, "v2.txt"), Title: "v2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
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
	if _, err := c.BookmarkAdd(ctx, "docs", mutable); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BookmarkFollow(ctx, "docs", true); err != nil {
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
	if _, err := c.BookmarkFollow(ctx, "nosuch", true); !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("follow unknown bookmark: %v", err)
	}
	if got := title(a); got != "v2" {
		t.Fatalf("A resolves its own channel to %q", got)
	}
	// Bad input.
	if _, err := a.Publish(ctx, "Bad Name", p1.MRI); !errors.Is(err, node.ErrInvalid) {
		t.Fatalf("bad channel name: %v", err)
	}
	if _, err := c.Info(ctx, "myco://"+a.Identity().PeerID.String()+"/nosuch"); !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("unknown channel: %v", err)
	}
}
