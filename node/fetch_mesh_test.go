package node_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/nodetest"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition under a deadline
	}
}

// Issue 10 item 1: a get on B while B takes a replica of the same package
// (its root already in B's store, the rest on the way) joins that fetch and
// succeeds, instead of reading a half-fetched DAG and failing with
// "unexpected EOF".
func TestGetWhileReplicaInFlight(t *testing.T) {
	nodetest.CheckGoroutines(t)
	net := nodetest.New(t, 2, nodetest.Options{Loopback: true, Logs: os.Getenv("MESH_LOGS") != ""})
	net.Connect(1, 0)
	a, b := net.Nodes[0], net.Nodes[1]
	ctx := context.Background()
	// Slow the replica down so that the get lands in the middle of it:
	// 24 MB at 8 MB/s; B's store shows the root after its first 16 MiB
	// flush.
	if _, err := a.SetQuota(ctx, "upload", "8MB/s"); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "big.bin")
	want := writeRand(t, src, 11, 24<<20)
	res, err := a.Add(ctx, node.AddRequest{Path: src, Title: "big"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, err := cid.Decode(res.Package)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "B to start taking the replica", func() bool { return b.HasBlockForTest(root) })
	if b.PinnedForTest(root) {
		t.Fatal("the replica completed before the get: the test did not race")
	}
	out := filepath.Join(t.TempDir(), "out.bin")
	gctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := b.Get(gctx, res.MRI, out, nil); err != nil {
		t.Fatalf("get during the replica fetch: %v", err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, not the %d added", len(got), len(want))
	}
}

// Issue 10 item 8, issue 13 item 4: an interrupted fetch keeps the blocks it
// verified, unpinned (the package is not shown as held); the next fetch asks
// only for what is missing; GC reclaims what an abandoned fetch left.
func TestInterruptedFetchResumes(t *testing.T) {
	nodetest.CheckGoroutines(t)
	net := nodetest.New(t, 2, nodetest.Options{Override: func(i int, fc *node.FileConfig) {
		fc.Quota.Replicas = "1KB" // B takes no replica on its own: the gets below are the only fetches
	}})
	net.Connect(1, 0)
	a, b := net.Nodes[0], net.Nodes[1]
	ctx := context.Background()
	if _, err := a.SetQuota(ctx, "upload", "8MB/s"); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "big.bin")
	const size = 12 << 20
	want := writeRand(t, src, 12, size)
	res, err := a.Add(ctx, node.AddRequest{Path: src, Title: "big"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := cid.Decode(res.Package)

	// First get: interrupted once 4 MB have arrived.
	fctx, cancel := context.WithCancel(ctx)
	var first int64
	_, err = b.SiteGet(fctx, res.MRI, func(p node.Progress) {
		first = p.Bytes
		if p.Bytes >= 4<<20 {
			cancel()
		}
	})
	cancel()
	if err == nil {
		t.Fatal("the interrupted get succeeded")
	}
	if first < 4<<20 || first >= size {
		t.Fatalf("first get stopped after %d bytes", first)
	}
	if !b.HasBlockForTest(root) {
		t.Fatal("the verified blocks of the interrupted get were dropped")
	}
	if b.PinnedForTest(root) {
		t.Fatal("a partial package is pinned as if complete")
	}
	if pins, _ := b.Pins(ctx); len(pins) != 0 {
		t.Fatalf("pins after an interrupted get: %+v", pins)
	}

	// Second get: only the rest crosses the network.
	var second int64
	if _, err := b.SiteGet(ctx, res.MRI, func(p node.Progress) { second = p.Bytes }); err != nil {
		t.Fatal(err)
	}
	if second+first > size+size/8 || second > size-first+(1<<20) {
		t.Fatalf("resumed get fetched %d bytes after %d of %d", second, first, size)
	}
	out := filepath.Join(t.TempDir(), "out.bin")
	if err := b.Get(ctx, res.MRI, out, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
		t.Fatal("resumed get wrote other bytes")
	}

	// An abandoned partial fetch is garbage: GC reclaims it.
	if err := b.Unpin(ctx, res.MRI, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GC(ctx); err != nil {
		t.Fatal(err)
	}
	fctx, cancel = context.WithCancel(ctx)
	_, _ = b.SiteGet(fctx, res.MRI, func(p node.Progress) { cancel() })
	cancel()
	if !b.HasBlockForTest(root) {
		t.Fatal("the abandoned fetch kept nothing")
	}
	if _, err := b.GC(ctx); err != nil {
		t.Fatal(err)
	}
	if b.HasBlockForTest(root) {
		t.Fatal("GC left the blocks of an abandoned fetch")
	}
}
