package node_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/nodetest"
	"github.com/myconet/myconet/node/overlaynet"
	"github.com/myconet/myconet/overlay"
)

// TestOverlayPingThroughDHT: A and C meet only through B; A pings C's
// overlay address, which resolves through C's /myco-addr/ record in the DHT,
// then routes shows the path, and the ping goes on after C's connection to A
// is cut (the link reopens).
func TestOverlayPingThroughDHT(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 3, nodetest.Options{})
	net.ConnectChain()
	a, c := net.Nodes[0], net.Nodes[2]
	ctx := context.Background()
	cAddr := c.Identity().Address.String()

	var res apitype.PingResult
	net.Eventually(30*time.Second, "a ping reply from C", func() bool {
		var err error
		res, err = a.Ping(ctx, cAddr, apitype.PingOptions{Count: 1, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return res.Received == 1
	})
	if res.Peer != c.Identity().PeerID.String() || res.Path != "direct" || res.Replies[0].RTT <= 0 || res.Replies[0].Bytes != 64 {
		t.Fatalf("ping result %+v", res)
	}
	routes, err := a.Routes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range routes {
		if r.Addr == cAddr {
			found = r.Peer == res.Peer && r.State == "ok" && r.Path == "direct"
		}
	}
	if !found {
		t.Fatalf("routes %+v lack C as ok and direct", routes)
	}
	if st := node.OverlayStats(c); st.EchoReplies == 0 {
		t.Fatalf("C answered no echo: %+v", st)
	}

	// Cut the connection: the link's stream dies, the next ping reconnects.
	node.OverlayHost(a).(host.Host).Network().ClosePeer(c.Identity().PeerID)
	net.Eventually(30*time.Second, "a ping reply after the connection was cut", func() bool {
		res, err = a.Ping(ctx, cAddr, apitype.PingOptions{Count: 1, Timeout: 2 * time.Second})
		return err == nil && res.Received == 1
	})

	// Nobody holds this address: unreachable, quickly, not a timeout.
	none := netip.MustParseAddr("fd6d:7963::1").String()
	res, err = a.Ping(ctx, none, apitype.PingOptions{Count: 1, Timeout: time.Second})
	if err != nil || res.Received != 0 || res.Replies[0].Error == "" || res.Replies[0].Error == "timeout" {
		t.Fatalf("ping of a held-by-nobody address: %+v, %v", res, err)
	}
	for _, bad := range []string{"10.0.0.1", "fe80::1", "nonsense", c.Identity().Address.String() + "%eth0", a.Identity().Address.String()} {
		if _, err := a.Ping(ctx, bad, apitype.PingOptions{}); apitype.CodeOf(err) != apitype.CodeInvalid {
			t.Errorf("ping %q: %v, want invalid", bad, err)
		}
	}
}

// TestFirewallLiveAndPersisted: firewall edits reach the running Router and
// the config file.
func TestFirewallLiveAndPersisted(t *testing.T) {
	net := nodetest.New(t, 1, nodetest.Options{})
	n := net.Nodes[0]
	ctx := context.Background()
	if _, err := n.FirewallAdd(ctx, "allow tcp 22"); err != nil {
		t.Fatal(err)
	}
	fw, err := n.FirewallAdd(ctx, "allow udp 53 from fd6d:7963::/32")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.FirewallAdd(ctx, "deny tcp 22"); err != nil { // replaces the allow
		t.Fatal(err)
	}
	fw, _ = n.Firewall(ctx)
	want := []string{"deny tcp 22", "allow udp 53 from fd6d:7963::/32"}
	if len(fw.Rules) != 2 || fw.Rules[0] != want[0] || fw.Rules[1] != want[1] {
		t.Fatalf("rules %q, want %q", fw.Rules, want)
	}
	live := node.OverlayRules(n)
	if len(live) != 2 || live[0].String() != want[0] || live[1].String() != want[1] {
		t.Fatalf("router rules %v, want %q", live, want)
	}
	if v, _ := n.ConfigGet(ctx, "overlay.firewall"); v != "deny tcp 22,allow udp 53 from fd6d:7963::/32" {
		t.Fatalf("config overlay.firewall = %q", v)
	}
	if _, err := n.FirewallRemove(ctx, "allow tcp 22"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.FirewallRemove(ctx, "allow tcp 22"); apitype.CodeOf(err) != apitype.CodeNotFound {
		t.Fatalf("removing a missing rule: %v", err)
	}
	for _, bad := range []string{"allow tcp", "allow icmp 1", "permit tcp 1", "allow tcp 70000", "allow tcp 1 from 10.0.0.1"} {
		if _, err := n.FirewallAdd(ctx, bad); apitype.CodeOf(err) != apitype.CodeInvalid {
			t.Errorf("FirewallAdd(%q): %v, want invalid", bad, err)
		}
	}
	if err := n.ConfigSet(ctx, "overlay.firewall", "allow tcp 22,allow bogus"); apitype.CodeOf(err) != apitype.CodeInvalid {
		t.Fatalf("config set of a bad rule: %v", err)
	}
	if live := node.OverlayRules(n); len(live) != 1 || live[0].String() != "allow udp 53 from fd6d:7963::/32" {
		t.Fatalf("router rules after remove and a refused set: %v", live)
	}
	_ = overlay.Prefix
}

// TestOverlaySpoofedSourceDropped: B opens an overlay stream to A and sends
// two echo requests, one from B's own address and one claiming C's: A
// answers the first and drops the second, because the connection it came on
// carries B's key.
func TestOverlaySpoofedSourceDropped(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 3, nodetest.Options{})
	net.Connect(0, 1)
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	hb := node.OverlayHost(b).(host.Host)
	s, err := hb.NewStream(context.Background(), a.Identity().PeerID, overlaynet.Protocol)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	aAddr := a.Identity().Address
	genuine := overlay.BuildICMPv6(b.Identity().Address, aAddr, overlay.ICMPv6EchoRequest, 0, []byte{0, 1, 0, 1})
	forged := overlay.BuildICMPv6(c.Identity().Address, aAddr, overlay.ICMPv6EchoRequest, 0, []byte{0, 1, 0, 2})
	fw := overlay.NewFrameWriter(s, 0)
	for _, p := range [][]byte{forged, genuine, forged} {
		if err := fw.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Flush(); err != nil {
		t.Fatal(err)
	}
	net.Eventually(10*time.Second, "A to count the packets", func() bool {
		st := node.OverlayStats(a)
		return st.DropSpoofed == 2 && st.EchoReplies == 1
	})
	// A garbage frame resets the stream; A keeps running and answers pings.
	if _, err := s.Write([]byte{0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	net.Eventually(10*time.Second, "a ping from B after the garbage", func() bool {
		res, err := b.Ping(context.Background(), aAddr.String(), apitype.PingOptions{Timeout: time.Second})
		return err == nil && res.Received == 1
	})
}
