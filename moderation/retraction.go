package moderation

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
)

// Retractions.
//
// A retraction is a publisher's signed statement that it takes a package
// back. Only the package's publisher key can make one that verifies: the
// node checks the key against the package root (whose CID binds it), and
// the signature against the key. Retractions carry no proof of work (one
// key signs for its own packages only) and do not expire: a package once
// retracted stays retracted.
//
// Encoding (at most MaxRetractionSize bytes):
//
//	version   1 byte = 1
//	target    u16 length + binary package CID
//	publisher 32 bytes
//	time      8 bytes
//	reason    u16 length + UTF-8, at most MaxReason bytes, no control characters
//	sig       64 bytes: Ed25519 by publisher over "myconet-retraction/v1\n" + everything before it
const (
	// MaxRetractionSize bounds an encoded retraction.
	MaxRetractionSize = 1 + 2 + cidSize + keySize + 8 + 2 + MaxReason + sigSize

	retractionSigDomain = "myconet-retraction/v1\n"
)

// Retraction is a publisher's signed withdrawal of a package.
type Retraction struct {
	Target    cid.Cid           // the package: CIDv1 dag-cbor sha2-256
	Publisher ed25519.PublicKey // raw 32-byte key; must be the package's publisher
	Time      time.Time         // when it was signed; UTC, nanoseconds
	Reason    string            // optional, <= MaxReason bytes
	Sig       []byte
}

// NewRetraction signs a retraction of target with the publisher's key.
func NewRetraction(priv ed25519.PrivateKey, target cid.Cid, reason string, now time.Time) (Retraction, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return Retraction{}, fmt.Errorf("moderation: new retraction: %w: private key of %d bytes", ErrInvalid, len(priv))
	}
	r := Retraction{Target: target, Publisher: priv.Public().(ed25519.PublicKey),
		Time: time.Unix(0, now.UnixNano()).UTC(), Reason: reason}
	msg, err := r.appendUnsigned([]byte(retractionSigDomain))
	if err != nil {
		return Retraction{}, fmt.Errorf("moderation: new retraction: %w", err)
	}
	r.Sig = ed25519.Sign(priv, msg)
	return r, nil
}

func (r *Retraction) appendUnsigned(dst []byte) ([]byte, error) {
	if err := checkTarget(r.Target); err != nil {
		return nil, err
	}
	if err := checkKey("publisher", r.Publisher); err != nil {
		return nil, err
	}
	ts, err := checkTime("time", r.Time)
	if err != nil {
		return nil, err
	}
	if err := checkText("reason", r.Reason, MaxReason, false); err != nil {
		return nil, err
	}
	dst = append(dst, recordVersion)
	dst = appendBytes(dst, r.Target.Bytes())
	dst = append(dst, r.Publisher...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(ts))
	dst = appendString(dst, r.Reason)
	return dst, nil
}

// Encode returns the canonical encoding of r. It checks every field but
// does not verify the signature.
func (r Retraction) Encode() ([]byte, error) {
	b, err := r.appendUnsigned(make([]byte, 0, MaxRetractionSize))
	if err != nil {
		return nil, fmt.Errorf("moderation: encode retraction: %w", err)
	}
	if len(r.Sig) != sigSize {
		return nil, fmt.Errorf("moderation: encode retraction: %w: signature of %d bytes", ErrInvalid, len(r.Sig))
	}
	return append(b, r.Sig...), nil
}

// DecodeRetraction parses the canonical encoding of a retraction; Encode
// of the result gives back b. It does not verify; call VerifyRetraction.
func DecodeRetraction(b []byte) (Retraction, error) {
	r, err := decodeRetraction(b)
	if err != nil {
		return Retraction{}, fmt.Errorf("moderation: decode retraction: %w", err)
	}
	return r, nil
}

func decodeRetraction(b []byte) (Retraction, error) {
	if len(b) > MaxRetractionSize {
		return Retraction{}, fmt.Errorf("%w: %d bytes (max %d)", ErrTooLarge, len(b), MaxRetractionSize)
	}
	rd := reader{b: b}
	rd.version()
	target := rd.varBytes(cidSize, "target")
	pub := rd.fixed(keySize, "publisher")
	ts := rd.u64("time")
	reason := rd.varBytes(MaxReason, "reason")
	sig := rd.fixed(sigSize, "signature")
	if err := rd.done(); err != nil {
		return Retraction{}, err
	}
	r := Retraction{Publisher: ed25519.PublicKey(pub), Reason: string(reason), Sig: sig}
	var err error
	if r.Target, err = decodeTarget(target); err != nil {
		return Retraction{}, err
	}
	if r.Time, err = decodeTime("time", ts); err != nil {
		return Retraction{}, err
	}
	if err := checkText("reason", r.Reason, MaxReason, false); err != nil {
		return Retraction{}, err
	}
	return r, nil
}

// VerifyRetraction checks that r withdraws target, that publisher (the
// key in the package root, which the caller read from the block that
// target names) made it, that its time is at most maxSkew ahead of now,
// and that its signature verifies. Age does not matter.
func VerifyRetraction(r Retraction, target cid.Cid, publisher ed25519.PublicKey, now time.Time, maxSkew time.Duration) error {
	if !r.Target.Equals(target) {
		return fmt.Errorf("moderation: verify retraction: %w: retraction of %s", ErrWrongTarget, r.Target)
	}
	if !bytes.Equal(r.Publisher, publisher) {
		return fmt.Errorf("moderation: verify retraction: %w: not signed by the package's publisher", ErrBadSignature)
	}
	if err := timeCheck(r.Time, now, 0, maxSkew); err != nil {
		return fmt.Errorf("moderation: verify retraction: %w", err)
	}
	msg, err := r.appendUnsigned([]byte(retractionSigDomain))
	if err != nil {
		return fmt.Errorf("moderation: verify retraction: %w", err)
	}
	if len(r.Sig) != sigSize || !ed25519.Verify(r.Publisher, msg, r.Sig) {
		return fmt.Errorf("moderation: verify retraction: %w", ErrBadSignature)
	}
	return nil
}
