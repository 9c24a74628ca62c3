// Address derivation, which is pure and used everywhere a node shows its
// identity.

package overlay

import (
	"crypto/sha256"
	"net/netip"
)

// Prefix is the overlay's address range, fd6d:7963::/32 ("my" "co" in ASCII).
var Prefix = netip.MustParsePrefix("fd6d:7963::/32")

// AddressFromKey derives the overlay address of a public key: the /32 prefix
// followed by the first 96 bits of SHA-256 over the key bytes as libp2p marshals
// them (crypto.MarshalPublicKey). Anyone holding the key can check an address.
func AddressFromKey(marshalledPubKey []byte) netip.Addr {
	sum := sha256.Sum256(marshalledPubKey)
	var a [16]byte
	p := Prefix.Addr().As16()
	copy(a[:4], p[:4])
	copy(a[4:], sum[:12])
	return netip.AddrFrom16(a)
}

// KeyMatches reports whether addr is the address of marshalledPubKey.
func KeyMatches(addr netip.Addr, marshalledPubKey []byte) bool {
	return addr == AddressFromKey(marshalledPubKey)
}
