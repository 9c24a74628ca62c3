package node_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
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
	leakcheck.Check(t)
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
	res, err := a.Add(ctx, apitype.AddRequest{Path: src, Title: "big"}, nil)
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

// holderAndReader starts nodes A and B (B takes no replicas, so only its
// reads fetch), caps A's upload, and adds size random bytes on A as one
// file.
func holderAndReader(t *testing.T, upload string, size int, seed uint64) (a, b *node.Node, res apitype.AddResult, root cid.Cid, want []byte) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "big.bin")
	want = writeRand(t, src, seed, size)
	a, b, res, root = holderOf(t, upload, src)
	return a, b, res, root, want
}

// holderOf is holderAndReader for the file or directory at path.
func holderOf(t *testing.T, upload, path string) (a, b *node.Node, res apitype.AddResult, root cid.Cid) {
	t.Helper()
	leakcheck.Check(t)
	net := nodetest.New(t, 2, nodetest.Options{Logs: os.Getenv("MESH_LOGS") != "", Override: func(i int, fc *config.FileConfig) {
		fc.Quota.Replicas = "1KB"
	}})
	net.Connect(1, 0)
	a, b = net.Nodes[0], net.Nodes[1]
	ctx := context.Background()
	if _, err := a.SetQuota(ctx, "upload", upload); err != nil {
		t.Fatal(err)
	}
	res, err := a.Add(ctx, apitype.AddRequest{Path: path, Title: "big"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, err = cid.Decode(res.Package)
	if err != nil {
		t.Fatal(err)
	}
	return a, b, res, root
}

// Issue 10 item 8, issue 13 item 4: an interrupted fetch keeps the blocks it
// verified, unpinned (the package is not shown as held); the next fetch asks
// only for what is missing; GC reclaims what an abandoned fetch left.
func TestInterruptedFetchResumes(t *testing.T) {
	const size = 12 << 20
	_, b, res, root, want := holderAndReader(t, "8MB/s", size, 12)
	ctx := context.Background()

	// First get: interrupted once 4 MB have arrived.
	fctx, cancel := context.WithCancel(ctx)
	var first int64
	_, err := b.SiteGet(fctx, res.MRI, func(p apitype.Progress) {
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
	if _, err := b.SiteGet(ctx, res.MRI, func(p apitype.Progress) { second = p.Bytes }); err != nil {
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
	_, _ = b.SiteGet(fctx, res.MRI, func(p apitype.Progress) { cancel() })
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

// lists reports whether the providers of ref, as n finds them, include id.
func lists(t *testing.T, n *node.Node, ref, id string) bool {
	t.Helper()
	ps, err := n.Providers(context.Background(), ref)
	if err != nil {
		t.Fatalf("providers: %v", err)
	}
	for _, p := range ps {
		if p.ID == id {
			return true
		}
	}
	return false
}

// Issue 10 item 7: after `pin rm` and `gc` a node no longer lists itself as
// a provider, and neither do the other nodes, though its provider record
// still lives in their DHT stores.
func TestNoStaleProviderAfterUnpinAndGC(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 3, nodetest.Options{Override: func(i int, fc *config.FileConfig) {
		fc.Quota.Replicas = "1KB" // no replicas: A is the only holder
	}})
	net.Connect(1, 0)
	net.Connect(2, 0)
	net.Connect(2, 1)
	a, b := net.Nodes[0], net.Nodes[1]
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "f.bin")
	writeRand(t, src, 13, 100<<10)
	res, err := a.Add(ctx, apitype.AddRequest{Path: src, Title: "f"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	idA, err := a.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "B to find A's provider record", func() bool { return lists(t, b, res.MRI, idA.PeerID) })
	if !lists(t, a, res.MRI, idA.PeerID) {
		t.Fatal("A does not list itself while it holds the package")
	}
	root, _ := cid.Decode(res.Package)
	waitFor(t, 10*time.Second, "A's own provider record", func() bool { return a.SelfProviderRecordForTest(root) })

	if err := a.Unpin(ctx, res.MRI, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := a.GC(ctx); err != nil {
		t.Fatal(err)
	}
	if a.SelfProviderRecordForTest(root) {
		t.Fatal("A still answers GET_PROVIDERS with itself after pin rm and gc")
	}
	if lists(t, a, res.MRI, idA.PeerID) {
		t.Fatal("A still lists itself as a provider after pin rm and gc")
	}
	if lists(t, b, res.MRI, idA.PeerID) {
		t.Fatal("B still lists A as a provider after A's pin rm and gc")
	}
}
