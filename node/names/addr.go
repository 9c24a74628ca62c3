package names

import (
	"fmt"
	"net/netip"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/myconet/myconet/overlay"
)

const (
	// AddrNamespace is the DHT namespace of overlay address records.
	AddrNamespace = "myco-addr"

	addrSigDomain = "myconet-addr/v1\n"
)

// AddrRecord proves that the holder of PublicKey owns the overlay address
// derived from it.
type AddrRecord struct {
	PublicKey crypto.PubKey // Ed25519
	Signature []byte        // Ed25519 over "myconet-addr/v1\n" + the 16 address bytes
}

// AddrKey returns the DHT key of an overlay address: "/myco-addr/" + its 16
// bytes. addr must be an IPv6 address inside overlay.Prefix.
func AddrKey(addr netip.Addr) (string, error) {
	if !addr.Is6() || addr.Is4In6() || addr.Zone() != "" || !overlay.Prefix.Contains(addr) {
		return "", fmt.Errorf("%w: %s", ErrBadAddress, addr)
	}
	a := addr.As16()
	return "/" + AddrNamespace + "/" + string(a[:]), nil
}

// addrFromKey parses an address record key.
func addrFromKey(key string) (netip.Addr, error) {
	const prefix = "/" + AddrNamespace + "/"
	if len(key) != len(prefix)+16 || key[:len(prefix)] != prefix {
		return netip.Addr{}, fmt.Errorf("%w: key is not %s followed by 16 bytes", ErrKeyMismatch, prefix)
	}
	addr := netip.AddrFrom16([16]byte([]byte(key[len(prefix):])))
	if !overlay.Prefix.Contains(addr) {
		return netip.Addr{}, fmt.Errorf("%w: %s", ErrBadAddress, addr)
	}
	return addr, nil
}

func addrMessage(addr netip.Addr) []byte {
	a := addr.As16()
	return append([]byte(addrSigDomain), a[:]...)
}

// NewAddrRecord signs the address record of priv's public key. priv must be
// an Ed25519 key.
func NewAddrRecord(priv crypto.PrivKey) (AddrRecord, error) {
	if priv == nil {
		return AddrRecord{}, fmt.Errorf("new address record: %w: missing private key", ErrBadKey)
	}
	pub := priv.GetPublic()
	pubBytes, err := marshalPublicKey(pub)
	if err != nil {
		return AddrRecord{}, fmt.Errorf("new address record: %w", err)
	}
	sig, err := priv.Sign(addrMessage(overlay.AddressFromKey(pubBytes)))
	if err != nil {
		return AddrRecord{}, fmt.Errorf("new address record: sign: %w", err)
	}
	return AddrRecord{PublicKey: pub, Signature: sig}, nil
}

// Address returns the overlay address of the record's key, or the zero Addr
// if the key cannot be marshalled.
func (a AddrRecord) Address() netip.Addr {
	b, err := marshalPublicKey(a.PublicKey)
	if err != nil {
		return netip.Addr{}
	}
	return overlay.AddressFromKey(b)
}

// Encode returns the canonical encoding of a. It does not verify the
// signature.
func (a AddrRecord) Encode() ([]byte, error) {
	pub, err := marshalPublicKey(a.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encode address record: %w", err)
	}
	if len(a.Signature) != ed25519SigLen {
		return nil, fmt.Errorf("encode address record: %w: signature length %d", ErrBadSignature, len(a.Signature))
	}
	b := make([]byte, 0, 1+2+len(pub)+2+len(a.Signature))
	b = append(b, recordVersion)
	b = appendBytes(b, pub)
	b = appendBytes(b, a.Signature)
	return b, nil
}

// DecodeAddr parses an encoded address record strictly and verifies its
// signature against the address of its own key. For every b it accepts,
// Encode returns b again.
func DecodeAddr(b []byte) (AddrRecord, error) {
	a, err := decodeAddr(b)
	if err != nil {
		return AddrRecord{}, fmt.Errorf("decode address record: %w", err)
	}
	return a, nil
}

func decodeAddr(b []byte) (AddrRecord, error) {
	if len(b) > MaxRecordSize {
		return AddrRecord{}, fmt.Errorf("%w: %d bytes, max %d", ErrTooLarge, len(b), MaxRecordSize)
	}
	rd := reader{b: b}
	version := rd.byte1("version")
	if rd.err == nil && version != recordVersion {
		return AddrRecord{}, fmt.Errorf("%w: %d", ErrVersion, version)
	}
	pubBytes := rd.bytes("public key", ed25519KeyLen, ed25519KeyLen)
	sig := rd.bytes("signature", ed25519SigLen, ed25519SigLen)
	rd.end()
	if rd.err != nil {
		return AddrRecord{}, rd.err
	}
	pub, err := parsePublicKey(pubBytes)
	if err != nil {
		return AddrRecord{}, err
	}
	ok, err := pub.Verify(addrMessage(overlay.AddressFromKey(pubBytes)), sig)
	if err != nil || !ok {
		return AddrRecord{}, ErrBadSignature
	}
	return AddrRecord{PublicKey: pub, Signature: append([]byte(nil), sig...)}, nil
}

// CheckAddr decodes value and accepts it as the record under key: key is
// "/myco-addr/" + 16 bytes of an overlay address, and that address is the
// address of the record's key.
func CheckAddr(key string, value []byte) (AddrRecord, error) {
	addr, err := addrFromKey(key)
	if err != nil {
		return AddrRecord{}, fmt.Errorf("check address record: %w", err)
	}
	a, err := decodeAddr(value)
	if err != nil {
		return AddrRecord{}, fmt.Errorf("check address record: %w", err)
	}
	if got := a.Address(); got != addr {
		return AddrRecord{}, fmt.Errorf("check address record: %w: key of %s stored under %s", ErrKeyMismatch, got, addr)
	}
	return a, nil
}
