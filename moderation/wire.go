package moderation

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"math"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// Encoding helpers shared by votes, tallies and annotations. Every record
// is a fixed sequence of fields: integers big endian, keys and signatures
// at their fixed sizes, variable fields behind a 2-byte length.

const (
	recordVersion = 1
	keySize       = ed25519.PublicKeySize // 32
	sigSize       = ed25519.SignatureSize // 64
	cidSize       = 36                    // CIDv1 dag-cbor sha2-256, binary
)

func appendBytes(dst, b []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(b)))
	return append(dst, b...)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// reader consumes an encoding field by field. The first short read sets
// err; later reads return zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrDecode}, args...)...)
	}
}

func (r *reader) fixed(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.fail("%s: truncated", what)
		return nil
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}

func (r *reader) u8(what string) byte {
	b := r.fixed(1, what)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) u16(what string) uint16 {
	b := r.fixed(2, what)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

func (r *reader) u32(what string) uint32 {
	b := r.fixed(4, what)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (r *reader) u64(what string) uint64 {
	b := r.fixed(8, what)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// varBytes reads a 2-byte length and that many bytes, at most max.
func (r *reader) varBytes(max int, what string) []byte {
	n := int(r.u16(what))
	if r.err != nil {
		return nil
	}
	if n > max {
		r.fail("%s: %d bytes (max %d)", what, n, max)
		return nil
	}
	return r.fixed(n, what)
}

// version reads and checks the leading version byte.
func (r *reader) version() {
	if v := r.u8("version"); r.err == nil && v != recordVersion {
		r.fail("unsupported version %d", v)
	}
}

// done checks that every byte was consumed.
func (r *reader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	return r.err
}

// decodeTarget parses a binary package CID and checks it is canonical.
func decodeTarget(b []byte) (cid.Cid, error) {
	c, err := cid.Cast(b)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: target: %v", ErrDecode, err)
	}
	if !bytes.Equal(c.Bytes(), b) {
		return cid.Undef, fmt.Errorf("%w: target: non-canonical CID", ErrDecode)
	}
	return c, checkTarget(c)
}

// checkTarget requires a package CID: CIDv1, dag-cbor, sha2-256.
func checkTarget(c cid.Cid) error {
	if !c.Defined() {
		return fmt.Errorf("%w: target: undefined CID", ErrInvalid)
	}
	p := c.Prefix()
	if p.Version != 1 || p.Codec != cid.DagCBOR || p.MhType != mh.SHA2_256 || p.MhLength != 32 {
		return fmt.Errorf("%w: target: %s is not a package CID (CIDv1 dag-cbor sha2-256)", ErrInvalid, c)
	}
	return nil
}

// checkKey requires a raw Ed25519 public key.
func checkKey(field string, k ed25519.PublicKey) error {
	if len(k) != keySize {
		return fmt.Errorf("%w: %s: public key of %d bytes (want %d)", ErrInvalid, field, len(k), keySize)
	}
	return nil
}

// checkTime requires a time after 1970 that fits int64 Unix nanoseconds.
func checkTime(field string, t time.Time) (int64, error) {
	if t.Before(time.Unix(0, 1)) || t.After(time.Unix(0, math.MaxInt64)) {
		return 0, fmt.Errorf("%w: %s: %s is outside 1970..2262", ErrInvalid, field, t)
	}
	return t.UnixNano(), nil
}

// decodeTime turns encoded Unix nanoseconds into a time, refusing 0 and
// negative values.
func decodeTime(field string, ns uint64) (time.Time, error) {
	if ns == 0 || ns > math.MaxInt64 {
		return time.Time{}, fmt.Errorf("%w: %s: %d is not a time after 1970", ErrInvalid, field, ns)
	}
	return time.Unix(0, int64(ns)).UTC(), nil
}

// checkText requires at most max bytes of valid UTF-8 without control
// characters (multiline allows tab and line feed). Too long is ErrTooLarge.
func checkText(field, s string, max int, multiline bool) error {
	if len(s) > max {
		return fmt.Errorf("%w: %s: %d bytes (max %d)", ErrTooLarge, field, len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s: not valid UTF-8", ErrInvalid, field)
	}
	for _, c := range s {
		if multiline && (c == '\t' || c == '\n') {
			continue
		}
		if unicode.IsControl(c) {
			return fmt.Errorf("%w: %s: control character %U", ErrInvalid, field, c)
		}
	}
	return nil
}

// timeCheck applies a verifier's clock window to a record time: not more
// than maxSkew ahead of now, and (when maxAge > 0) not older than maxAge.
func timeCheck(t, now time.Time, maxAge, maxSkew time.Duration) error {
	if t.After(now.Add(maxSkew)) {
		return fmt.Errorf("%w: %s is %s ahead of %s (skew allowed %s)", ErrFuture,
			t.Format(time.RFC3339), t.Sub(now).Round(time.Second), now.UTC().Format(time.RFC3339), maxSkew)
	}
	if maxAge > 0 && t.Before(now.Add(-maxAge)) {
		return fmt.Errorf("%w: %s is %s old (max %s)", ErrExpired,
			t.Format(time.RFC3339), now.Sub(t).Round(time.Second), maxAge)
	}
	return nil
}
