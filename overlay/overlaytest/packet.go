// Package overlaytest has fakes and helpers for testing the overlay: IPv6
// packet builders (tuntest.Ping is IPv4-only), an in-memory mesh that is a
// Transport and a Resolver, fake node keys, and a goroutine-leak check.
package overlaytest

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"

	"github.com/myconet/myconet/overlay"
)

// Key returns a fake marshalled public key for name. The overlay treats keys
// as opaque bytes, so any bytes will do; these are stable across runs.
func Key(name string) []byte {
	s := sha256.Sum256([]byte("overlaytest key " + name))
	return s[:]
}

// Addr returns the overlay address of Key(name).
func Addr(name string) netip.Addr { return overlay.AddressFromKey(Key(name)) }

func ipv6(src, dst netip.Addr, proto uint8, msg []byte) []byte {
	pkt := make([]byte, 40+len(msg))
	pkt[0] = 0x60
	binary.BigEndian.PutUint16(pkt[4:], uint16(len(msg)))
	pkt[6] = proto
	pkt[7] = 64
	s, d := src.As16(), dst.As16()
	copy(pkt[8:], s[:])
	copy(pkt[24:], d[:])
	copy(pkt[40:], msg)
	return pkt
}

// UDP returns an IPv6 UDP packet with a correct checksum.
func UDP(src, dst netip.AddrPort, payload []byte) []byte {
	m := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(m[0:], src.Port())
	binary.BigEndian.PutUint16(m[2:], dst.Port())
	binary.BigEndian.PutUint16(m[4:], uint16(len(m)))
	copy(m[8:], payload)
	c := overlay.Checksum(src.Addr(), dst.Addr(), overlay.ProtoUDP, m)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(m[6:], c)
	return ipv6(src.Addr(), dst.Addr(), overlay.ProtoUDP, m)
}

// TCP returns an IPv6 TCP segment (20-byte header, no options) with the
// given flags (overlay.TCPSyn, ...) and a correct checksum.
func TCP(src, dst netip.AddrPort, flags uint8, seq uint32, payload []byte) []byte {
	m := make([]byte, 20+len(payload))
	binary.BigEndian.PutUint16(m[0:], src.Port())
	binary.BigEndian.PutUint16(m[2:], dst.Port())
	binary.BigEndian.PutUint32(m[4:], seq)
	m[12] = 5 << 4
	m[13] = flags
	binary.BigEndian.PutUint16(m[14:], 65535)
	copy(m[20:], payload)
	binary.BigEndian.PutUint16(m[16:], overlay.Checksum(src.Addr(), dst.Addr(), overlay.ProtoTCP, m))
	return ipv6(src.Addr(), dst.Addr(), overlay.ProtoTCP, m)
}

// Echo returns an ICMPv6 echo request.
func Echo(src, dst netip.Addr, id, seq uint16, payload []byte) []byte {
	body := make([]byte, 4+len(payload))
	binary.BigEndian.PutUint16(body[0:], id)
	binary.BigEndian.PutUint16(body[2:], seq)
	copy(body[4:], payload)
	return overlay.BuildICMPv6(src, dst, overlay.ICMPv6EchoRequest, 0, body)
}

// Sized returns a UDP packet of exactly size bytes (at least 48).
func Sized(src, dst netip.AddrPort, size int) []byte {
	return UDP(src, dst, make([]byte, max(size-48, 0)))
}
