package overlay_test

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/myconet/myconet/overlay"
	"github.com/myconet/myconet/overlay/overlaytest"
)

func mustRules(t testing.TB, text string) []overlay.Rule {
	t.Helper()
	r, err := overlay.ParseRules(text)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func allow(t *testing.T, fw *overlay.Firewall, pkt []byte) bool {
	t.Helper()
	p, err := overlay.ParsePacket(pkt)
	if err != nil {
		t.Fatal(err)
	}
	return fw.Allow(pkt, &p)
}

func outbound(t *testing.T, fw *overlay.Firewall, pkt []byte) {
	t.Helper()
	p, err := overlay.ParsePacket(pkt)
	if err != nil {
		t.Fatal(err)
	}
	fw.Outbound(&p)
}

func ap(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }

func TestFirewallRules(t *testing.T) {
	me := overlaytest.Addr("me")
	friend := overlaytest.Addr("friend") // the rules below open ports to it
	other := netip.MustParseAddr("fd6d:7963:ffff::1")
	friendNet := netip.PrefixFrom(friend, 48).Masked()
	rules := mustRules(t, `
allow tcp 22 from `+friendNet.String()+`
allow tcp 80
deny tcp 8080 from `+friend.String()+`
allow tcp 8080
allow udp 53 from `+friend.String()+`
deny udp 53 from `+friend.String()+`
allow udp 5000 from `+friend.String()+`
deny udp 5000
allow tcp 8000
deny tcp 8000 from `+friend.String()+`
deny tcp 9000
allow tcp 9000 from `+friendNet.String()+`
`)
	fw := overlay.NewFirewall(overlay.FirewallConfig{Rules: rules})
	tests := []struct {
		name string
		pkt  []byte
		want bool
	}{
		{"ssh from friend", overlaytest.TCP(ap(friend, 5555), ap(me, 22), overlay.TCPSyn, 0, nil), true},
		{"ssh from other", overlaytest.TCP(ap(other, 5555), ap(me, 22), overlay.TCPSyn, 0, nil), false},
		{"http from anyone", overlaytest.TCP(ap(other, 5555), ap(me, 80), overlay.TCPSyn, 0, nil), true},
		{"udp 80 closed", overlaytest.UDP(ap(other, 5555), ap(me, 80), nil), false},
		{"closed port", overlaytest.TCP(ap(friend, 5555), ap(me, 23), overlay.TCPSyn, 0, nil), false},
		{"first match denies", overlaytest.TCP(ap(friend, 5555), ap(me, 8080), overlay.TCPSyn, 0, nil), false},
		{"first match allows others", overlaytest.TCP(ap(other, 5555), ap(me, 8080), overlay.TCPSyn, 0, nil), true},
		{"deny wins a tie", overlaytest.UDP(ap(friend, 5555), ap(me, 53), nil), false},
		{"earlier allow before a broader deny", overlaytest.UDP(ap(friend, 5555), ap(me, 5000), nil), true},
		{"broader deny", overlaytest.UDP(ap(other, 5555), ap(me, 5000), nil), false},
		// Issue 10, item 24: the later, more specific deny applies.
		{"deny after a broader allow", overlaytest.TCP(ap(friend, 5555), ap(me, 8000), overlay.TCPSyn, 0, nil), false},
		{"broader allow for the others", overlaytest.TCP(ap(other, 5555), ap(me, 8000), overlay.TCPSyn, 0, nil), true},
		{"allow after a broader deny", overlaytest.TCP(ap(friend, 5555), ap(me, 9000), overlay.TCPSyn, 0, nil), true},
		{"broader deny for the others", overlaytest.TCP(ap(other, 5555), ap(me, 9000), overlay.TCPSyn, 0, nil), false},
		{"echo request", overlaytest.Echo(other, me, 1, 1, nil), true},
		{"unsolicited echo reply", mustEchoReply(t, overlaytest.Echo(me, other, 1, 1, nil)), false},
		{"other icmp", overlay.BuildICMPv6(other, me, 135, 0, make([]byte, 20)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := allow(t, fw, tt.pkt); got != tt.want {
				t.Fatalf("Allow = %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("live replacement", func(t *testing.T) {
		ssh := overlaytest.TCP(ap(friend, 5555), ap(me, 22), overlay.TCPSyn, 0, nil)
		fw.SetRules(nil)
		if allow(t, fw, ssh) {
			t.Fatal("allowed after the rules were removed")
		}
		fw.SetRules(rules)
		if !allow(t, fw, ssh) {
			t.Fatal("denied after the rules came back")
		}
		if got := fw.Rules(); len(got) != len(rules) || got[0] != rules[0] || !slices.Equal(got, overlay.Order(rules)) {
			t.Fatalf("Rules() = %v", got)
		}
	})
}

func mustEchoReply(t *testing.T, req []byte) []byte {
	rep, err := overlay.EchoReply(req)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestFirewallStateful(t *testing.T) {
	me := overlaytest.Addr("me")
	peer := overlaytest.Addr("peer")
	clock := overlaytest.NewClock()
	fw := overlay.NewFirewall(overlay.FirewallConfig{Now: clock.Now, UDPIdle: time.Minute, TCPIdle: time.Hour, ICMPIdle: 10 * time.Second})

	t.Run("tcp", func(t *testing.T) {
		synAck := overlaytest.TCP(ap(peer, 443), ap(me, 40000), overlay.TCPSyn|overlay.TCPAck, 0, nil)
		if allow(t, fw, synAck) {
			t.Fatal("SYN-ACK passed before the node sent a SYN")
		}
		// An ACK from the node (answering a connection someone else opened)
		// does not open the flow.
		outbound(t, fw, overlaytest.TCP(ap(me, 40000), ap(peer, 443), overlay.TCPAck, 0, nil))
		if allow(t, fw, synAck) {
			t.Fatal("an outbound ACK opened the flow")
		}
		outbound(t, fw, overlaytest.TCP(ap(me, 40000), ap(peer, 443), overlay.TCPSyn, 0, nil))
		if !allow(t, fw, synAck) {
			t.Fatal("SYN-ACK to the node's SYN dropped")
		}
		if allow(t, fw, overlaytest.TCP(ap(peer, 443), ap(me, 40001), overlay.TCPAck, 0, nil)) {
			t.Fatal("another local port passed")
		}
		if allow(t, fw, overlaytest.TCP(ap(peer, 444), ap(me, 40000), overlay.TCPAck, 0, nil)) {
			t.Fatal("another remote port passed")
		}
		clock.Advance(59 * time.Minute)
		if !allow(t, fw, synAck) { // refreshes
			t.Fatal("flow expired early")
		}
		clock.Advance(59 * time.Minute)
		if !allow(t, fw, synAck) {
			t.Fatal("inbound packets did not refresh the flow")
		}
		clock.Advance(61 * time.Minute)
		if allow(t, fw, synAck) {
			t.Fatal("idle flow still open")
		}
	})

	t.Run("udp", func(t *testing.T) {
		reply := overlaytest.UDP(ap(peer, 53), ap(me, 33333), []byte("answer"))
		if allow(t, fw, reply) {
			t.Fatal("unsolicited udp passed")
		}
		outbound(t, fw, overlaytest.UDP(ap(me, 33333), ap(peer, 53), []byte("query")))
		if !allow(t, fw, reply) {
			t.Fatal("udp reply dropped")
		}
		if allow(t, fw, overlaytest.UDP(ap(overlaytest.Addr("third"), 53), ap(me, 33333), nil)) {
			t.Fatal("a third party got through the flow")
		}
		clock.Advance(30 * time.Second)
		outbound(t, fw, overlaytest.UDP(ap(me, 33333), ap(peer, 53), nil)) // refresh
		clock.Advance(50 * time.Second)
		if !allow(t, fw, reply) {
			t.Fatal("outbound packets did not refresh the flow")
		}
		clock.Advance(61 * time.Second)
		if allow(t, fw, reply) {
			t.Fatal("idle udp flow still open")
		}
	})

	t.Run("echo", func(t *testing.T) {
		req := overlaytest.Echo(me, peer, 77, 1, nil)
		rep := mustEchoReply(t, req)
		if allow(t, fw, rep) {
			t.Fatal("unsolicited echo reply passed")
		}
		outbound(t, fw, req)
		if !allow(t, fw, rep) {
			t.Fatal("echo reply dropped")
		}
		if allow(t, fw, mustEchoReply(t, overlaytest.Echo(me, peer, 78, 1, nil))) {
			t.Fatal("reply with another identifier passed")
		}
		clock.Advance(11 * time.Second)
		if allow(t, fw, rep) {
			t.Fatal("echo flow did not expire")
		}
	})

	t.Run("icmp errors", func(t *testing.T) {
		mine := overlaytest.UDP(ap(me, 1), ap(peer, 2), make([]byte, 1400))
		ptb, _ := overlay.PacketTooBig(peer, 1280, mine)
		if !allow(t, fw, ptb) {
			t.Fatal("Packet Too Big about the node's own packet dropped")
		}
		third := overlaytest.Addr("third")
		forged, _ := overlay.PacketTooBig(third, 1280, mine) // third party reports on a packet to peer
		if allow(t, fw, forged) {
			t.Fatal("error from a node the packet was not sent to passed")
		}
		notMine := overlaytest.UDP(ap(third, 1), ap(peer, 2), nil)
		forged = overlay.BuildICMPv6(peer, me, overlay.ICMPv6DestUnreachable, overlay.UnreachPort, append(make([]byte, 4), notMine...))
		if allow(t, fw, forged) {
			t.Fatal("error about someone else's packet passed")
		}
	})
}

func TestFirewallMaxFlows(t *testing.T) {
	me, peer := overlaytest.Addr("me"), overlaytest.Addr("peer")
	clock := overlaytest.NewClock()
	fw := overlay.NewFirewall(overlay.FirewallConfig{Now: clock.Now, MaxFlows: 10, UDPIdle: time.Minute})
	for port := range uint16(20) {
		outbound(t, fw, overlaytest.UDP(ap(me, 1000+port), ap(peer, 53), nil))
	}
	if n := fw.Flows(); n != 10 {
		t.Fatalf("%d flows, limit 10", n)
	}
	if allow(t, fw, overlaytest.UDP(ap(peer, 53), ap(me, 1015), nil)) {
		t.Fatal("untracked flow passed")
	}
	clock.Advance(2 * time.Minute)
	outbound(t, fw, overlaytest.UDP(ap(me, 2000), ap(peer, 53), nil))
	if n := fw.Flows(); n != 1 {
		t.Fatalf("%d flows after expiry, want 1", n)
	}
}

func TestFirewallConcurrent(t *testing.T) {
	me, peer := overlaytest.Addr("me"), overlaytest.Addr("peer")
	fw := overlay.NewFirewall(overlay.FirewallConfig{})
	rules := mustRules(t, "allow tcp 22\nallow udp 53")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				port := uint16(g*1000 + i)
				out := overlaytest.UDP(ap(me, port), ap(peer, 53), nil)
				in := overlaytest.UDP(ap(peer, 53), ap(me, port), nil)
				po, _ := overlay.ParsePacket(out)
				pi, _ := overlay.ParsePacket(in)
				fw.Outbound(&po)
				if !fw.Allow(in, &pi) {
					t.Error("reply dropped")
					return
				}
				if i%50 == 0 {
					fw.SetRules(rules)
					_ = fw.Rules()
				}
			}
		}()
	}
	wg.Wait()
}

// TestFirewallOrder checks the order rules apply in, whatever the order
// they were given in: most specific source first, deny first among equals.
func TestFirewallOrder(t *testing.T) {
	given := `
allow tcp 8000
allow udp 53
deny tcp 8000 from fd6d:7963::1
allow tcp 8000 from fd6d:7963::/32
deny tcp 8000 from fd6d:7963::/32
allow tcp 22 from fd6d:7963::/64
allow tcp 8000 from fd6d:7963::/48
`
	want := []string{
		"allow tcp 22 from fd6d:7963::/64",
		"deny tcp 8000 from fd6d:7963::1",
		"allow tcp 8000 from fd6d:7963::/48",
		"deny tcp 8000 from fd6d:7963::/32",
		"allow tcp 8000 from fd6d:7963::/32",
		"allow tcp 8000",
		"allow udp 53",
	}
	rules := mustRules(t, given)
	for range 5 {
		rand.Shuffle(len(rules), func(i, j int) { rules[i], rules[j] = rules[j], rules[i] })
		var got []string
		for _, r := range overlay.Order(rules) {
			got = append(got, r.String())
		}
		if !slices.Equal(got, want) {
			t.Fatalf("Order:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
