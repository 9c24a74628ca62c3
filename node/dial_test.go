package node_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/nodetest"
)

// TestGetThroughRelay: a and c (real loopback hosts) refuse direct
// connections with each other, and b, which both are connected to, takes
// no replica. c still gets a's package, byte for byte, through b's relay.
func TestGetThroughRelay(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 3, nodetest.Options{Loopback: true, Override: func(i int, fc *config.FileConfig) {
		if i == 1 {
			fc.Quota.Replicas = "1B"
		}
	}})
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	node.RelayOnly(a, net.AddrInfo(2).ID)
	node.RelayOnly(c, net.AddrInfo(0).ID)
	net.Connect(0, 1)
	net.Connect(1, 2)

	ctx := context.Background()
	dir := t.TempDir()
	data := bytes.Repeat([]byte("relayed content "), 80<<10) // 1.25 MiB
	if err := os.WriteFile(filepath.Join(dir, "in.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	pkg, err := a.Add(ctx, apitype.AddRequest{Path: filepath.Join(dir, "in.bin"), Title: "relayed"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.bin")
	var lastErr error
	defer func() {
		if t.Failed() {
			t.Logf("c's last get: %v", lastErr)
		}
	}()
	net.Eventually(30*time.Second, "c to get a's package", func() bool {
		gctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		lastErr = c.Get(gctx, pkg.MRI, out, nil)
		return lastErr == nil
	})
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("c got %d bytes (%v), want %d", len(got), err, len(data))
	}
	if pins, _ := b.Pins(ctx); len(pins) != 0 {
		t.Fatalf("b holds %v: the test proves nothing about relaying", pins)
	}
	peers, _ := c.Peers(ctx)
	relayed := false
	for _, p := range peers {
		if p.ID == net.AddrInfo(0).ID.String() {
			if !p.Relayed {
				t.Fatalf("c is connected to a directly: %+v", p)
			}
			relayed = true
		}
	}
	if !relayed {
		t.Fatalf("c is not connected to a: %+v", peers)
	}
}
