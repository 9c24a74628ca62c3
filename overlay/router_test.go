package overlay_test

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/tun/tuntest"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/overlay"
	"github.com/myconet/myconet/overlay/overlaytest"
)

type testNode struct {
	name string
	key  []byte
	addr netip.Addr
	tun  *tuntest.ChannelTUN
	r    *overlay.Router
	ep   *overlaytest.Endpoint
}

// newMesh starts one Router per name on a ChannelTUN, all joined by one
// in-memory network that also resolves their addresses. Everything stops
// on cleanup.
func newMesh(tb testing.TB, lossless bool, rules map[string]string, names ...string) (*overlaytest.Network, map[string]*testNode) {
	tb.Helper()
	network := overlaytest.NewNetwork()
	network.Lossless = lossless
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	nodes := make(map[string]*testNode)
	for _, name := range names {
		n := &testNode{name: name, key: overlaytest.Key(name), addr: overlaytest.Addr(name), tun: tuntest.NewChannelTUN()}
		n.ep = network.Join(name, n.key)
		fwRules, err := overlay.ParseRules(rules[name])
		if err != nil {
			tb.Fatal(err)
		}
		n.r, err = overlay.New(overlay.Config{
			Key:       n.key,
			TUN:       n.tun.TUN(),
			Transport: n.ep,
			Resolver:  network,
			Firewall:  overlay.NewFirewall(overlay.FirewallConfig{Rules: fwRules}),
		})
		if err != nil {
			tb.Fatal(err)
		}
		n.ep.Attach(n.r)
		nodes[name] = n
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.r.Run(ctx); err != nil {
				tb.Errorf("%s: Run: %v", name, err)
			}
		}()
	}
	tb.Cleanup(func() {
		cancel()
		for _, n := range nodes {
			if err := n.r.Close(); err != nil {
				tb.Errorf("Close: %v", err)
			}
		}
		wg.Wait()
		network.Close()
	})
	return network, nodes
}

// send writes a packet into n's TUN as the OS would.
func (n *testNode) send(tb testing.TB, pkt []byte) {
	tb.Helper()
	select {
	case n.tun.Outbound <- pkt:
	case <-time.After(5 * time.Second):
		tb.Fatalf("%s: router does not read its TUN", n.name)
	}
}

// recv returns the next packet the router wrote to n's TUN.
func (n *testNode) recv(tb testing.TB) []byte {
	tb.Helper()
	select {
	case pkt := <-n.tun.Inbound:
		return pkt
	case <-time.After(5 * time.Second):
		tb.Fatalf("%s: no packet on the TUN", n.name)
		return nil
	}
}

