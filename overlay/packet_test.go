package overlay_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/myconet/myconet/overlay"
	"github.com/myconet/myconet/overlay/overlaytest"
)

var (
	addrA = overlaytest.Addr("a")
	addrB = overlaytest.Addr("b")
)

// ext inserts extension headers (each given as next-header-less bytes
// whose first byte will be overwritten) after the fixed header of pkt.
func ext(pkt []byte, hdrs ...[]byte) []byte {
	out := append([]byte(nil), pkt[:40]...)
	upper := pkt[6]
	prev := 6 // index of the next-header byte to patch
	for _, h := range hdrs {
		h = append([]byte(nil), h...)
		out[prev] = h[0]
		prev = len(out)
		out = append(out, h...)
	}
	out[prev] = upper
	out = append(out, pkt[40:]...)
	binary.BigEndian.PutUint16(out[4:], uint16(len(out)-40))
	return out
}

// Extension headers: the first byte is this header's own protocol number
// (moved into the previous header's next-header field by ext).
var (
	hbh      = []byte{overlay.ProtoHopByHop, 0, 1, 4, 0, 0, 0, 0}
	destOpts = []byte{overlay.ProtoDestOpts, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	frag0    = []byte{overlay.ProtoFragment, 0, 0, 1, 0, 0, 0, 7}                                           // offset 0, M=1
	frag8    = []byte{overlay.ProtoFragment, 0, 0, 8, 0, 0, 0, 7}                                           // offset 1 (8 bytes)
	ah       = []byte{overlay.ProtoAH, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // (4+2)*4 = 24
)

func TestParsePacket(t *testing.T) {
	udp := overlaytest.UDP(netip.AddrPortFrom(addrA, 5353), netip.AddrPortFrom(addrB, 53), []byte("hi"))
	tcp := overlaytest.TCP(netip.AddrPortFrom(addrA, 40000), netip.AddrPortFrom(addrB, 22), overlay.TCPSyn, 1, nil)
	echo := overlaytest.Echo(addrA, addrB, 7, 9, []byte("ping"))
	tooMany := udp
	for range 9 {
		tooMany = ext(tooMany, []byte{overlay.ProtoDestOpts, 0, 1, 4, 0, 0, 0, 0})
	}
	lenMismatch := append(append([]byte(nil), udp...), 0)
	v4 := append([]byte(nil), udp...)
	v4[0] = 0x45
	hbhSecond := ext(udp, destOpts, hbh)
	truncTCP := append([]byte(nil), tcp[:50]...)
	binary.BigEndian.PutUint16(truncTCP[4:], 10)
	jumbo := append([]byte(nil), udp...)
	binary.BigEndian.PutUint16(jumbo[4:], 0)

	tests := []struct {
		name string
		pkt  []byte
		want overlay.Packet
		err  error
	}{
		{"udp", udp, overlay.Packet{Proto: overlay.ProtoUDP, Offset: 40, SrcPort: 5353, DstPort: 53}, nil},
		{"tcp", tcp, overlay.Packet{Proto: overlay.ProtoTCP, Offset: 40, SrcPort: 40000, DstPort: 22, TCPFlags: overlay.TCPSyn}, nil},
		{"echo", echo, overlay.Packet{Proto: overlay.ProtoICMPv6, Offset: 40, ICMPType: 128, EchoID: 7, EchoSeq: 9}, nil},
		{"hbh+dest+udp", ext(udp, hbh, destOpts), overlay.Packet{Proto: overlay.ProtoUDP, Offset: 40 + 8 + 16, SrcPort: 5353, DstPort: 53}, nil},
		{"first fragment", ext(udp, frag0), overlay.Packet{Proto: overlay.ProtoUDP, Offset: 48, Fragment: true, SrcPort: 5353, DstPort: 53}, nil},
		{"later fragment", ext(udp, frag8), overlay.Packet{Proto: overlay.ProtoUDP, Offset: 48, Fragment: true, NonFirst: true}, nil},
		{"ah", ext(tcp, ah), overlay.Packet{Proto: overlay.ProtoTCP, Offset: 64, SrcPort: 40000, DstPort: 22, TCPFlags: overlay.TCPSyn}, nil},
		{"short", udp[:39], overlay.Packet{}, overlay.ErrShort},
		{"ipv4", v4, overlay.Packet{}, overlay.ErrVersion},
		{"length mismatch", lenMismatch, overlay.Packet{}, overlay.ErrLength},
		{"jumbo", jumbo, overlay.Packet{}, overlay.ErrLength},
		{"hop-by-hop not first", hbhSecond, overlay.Packet{}, overlay.ErrExtHeader},
		{"too many extension headers", tooMany, overlay.Packet{}, overlay.ErrExtHeader},
		{"truncated tcp", truncTCP, overlay.Packet{}, overlay.ErrShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := overlay.ParsePacket(tt.pkt)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if p.Src != addrA || p.Dst != addrB || p.HopLimit != 64 {
				t.Errorf("addresses %v → %v hop limit %d", p.Src, p.Dst, p.HopLimit)
			}
			p.Src, p.Dst, p.HopLimit = netip.Addr{}, netip.Addr{}, 0
			if p != tt.want {
				t.Errorf("got  %+v\nwant %+v", p, tt.want)
			}
		})
	}
}

// refChecksum is the RFC 1071 checksum over the pseudo-header, written the
// slow and obvious way.
func refChecksum(src, dst netip.Addr, proto uint8, msg []byte) uint16 {
	var b []byte
	b = append(b, src.AsSlice()...)
	b = append(b, dst.AsSlice()...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(msg)))
	b = append(b, 0, 0, 0, proto)
	b = append(b, msg...)
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	var sum uint32
	for i := 0; i < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func TestChecksum(t *testing.T) {
	for n := range 80 {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(i*37 + n)
		}
		if got, want := overlay.Checksum(addrA, addrB, 58, msg), refChecksum(addrA, addrB, 58, msg); got != want {
			t.Fatalf("len %d: %#04x, want %#04x", n, got, want)
		}
	}
	// A filled-in checksum verifies to 0.
	echo := overlaytest.Echo(addrA, addrB, 1, 2, []byte("abc"))
	if c := overlay.Checksum(addrA, addrB, 58, echo[40:]); c != 0 {
		t.Fatalf("echo request checksum does not verify: %#04x", c)
	}
}

