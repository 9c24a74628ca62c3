package names

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	pb "github.com/libp2p/go-libp2p/core/crypto/pb"
)

// reader is a strict cursor over an encoded record. Once a read fails, every
// later read fails too and err keeps the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (r *reader) byte1(field string) byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.fail("truncated at %s", field)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) uint64(field string) uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.fail("truncated at %s", field)
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// bytes reads a u16 length prefix and that many bytes, which must be between
// minLen and maxLen. The result aliases the input.
func (r *reader) bytes(field string, minLen, maxLen int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < 2 {
		r.fail("truncated at %s length", field)
		return nil
	}
	n := int(binary.BigEndian.Uint16(r.b))
	if n < minLen || n > maxLen {
		r.fail("%s length %d not in %d..%d", field, n, minLen, maxLen)
		return nil
	}
	if len(r.b)-2 < n {
		r.fail("truncated in %s", field)
		return nil
	}
	v := r.b[2 : 2+n]
	r.b = r.b[2+n:]
	return v
}

// end fails unless the whole input was consumed.
func (r *reader) end() {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
}

// appendSeqTimes appends the sequence number, created and expiry fields
// that channel and host records share.
func appendSeqTimes(dst []byte, seq uint64, created, expires int64) []byte {
	dst = binary.BigEndian.AppendUint64(dst, seq)
	dst = binary.BigEndian.AppendUint64(dst, uint64(created))
	return binary.BigEndian.AppendUint64(dst, uint64(expires))
}

func appendBytes(dst, v []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(v)))
	return append(dst, v...)
}

// Sizes of the Ed25519 encodings, the only key type records accept.
const (
	ed25519KeyLen = 36 // libp2p protobuf: 2-byte type field, 2-byte length, 32-byte key
	ed25519SigLen = 64
)

// parsePublicKey unmarshals a libp2p public key and requires it to be
// Ed25519 and canonically encoded, so that the bytes are a function of the
// key (peer IDs and overlay addresses are derived from them).
func parsePublicKey(b []byte) (crypto.PubKey, error) {
	pub, err := crypto.UnmarshalPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	if pub.Type() != pb.KeyType_Ed25519 {
		return nil, fmt.Errorf("%w: key type %s, want Ed25519", ErrBadKey, pub.Type())
	}
	canon, err := crypto.MarshalPublicKey(pub)
	if err != nil || !bytes.Equal(canon, b) {
		return nil, fmt.Errorf("%w: not canonically encoded", ErrBadKey)
	}
	return pub, nil
}

// marshalPublicKey marshals an Ed25519 public key, refusing other types.
func marshalPublicKey(pub crypto.PubKey) ([]byte, error) {
	if pub == nil {
		return nil, fmt.Errorf("%w: missing", ErrBadKey)
	}
	if pub.Type() != pb.KeyType_Ed25519 {
		return nil, fmt.Errorf("%w: key type %s, want Ed25519", ErrBadKey, pub.Type())
	}
	b, err := crypto.MarshalPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return b, nil
}