func parse(tb testing.TB, pkt []byte) overlay.Packet {
	tb.Helper()
	p, err := overlay.ParsePacket(pkt)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// waitFor polls cond until it holds or five seconds pass.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			tb.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

func TestTwoNodes(t *testing.T) {
	leakcheck.Check(t)
	network, nodes := newMesh(t, false, map[string]string{
		"b": "allow udp 9000\nallow tcp 22 from " + overlaytest.Addr("a").String(),
	}, "a", "b")
	a, b := nodes["a"], nodes["b"]

	t.Run("echo", func(t *testing.T) {
		for seq := range uint16(3) {
			a.send(t, overlaytest.Echo(a.addr, b.addr, 42, seq, []byte("hello")))
			p := parse(t, a.recv(t))
			if p.Src != b.addr || p.Dst != a.addr || p.ICMPType != overlay.ICMPv6EchoReply || p.EchoID != 42 || p.EchoSeq != seq {
				t.Fatalf("reply %+v", p)
			}
		}
		if got := b.r.Stats().EchoReplies; got != 3 {
			t.Fatalf("b answered %d echo requests", got)
		}
		// A's route to B was resolved once, B's to A learned from traffic.
		if got := network.Resolves.Load(); got != 1 {
			t.Fatalf("%d resolutions, want 1", got)
		}
	})

	t.Run("udp both ways", func(t *testing.T) {
		req := overlaytest.UDP(netip.AddrPortFrom(a.addr, 5000), netip.AddrPortFrom(b.addr, 9000), []byte("question"))
		a.send(t, req)
		if got := b.recv(t); !bytes.Equal(got, req) {
			t.Fatal("b received something else")
		}
		rep := overlaytest.UDP(netip.AddrPortFrom(b.addr, 9000), netip.AddrPortFrom(a.addr, 5000), []byte("answer"))
		b.send(t, rep)
		if got := a.recv(t); !bytes.Equal(got, rep) {
			t.Fatal("a received something else")
		}
	})

	t.Run("firewall", func(t *testing.T) {
		before := b.r.Stats().DropFirewall
		a.send(t, overlaytest.UDP(netip.AddrPortFrom(a.addr, 5000), netip.AddrPortFrom(b.addr, 9001), []byte("closed")))
		a.send(t, overlaytest.TCP(netip.AddrPortFrom(a.addr, 5001), netip.AddrPortFrom(b.addr, 23), overlay.TCPSyn, 1, nil))
		waitFor(t, "two firewall drops", func() bool { return b.r.Stats().DropFirewall == before+2 })
		syn := overlaytest.TCP(netip.AddrPortFrom(a.addr, 5002), netip.AddrPortFrom(b.addr, 22), overlay.TCPSyn, 1, nil)
		a.send(t, syn)
		if got := b.recv(t); !bytes.Equal(got, syn) { // nothing else came first
			t.Fatal("b received something other than the SYN")
		}
		// B answers; its SYN-ACK needs no state on A's side beyond A's SYN.
		a.send(t, overlaytest.TCP(netip.AddrPortFrom(a.addr, 5003), netip.AddrPortFrom(b.addr, 22), overlay.TCPSyn, 1, nil))
		b.recv(t)
		synAck := overlaytest.TCP(netip.AddrPortFrom(b.addr, 22), netip.AddrPortFrom(a.addr, 5003), overlay.TCPSyn|overlay.TCPAck, 7, nil)
		b.send(t, synAck)
		if got := a.recv(t); !bytes.Equal(got, synAck) {
			t.Fatal("a did not get the SYN-ACK")
		}
		// Closing the port on the running node applies at once.
		b.r.Firewall().SetRules(nil)
		a.send(t, syn)
		waitFor(t, "a drop after closing the port", func() bool { return b.r.Stats().DropFirewall == before+3 })
	})

	t.Run("unresolvable", func(t *testing.T) {
		nowhere := netip.MustParseAddr("fd6d:7963:dead::1")
		pkt := overlaytest.UDP(netip.AddrPortFrom(a.addr, 5000), netip.AddrPortFrom(nowhere, 9), nil)
		a.send(t, pkt)
		p := parse(t, a.recv(t))
		if p.Src != overlay.RouterAddr || p.ICMPType != overlay.ICMPv6DestUnreachable || p.ICMPCode != overlay.UnreachAddress {
			t.Fatalf("got %+v, want destination unreachable", p)
		}
	})

	t.Run("not ours", func(t *testing.T) {
		before := a.r.Stats().DropInvalid
		// Wrong source, destination outside the overlay, garbage.
		a.send(t, overlaytest.UDP(netip.AddrPortFrom(b.addr, 1), netip.AddrPortFrom(b.addr, 9000), nil))
		a.send(t, overlaytest.UDP(netip.AddrPortFrom(a.addr, 1), netip.MustParseAddrPort("[2001:db8::1]:9000"), nil))
		a.send(t, []byte{0x45, 0, 0, 20})
		waitFor(t, "three invalid drops", func() bool { return a.r.Stats().DropInvalid == before+3 })
	})
}

func TestPacketTooBigOutbound(t *testing.T) {
	leakcheck.Check(t)
	network := overlaytest.NewNetwork()
	defer network.Close()
	ct := tuntest.NewChannelTUN() // MTU 1420
	r, err := overlay.New(overlay.Config{Key: overlaytest.Key("a"), TUN: ct.TUN(), Transport: network.Join("a", overlaytest.Key("a")), Resolver: network, MTU: 1280})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- r.Run(context.Background()) }()
	defer func() {
		r.Close()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	n := &testNode{name: "a", tun: ct}
	big := overlaytest.Sized(netip.AddrPortFrom(r.Addr(), 1), netip.AddrPortFrom(overlaytest.Addr("b"), 2), 1400)
	n.send(t, big)
	m := n.recv(t)
	p := parse(t, m)
	if p.ICMPType != overlay.ICMPv6PacketTooBig || p.Dst != r.Addr() || len(m) > 1280 {
		t.Fatalf("%+v (%d bytes)", p, len(m))
	}
}

// recordingTransport records what a Router sends.
type recordingTransport struct {
	mu   sync.Mutex
	sent map[string][][]byte
}

func (rt *recordingTransport) Send(peer string, pkts [][]byte) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.sent == nil {
		rt.sent = make(map[string][][]byte)
	}
	for _, p := range pkts {
		rt.sent[peer] = append(rt.sent[peer], bytes.Clone(p))
	}
	return nil
}

