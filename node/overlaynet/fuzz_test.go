package overlaynet

import (
	"net/netip"
	"testing"

	"github.com/myconet/myconet/overlay"
)

// FuzzIntercept feeds the ping interceptor (which sees every packet bound
// for the TUN, peers' bytes included) arbitrary packets: it must never
// panic, and it consumes only echo replies and errors for a waiting ping.
func FuzzIntercept(f *testing.F) {
	src := netip.MustParseAddr("fd6d:7963::1")
	dst := netip.MustParseAddr("fd6d:7963::2")
	req := overlay.BuildICMPv6(dst, src, overlay.ICMPv6EchoRequest, 0, []byte{0, 7, 0, 9, 1, 2, 3})
	rep, _ := overlay.EchoReply(req)
	unr, _ := overlay.DestinationUnreachable(overlay.RouterAddr, 3, req)
	ptb, _ := overlay.PacketTooBig(src, 1280, req)
	f.Add(rep)
	f.Add(unr)
	f.Add(ptb)
	f.Add(rep[:47])
	f.Add(unr[:50])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		o := &Service{pings: map[uint32]chan pingEvent{7<<16 | 9: make(chan pingEvent, 1)}}
		consumed := o.intercept(b)
		if !consumed {
			return
		}
		p, err := overlay.ParsePacket(b)
		if err != nil || p.Proto != overlay.ProtoICMPv6 {
			t.Fatalf("consumed a packet that is not ICMPv6: %x", b)
		}
		if p.ICMPType == overlay.ICMPv6EchoReply && (p.EchoID != 7 || p.EchoSeq != 9) {
			t.Fatalf("consumed a reply nobody waits for: %x", b)
		}
	})
}
