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
