package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/nodetest"
)

// TestOverlayMovesToDirect: a and c reach each other through b's relay;
// when a direct connection appears, both overlay streams move onto it and
// routes says so; before, the path reported is the relayed stream's (issue
// 15 §1: the overlay kept sending over the relay while reporting "direct").
func TestOverlayMovesToDirect(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 3, nodetest.Options{Loopback: true})
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	aID, bID, cID := a.Identity().PeerID, b.Identity().PeerID, c.Identity().PeerID
	node.RelayOnly(a, cID)
	node.RelayOnly(c, aID)
	net.Connect(0, 1)
	net.Connect(1, 2)
	ctx := context.Background()
	cAddr := c.Identity().Address.String()
	ping := func() bool {
		res, err := a.Ping(ctx, cAddr, apitype.PingOptions{Count: 1, Timeout: 2 * time.Second})
		return err == nil && res.Received == 1
	}
	net.Eventually(30*time.Second, "a ping reply from c through b", ping)
	relayed := "relayed via " + bID.String()
	if p := node.OverlayStreamPath(a, cID); p != relayed {
		t.Fatalf("a's overlay stream to c: %q, want %q", p, relayed)
	}
	routePath := func() string {
		rs, _ := a.Routes(ctx)
		for _, r := range rs {
			if r.Addr == cAddr {
				return r.Path
			}
		}
		return ""
	}
	if p := routePath(); p != relayed {
		t.Fatalf("routes: %q, want %q", p, relayed)
	}
	peerPath := func(n *node.Node, id string) string {
		ps, _ := n.Peers(ctx)
		for _, p := range ps {
			if p.ID == id {
				return p.Path
			}
		}
		return ""
	}
	if p := peerPath(a, cID.String()); p != relayed {
		t.Fatalf("peers: %q, want %q", p, relayed)
	}

	node.AllowDirect(a, cID)
	node.AllowDirect(c, aID)
	// Already connected (relayed), so Connect dials only when forced to.
	if err := node.OverlayHost(a).(host.Host).Connect(network.WithForceDirectDial(ctx, "test"), net.AddrInfo(2)); err != nil {
		t.Fatal(err)
	}
	net.Eventually(10*time.Second, "both overlay streams on the direct connection", func() bool {
		ping()
		return node.OverlayStreamPath(a, cID) == "direct" && node.OverlayStreamPath(c, aID) == "direct"
	})
	if p := routePath(); p != "direct" {
		t.Fatalf("routes after the move: %q", p)
	}
	if p := peerPath(a, cID.String()); p != "direct" {
		t.Fatalf("peers after the move: %q", p)
	}
	if !ping() {
		t.Fatal("no reply over the direct path")
	}
	if res, _ := a.Ping(ctx, cAddr, apitype.PingOptions{Count: 1}); !strings.HasPrefix(res.Path, "direct") {
		t.Fatalf("ping path %q", res.Path)
	}
}