func (rt *recordingTransport) take(peer string) [][]byte {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	s := rt.sent[peer]
	delete(rt.sent, peer)
	return s
}

type noResolver struct{}

func (noResolver) Resolve(context.Context, netip.Addr) (string, []byte, error) {
	return "", nil, errors.New("no")
}

// newLocal returns a Router without a TUN whose inbound packets are collected.
func newLocal(t *testing.T, cfg overlay.Config) (*overlay.Router, *recordingTransport, func() [][]byte) {
	t.Helper()
	tr := &recordingTransport{}
	var mu sync.Mutex
	var got [][]byte
	cfg.Key = overlaytest.Key("me")
	cfg.Transport = tr
	if cfg.Resolver == nil {
		cfg.Resolver = noResolver{}
	}
	cfg.Local = func(pkts [][]byte) {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range pkts {
			got = append(got, bytes.Clone(p))
		}
	}
	r, err := overlay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, tr, func() [][]byte {
		mu.Lock()
		defer mu.Unlock()
		g := got
		got = nil
		return g
	}
}

func TestDeliverSpoofing(t *testing.T) {
	rules, _ := overlay.ParseRules("allow udp 53")
	r, _, local := newLocal(t, overlay.Config{Firewall: overlay.NewFirewall(overlay.FirewallConfig{Rules: rules})})
	me := r.Addr()
	peerKey := overlaytest.Key("peer")
	peer := overlaytest.Addr("peer")
	honest := overlaytest.UDP(netip.AddrPortFrom(peer, 1000), netip.AddrPortFrom(me, 53), []byte("ok"))
	tests := []struct {
		name  string
		pkt   []byte
		stats func(overlay.Stats) uint64
	}{
		{"source of another key", overlaytest.UDP(netip.AddrPortFrom(overlaytest.Addr("victim"), 1000), netip.AddrPortFrom(me, 53), nil), func(s overlay.Stats) uint64 { return s.DropSpoofed }},
		{"source outside the overlay", overlaytest.UDP(netip.MustParseAddrPort("[2001:db8::1]:1000"), netip.AddrPortFrom(me, 53), nil), func(s overlay.Stats) uint64 { return s.DropSpoofed }},
		{"destination not us", overlaytest.UDP(netip.AddrPortFrom(peer, 1000), netip.AddrPortFrom(overlaytest.Addr("third"), 53), nil), func(s overlay.Stats) uint64 { return s.DropInvalid }},
		{"garbage", []byte("not a packet at all, not even close to forty bytes long"), func(s overlay.Stats) uint64 { return s.DropInvalid }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.stats(r.Stats())
			r.Deliver("peer", peerKey, [][]byte{tt.pkt, honest})
			got := local()
			if len(got) != 1 || !bytes.Equal(got[0], honest) {
				t.Fatalf("delivered %d packets, want only the honest one", len(got))
			}
			if tt.stats(r.Stats()) != before+1 {
				t.Fatal("drop not counted")
			}
		})
	}
}

