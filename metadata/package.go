// Package metadata defines the package root block of Myconet (schema v1):
// the metadata of a package, its validation, its canonical dag-cbor
// encoding, and its Ed25519 signature.
//
// A package root block is the dag-cbor map
//
//	{v: 1, content: <link>, meta: {...}, publisher: <32 bytes>, sig: <64 bytes>}
//
// where sig is the Ed25519 signature by publisher over SigningBytes: the
// domain string "myconet-package/v1\n" followed by the canonical encoding
// of the same map without sig. Empty and zero metadata fields are absent.
//
// Encoding is canonical (dag-cbor's strict map key order, minimal
// integers), and Decode refuses any block that is not the canonical
// encoding of the package it describes, so a package has exactly one CID.
//
// The package is pure: no I/O, no goroutines, no logging.
package metadata

import (
	"crypto/ed25519"
	"fmt"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// SchemaVersion is the value of "v" in package root blocks this package
// writes and reads.
const SchemaVersion = 1

// MaxPackageSize is the maximum size in bytes of an encoded package root block.
const MaxPackageSize = 64 << 10

// signingDomain prefixes the bytes that a package signature covers.
const signingDomain = "myconet-package/v1\n"

// Package is a package root block.
type Package struct {
	V         int               // SchemaVersion
	Content   cid.Cid           // root of the UnixFS file or directory
	Meta      Meta              // metadata
	Publisher ed25519.PublicKey // raw 32 bytes
	Sig       []byte            // 64 bytes, Ed25519 over SigningBytes
}

// New validates meta and returns a package of content signed with priv.
// The metadata is copied and normalized as it will be encoded (Created in
// UTC at second precision, empty lists as nil), so that decoding the
// encoded package gives back an equal Package.
func New(content cid.Cid, meta Meta, priv ed25519.PrivateKey) (*Package, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fieldErr("publisher", fmt.Sprintf("private key has %d bytes, want %d", len(priv), ed25519.PrivateKeySize))
	}
	p := &Package{
		V:         SchemaVersion,
		Content:   content,
		Meta:      meta.normalized(),
		Publisher: priv.Public().(ed25519.PublicKey),
	}
	msg, err := SigningBytes(p)
	if err != nil {
		return nil, err
	}
	p.Sig = ed25519.Sign(priv, msg)
	if _, err := p.Encode(); err != nil {
		return nil, err
	}
	return p, nil
}

// SigningBytes returns the bytes a package signature covers:
// "myconet-package/v1\n" followed by the canonical dag-cbor encoding of
// the map {v, content, meta, publisher}. p.Sig is ignored.
func SigningBytes(p *Package) ([]byte, error) {
	if err := p.validateUnsigned(); err != nil {
		return nil, err
	}
	return encode(p, false, []byte(signingDomain))
}

// Encode returns the canonical dag-cbor encoding of the package root
// block. It fails if the package is invalid or the encoding exceeds
// MaxPackageSize.
func (p *Package) Encode() ([]byte, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	b, err := encode(p, true, nil)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxPackageSize {
		return nil, fmt.Errorf("%w: %d bytes (max %d)", ErrTooLarge, len(b), MaxPackageSize)
	}
	return b, nil
}

// CID returns the package CID: CIDv1, codec dag-cbor, SHA2-256 of Encode().
func (p *Package) CID() (cid.Cid, error) {
	b, err := p.Encode()
	if err != nil {
		return cid.Undef, err
	}
	return blockCID(b)
}

func blockCID(b []byte) (cid.Cid, error) {
	h, err := mh.Sum(b, mh.SHA2_256, -1)
	if err != nil {
		return cid.Undef, err
	}
	return cid.NewCidV1(cid.DagCBOR, h), nil
}

// Verify checks the signature of p. It returns ErrBadSignature if the
// signature does not verify, or a *FieldError if p is invalid.
func (p *Package) Verify() error {
	msg, err := SigningBytes(p)
	if err != nil {
		return err
	}
	if len(p.Sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature has %d bytes, want %d", ErrBadSignature, len(p.Sig), ed25519.SignatureSize)
	}
	if !ed25519.Verify(p.Publisher, msg, p.Sig) {
		return ErrBadSignature
	}
	return nil
}

// validateUnsigned checks everything but the signature.
func (p *Package) validateUnsigned() error {
	if p.V != SchemaVersion {
		return fieldErr("v", fmt.Sprintf("unsupported schema version %d (want %d)", p.V, SchemaVersion))
	}
	if !p.Content.Defined() {
		return fieldErr("content", "required")
	}
	if len(p.Publisher) != ed25519.PublicKeySize {
		return fieldErr("publisher", fmt.Sprintf("public key has %d bytes, want %d", len(p.Publisher), ed25519.PublicKeySize))
	}
	return p.Meta.Validate()
}

// validate checks the whole package except whether the signature verifies.
func (p *Package) validate() error {
	if err := p.validateUnsigned(); err != nil {
		return err
	}
	if len(p.Sig) != ed25519.SignatureSize {
		return fieldErr("sig", fmt.Sprintf("signature has %d bytes, want %d", len(p.Sig), ed25519.SignatureSize))
	}
	return nil
}
