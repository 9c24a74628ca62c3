package overlay

import (
	"encoding/binary"
	"net/netip"
)

// Checksum returns the Internet checksum (RFC 1071) of an upper-layer message
// over the IPv6 pseudo-header (RFC 8200 section 8.1): src, dst, the message
// length and the protocol. It is the value to store in a TCP, UDP or ICMPv6
// checksum field whose bytes in msg are zero; over a message whose checksum
// field is already filled in, it returns 0 when the checksum is right.
func Checksum(src, dst netip.Addr, proto uint8, msg []byte) uint16 {
	s, d := src.As16(), dst.As16()
	var sum uint64
	sum += sum16(s[:])
	sum += sum16(d[:])
	sum += uint64(len(msg)) + uint64(proto)
	sum += sum16(msg)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

func sum16(b []byte) uint64 {
	var s uint64
	for len(b) >= 8 {
		s += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

// putIPv6Header writes a 40-byte IPv6 header into b.
func putIPv6Header(b []byte, src, dst netip.Addr, proto uint8, payloadLen int, hopLimit uint8) {
	b[0], b[1], b[2], b[3] = 0x60, 0, 0, 0
	binary.BigEndian.PutUint16(b[4:], uint16(payloadLen))
	b[6] = proto
	b[7] = hopLimit
	s, d := src.As16(), dst.As16()
	copy(b[8:24], s[:])
	copy(b[24:40], d[:])
}

// BuildICMPv6 returns an IPv6 packet from src to dst carrying an ICMPv6
// message of the given type and code whose bytes after the checksum field are
// body, with the checksum filled in.
func BuildICMPv6(src, dst netip.Addr, typ, code uint8, body []byte) []byte {
	pkt := make([]byte, ipv6HeaderLen+icmpHeaderLen+len(body))
	putIPv6Header(pkt, src, dst, ProtoICMPv6, icmpHeaderLen+len(body), 64)
	m := pkt[ipv6HeaderLen:]
	m[0], m[1] = typ, code
	copy(m[icmpHeaderLen:], body)
	binary.BigEndian.PutUint16(m[2:], Checksum(src, dst, ProtoICMPv6, m))
	return pkt
}

// icmpError builds an ICMPv6 error message from src back to the source of
// offending, quoting as much of offending as keeps the message within the
// IPv6 minimum MTU (RFC 4443 section 2.4 (c)).
func icmpError(src netip.Addr, typ, code uint8, param uint32, offending []byte) ([]byte, error) {
	if len(offending) < ipv6HeaderLen {
		return nil, ErrShort
	}
	if offending[0]>>4 != 6 {
		return nil, ErrVersion
	}
	dst := netip.AddrFrom16([16]byte(offending[8:24]))
	quote := offending
	if max := MinMTU - ipv6HeaderLen - icmpHeaderLen - 4; len(quote) > max {
		quote = quote[:max]
	}
	body := make([]byte, 4+len(quote))
	binary.BigEndian.PutUint32(body, param)
	copy(body[4:], quote)
	return BuildICMPv6(src, dst, typ, code, body), nil
}

// PacketTooBig builds an ICMPv6 Packet Too Big message (RFC 4443 section 3.2)
// from src to the source of offending, announcing mtu and quoting as much of
// offending as fits in 1280 bytes. The caller decides whether an error may be
// sent at all (never in answer to an ICMPv6 error, see ShouldSendError).
func PacketTooBig(src netip.Addr, mtu uint32, offending []byte) ([]byte, error) {
	return icmpError(src, icmpTypePTB, 0, mtu, offending)
}

// Destination Unreachable codes (RFC 4443 section 3.1).
const (
	UnreachNoRoute    = 0
	UnreachProhibited = 1
	UnreachAddress    = 3
	UnreachPort       = 4
)

// DestinationUnreachable builds an ICMPv6 Destination Unreachable message
// (RFC 4443 section 3.1) with the given code from src to the source of offending.
func DestinationUnreachable(src netip.Addr, code uint8, offending []byte) ([]byte, error) {
	return icmpError(src, icmpTypeUnr, code, 0, offending)
}

// ShouldSendError reports whether RFC 4443 section 2.4 (e) allows answering
// the parsed packet p with an ICMPv6 error: not for an ICMPv6 error message,
// not for a packet from or to a multicast or unspecified address, and not
// for a non-first fragment.
func ShouldSendError(p *Packet) bool {
	if p.IsICMPv6Error() || p.NonFirst {
		return false
	}
	if p.Src.IsMulticast() || p.Src.IsUnspecified() || p.Dst.IsMulticast() {
		return false
	}
	return true
}

// EchoReply builds the ICMPv6 echo reply (RFC 4443 section 4.2) to an echo
// request: addresses swapped, identifier, sequence number and data copied,
// extension headers left out.
func EchoReply(req []byte) ([]byte, error) {
	p, err := ParsePacket(req)
	if err != nil {
		return nil, err
	}
	if p.Proto != ProtoICMPv6 || p.NonFirst || p.ICMPType != icmpTypeEcho || p.ICMPCode != 0 {
		return nil, ErrNotEcho
	}
	return BuildICMPv6(p.Dst, p.Src, icmpTypeReply, 0, req[p.Offset+icmpHeaderLen:]), nil
}