func TestEchoReply(t *testing.T) {
	req := overlaytest.Echo(addrA, addrB, 0x1234, 5, []byte("payload!"))
	rep, err := overlay.EchoReply(req)
	if err != nil {
		t.Fatal(err)
	}
	p, err := overlay.ParsePacket(rep)
	if err != nil {
		t.Fatal(err)
	}
	if p.Src != addrB || p.Dst != addrA || p.ICMPType != overlay.ICMPv6EchoReply || p.EchoID != 0x1234 || p.EchoSeq != 5 {
		t.Fatalf("reply %+v", p)
	}
	if !bytes.Equal(rep[48:], []byte("payload!")) {
		t.Fatalf("data %q", rep[48:])
	}
	if c := overlay.Checksum(p.Src, p.Dst, 58, rep[40:]); c != 0 {
		t.Fatalf("checksum does not verify")
	}
	udp := overlaytest.UDP(netip.AddrPortFrom(addrA, 1), netip.AddrPortFrom(addrB, 2), nil)
	if _, err := overlay.EchoReply(udp); !errors.Is(err, overlay.ErrNotEcho) {
		t.Fatalf("EchoReply(udp) err = %v", err)
	}
}

func TestPacketTooBig(t *testing.T) {
	for _, size := range []int{48, 1000, 1280, 1500, 9000} {
		big := overlaytest.Sized(netip.AddrPortFrom(addrA, 1), netip.AddrPortFrom(addrB, 2), size)
		m, err := overlay.PacketTooBig(addrB, 1280, big)
		if err != nil {
			t.Fatal(err)
		}
		if len(m) > 1280 {
			t.Fatalf("size %d: message of %d bytes", size, len(m))
		}
		p, err := overlay.ParsePacket(m)
		if err != nil {
			t.Fatal(err)
		}
		if p.Src != addrB || p.Dst != addrA || p.ICMPType != overlay.ICMPv6PacketTooBig || p.ICMPCode != 0 {
			t.Fatalf("%+v", p)
		}
		if mtu := binary.BigEndian.Uint32(m[44:]); mtu != 1280 {
			t.Fatalf("mtu field %d", mtu)
		}
		quoted := m[48:]
		if want := min(size, 1280-48); len(quoted) != want || !bytes.Equal(quoted, big[:want]) {
			t.Fatalf("size %d: quoted %d bytes, want %d", size, len(quoted), want)
		}
		if overlay.Checksum(p.Src, p.Dst, 58, m[40:]) != 0 {
			t.Fatal("checksum does not verify")
		}
		q, err := overlay.ParseEmbedded(quoted)
		if err != nil || q.Src != addrA || q.Dst != addrB || q.DstPort != 2 {
			t.Fatalf("quoted packet: %+v %v", q, err)
		}
		if overlay.ShouldSendError(&p) {
			t.Fatal("ShouldSendError allows an error about an error")
		}
	}
	if _, err := overlay.PacketTooBig(addrB, 1280, []byte{0x60}); err == nil {
		t.Fatal("no error for a short packet")
	}
}

func FuzzParsePacket(f *testing.F) {
	udp := overlaytest.UDP(netip.AddrPortFrom(addrA, 5353), netip.AddrPortFrom(addrB, 53), []byte("hi"))
	f.Add(udp)
	f.Add(ext(udp, hbh, destOpts, frag0))
	f.Add(ext(udp, frag8))
	f.Add(overlaytest.TCP(netip.AddrPortFrom(addrA, 1), netip.AddrPortFrom(addrB, 2), overlay.TCPSyn|overlay.TCPAck, 9, []byte("x")))
	f.Add(overlaytest.Echo(addrA, addrB, 1, 1, nil))
	f.Add([]byte{0x60})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := overlay.ParsePacket(b)
		if err == nil {
			if p.Offset < 40 || p.Offset > len(b) {
				t.Fatalf("offset %d of %d", p.Offset, len(b))
			}
			if !p.NonFirst {
				switch p.Proto {
				case overlay.ProtoTCP:
					if len(b)-p.Offset < 20 {
						t.Fatal("tcp header short")
					}
				case overlay.ProtoUDP:
					if len(b)-p.Offset < 8 {
						t.Fatal("udp header short")
					}
				}
			}
			if p.Proto == overlay.ProtoICMPv6 && p.ICMPType == overlay.ICMPv6EchoRequest && !p.NonFirst {
				if rep, err := overlay.EchoReply(b); err == nil {
					if _, err := overlay.ParsePacket(rep); err != nil {
						t.Fatalf("echo reply does not parse: %v", err)
					}
				}
			}
			if m, err := overlay.PacketTooBig(p.Dst, 1280, b); err != nil || len(m) > 1280 {
				t.Fatalf("PacketTooBig: %d bytes, %v", len(m), err)
			}
		}
		overlay.ParseEmbedded(b)
	})
}
