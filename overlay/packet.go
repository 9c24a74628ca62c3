package overlay

import (
	"encoding/binary"
	"net/netip"
)

// IPv6 and upper-layer protocol numbers used by the overlay.
const (
	ProtoHopByHop  = 0
	ProtoTCP       = 6
	ProtoUDP       = 17
	ProtoRouting   = 43
	ProtoFragment  = 44
	ProtoESP       = 50
	ProtoAH        = 51
	ProtoICMPv6    = 58
	ProtoNoNext    = 59
	ProtoDestOpts  = 60
	ProtoMobility  = 135
	ProtoHIP       = 139
	ProtoShim6     = 140
	ipv6HeaderLen  = 40
	maxExtHeaders  = 8
	tcpMinLen      = 20
	udpLen         = 8
	icmpHeaderLen  = 4
	icmpEchoLen    = 8
	MinMTU         = 1280 // the IPv6 minimum link MTU (RFC 8200)
	MaxPacketSize  = 65535
	icmpTypeEcho   = 128
	icmpTypeReply  = 129
	icmpTypeUnr    = 1
	icmpTypePTB    = 2
	icmpTypeTimeEx = 3
	icmpTypeParam  = 4
)

// ICMPv6 message types the overlay builds or filters on (RFC 4443).
const (
	ICMPv6DestUnreachable = icmpTypeUnr
	ICMPv6PacketTooBig    = icmpTypePTB
	ICMPv6TimeExceeded    = icmpTypeTimeEx
	ICMPv6ParamProblem    = icmpTypeParam
	ICMPv6EchoRequest     = icmpTypeEcho
	ICMPv6EchoReply       = icmpTypeReply
)

// TCP flag bits as found in Packet.TCPFlags.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPAck = 0x10
)

// Packet is what the overlay needs to know about an IPv6 packet. It holds no
// reference to the bytes it was parsed from.
type Packet struct {
	Src, Dst netip.Addr
	HopLimit uint8
	// Proto is the upper-layer protocol after walking the extension headers
	// (ProtoTCP, ProtoUDP, ProtoICMPv6, ...), or ProtoNoNext, ProtoESP, or the
	// protocol of a non-first fragment.
	Proto uint8
	// Offset is where the upper-layer header starts (or, for a non-first
	// fragment, where the fragment's data starts).
	Offset int
	// Fragment is set when the packet carries a Fragment header; NonFirst when
	// it is a fragment other than the first, which has no upper-layer header,
	// so ports and ICMP fields are zero.
	Fragment, NonFirst bool

	// SrcPort and DstPort are set for TCP and UDP.
	SrcPort, DstPort uint16
	// TCPFlags is the TCP flags byte (TCPSyn, TCPAck, ...).
	TCPFlags uint8
	// ICMPType and ICMPCode are set for ICMPv6; EchoID and EchoSeq for echo
	// requests and replies.
	ICMPType, ICMPCode uint8
	EchoID, EchoSeq    uint16
}

// ParsePacket parses an IPv6 packet: the fixed header, the chain of extension
// headers (at most 8, hop-by-hop options only first), and the first bytes of a
// TCP, UDP or ICMPv6 header. The payload length must match len(b) exactly.
// It never panics and does not allocate.
func ParsePacket(b []byte) (Packet, error) {
	return parse(b, false)
}

// ParseEmbedded parses the leading part of a packet as quoted in the body of
// an ICMPv6 error message: the payload length may claim more bytes than are
// present, and a transport header only needs its first 8 bytes (the ports).
func ParseEmbedded(b []byte) (Packet, error) {
	return parse(b, true)
}

func parse(b []byte, truncated bool) (Packet, error) {
	var p Packet
	if len(b) < ipv6HeaderLen {
		return p, ErrShort
	}
	if b[0]>>4 != 6 {
		return p, ErrVersion
	}
	pl := int(binary.BigEndian.Uint16(b[4:6]))
	if truncated {
		if ipv6HeaderLen+pl < len(b) {
			b = b[:ipv6HeaderLen+pl]
		}
	} else if pl == 0 && len(b) > ipv6HeaderLen || ipv6HeaderLen+pl != len(b) {
		return p, ErrLength
	}
	p.HopLimit = b[7]
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))

	next := b[6]
	off := ipv6HeaderLen
	for i := 0; ; i++ {
		switch next {
		case ProtoHopByHop, ProtoRouting, ProtoDestOpts, ProtoMobility, ProtoHIP, ProtoShim6, ProtoAH, ProtoFragment:
		default:
			p.Proto, p.Offset = next, off
			return p, parseUpper(&p, b[off:], truncated)
		}
		if i >= maxExtHeaders || next == ProtoHopByHop && i != 0 {
			return p, ErrExtHeader
		}
		if len(b)-off < 8 {
			return p, ErrShort
		}
		var n int
		switch next {
		case ProtoFragment:
			n = 8
			p.Fragment = true
			if binary.BigEndian.Uint16(b[off+2:])&^7 != 0 {
				p.NonFirst = true
			}
		case ProtoAH:
			n = (int(b[off+1]) + 2) * 4
		default:
			n = (int(b[off+1]) + 1) * 8
		}
		if len(b)-off < n {
			return p, ErrShort
		}
		next = b[off]
		off += n
		if p.NonFirst {
			p.Proto, p.Offset = next, off
			return p, nil
		}
	}
}

func parseUpper(p *Packet, u []byte, truncated bool) error {
	switch p.Proto {
	case ProtoTCP:
		min := tcpMinLen
		if truncated {
			min = 8
		}
		if len(u) < min {
			return ErrShort
		}
		p.SrcPort = binary.BigEndian.Uint16(u[0:])
		p.DstPort = binary.BigEndian.Uint16(u[2:])
		if len(u) >= 14 {
			p.TCPFlags = u[13]
		}
	case ProtoUDP:
		if len(u) < udpLen {
			return ErrShort
		}
		p.SrcPort = binary.BigEndian.Uint16(u[0:])
		p.DstPort = binary.BigEndian.Uint16(u[2:])
	case ProtoICMPv6:
		if len(u) < icmpHeaderLen {
			return ErrShort
		}
		p.ICMPType, p.ICMPCode = u[0], u[1]
		if p.ICMPType == icmpTypeEcho || p.ICMPType == icmpTypeReply {
			if len(u) < icmpEchoLen {
				return ErrShort
			}
			p.EchoID = binary.BigEndian.Uint16(u[4:])
			p.EchoSeq = binary.BigEndian.Uint16(u[6:])
		}
	}
	return nil
}

// IsICMPv6Error reports whether p is an ICMPv6 error message (types 0–127).
func (p *Packet) IsICMPv6Error() bool {
	return p.Proto == ProtoICMPv6 && !p.NonFirst && p.ICMPType < 128
}
