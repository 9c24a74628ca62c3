package overlay

import "errors"

// Packet parsing (ParsePacket, ParseEmbedded).
var (
	// ErrShort means the bytes are too few for an IPv6 header or for the
	// upper-layer header that the next-header chain names.
	ErrShort = errors.New("overlay: packet truncated")
	// ErrVersion means the IP version field is not 6.
	ErrVersion = errors.New("overlay: not an IPv6 packet")
	// ErrLength means the IPv6 payload length disagrees with the packet size
	// (jumbograms, whose payload length is 0, are refused too).
	ErrLength = errors.New("overlay: payload length does not match packet size")
	// ErrExtHeader means an extension header is malformed, misplaced, or there
	// are more of them than ParsePacket walks.
	ErrExtHeader = errors.New("overlay: malformed extension headers")
)

// Building ICMPv6 messages.
var (
	// ErrNotEcho means EchoReply was given something other than an ICMPv6 echo request.
	ErrNotEcho = errors.New("overlay: not an ICMPv6 echo request")
)

// Framing (FrameReader, FrameWriter, Sender).
var (
	// ErrFrameTooLarge means a frame or a packet in it exceeds the configured limit.
	ErrFrameTooLarge = errors.New("overlay: frame too large")
	// ErrBadFrame means a frame's packets do not exactly fill its declared length,
	// or it holds an empty packet.
	ErrBadFrame = errors.New("overlay: malformed frame")
)

// Firewall rules.
var (
	// ErrBadRule means a firewall rule's text could not be parsed; the wrapping
	// error says which part is wrong.
	ErrBadRule = errors.New("overlay: bad firewall rule")
)

// Router.
var (
	// ErrClosed is returned by Router methods after Close.
	ErrClosed = errors.New("overlay: router closed")
	// ErrKeyMismatch means a Resolver returned a public key whose address is not
	// the one asked for.
	ErrKeyMismatch = errors.New("overlay: resolved key does not match the address")
)