func TestDeliverEchoAndTooBig(t *testing.T) {
	r, tr, local := newLocal(t, overlay.Config{MTU: 1280})
	peerKey := overlaytest.Key("peer")
	peer := overlaytest.Addr("peer")
	r.Deliver("peer", peerKey, [][]byte{overlaytest.Echo(peer, r.Addr(), 1, 2, []byte("x"))})
	sent := tr.take("peer")
	if len(sent) != 1 || parse(t, sent[0]).ICMPType != overlay.ICMPv6EchoReply {
		t.Fatalf("sent %d packets back, want an echo reply", len(sent))
	}
	big := overlaytest.Sized(netip.AddrPortFrom(peer, 1), netip.AddrPortFrom(r.Addr(), 2), 1400)
	r.Deliver("peer", peerKey, [][]byte{big})
	sent = tr.take("peer")
	if len(sent) != 1 {
		t.Fatalf("sent %d packets back, want Packet Too Big", len(sent))
	}
	p := parse(t, sent[0])
	if p.ICMPType != overlay.ICMPv6PacketTooBig || p.Src != r.Addr() || p.Dst != peer || len(sent[0]) > 1280 {
		t.Fatalf("%+v", p)
	}
	if len(local()) != 0 {
		t.Fatal("oversized packet delivered")
	}
	// No error about an error.
	ptb, _ := overlay.PacketTooBig(peer, 1280, overlaytest.Sized(netip.AddrPortFrom(r.Addr(), 1), netip.AddrPortFrom(peer, 2), 1280))
	ptb = append(ptb, make([]byte, 200)...) // make it oversized without breaking the quote
	fixLen(ptb)
	r.Deliver("peer", peerKey, [][]byte{ptb})
	if sent := tr.take("peer"); len(sent) != 0 {
		t.Fatal("answered an ICMPv6 error with an error")
	}
}

func fixLen(pkt []byte) {
	pkt[4], pkt[5] = byte((len(pkt)-40)>>8), byte(len(pkt)-40)
}

type keyResolver struct{ key []byte }

func (k keyResolver) Resolve(context.Context, netip.Addr) (string, []byte, error) {
	return "liar", k.key, nil
}

func TestResolverKeyChecked(t *testing.T) {
	r, tr, local := newLocal(t, overlay.Config{Resolver: keyResolver{overlaytest.Key("liar")}})
	go r.Run(t.Context())
	dst := overlaytest.Addr("someone")
	r.Send([][]byte{overlaytest.UDP(netip.AddrPortFrom(r.Addr(), 1), netip.AddrPortFrom(dst, 2), nil)})
	var got [][]byte
	waitFor(t, "destination unreachable", func() bool { got = append(got, local()...); return len(got) > 0 })
	if p := parse(t, got[0]); p.ICMPType != overlay.ICMPv6DestUnreachable {
		t.Fatalf("%+v", p)
	}
	if len(tr.take("liar")) != 0 {
		t.Fatal("sent to a peer whose key does not match the address")
	}
	rs := r.Routes()
	if len(rs) != 1 || !errors.Is(rs[0].Err, overlay.ErrKeyMismatch) {
		t.Fatalf("routes %+v", rs)
	}
}

func TestRouterClose(t *testing.T) {
	leakcheck.Check(t)
	ct := tuntest.NewChannelTUN()
	r, err := overlay.New(overlay.Config{Key: overlaytest.Key("a"), TUN: ct.TUN(), Transport: &recordingTransport{}, Resolver: noResolver{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	ct.Outbound <- overlaytest.UDP(netip.AddrPortFrom(r.Addr(), 1), netip.AddrPortFrom(overlaytest.Addr("b"), 2), nil) // starts a resolution
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Run(context.Background()); !errors.Is(err, overlay.ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
	if err := r.Send(nil); !errors.Is(err, overlay.ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	r.Deliver("b", overlaytest.Key("b"), [][]byte{overlaytest.Echo(overlaytest.Addr("b"), r.Addr(), 1, 1, nil)})

	// Close before Run.
	r2, _ := overlay.New(overlay.Config{Key: overlaytest.Key("a"), Transport: &recordingTransport{}, Resolver: noResolver{}})
	r2.Close()
}
