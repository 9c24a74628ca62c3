package names

// Host names a node publishes for itself: a HostRecord says "the name N of
// the holder of key K is the overlay address A, version S, valid from T1 to
// T2", so that anyone resolves N.<K's peer ID>.myco to A. The record is the
// channel record's twin with a DNS label for a channel and an overlay
// address for a package:
//
//	version    1 byte  = 1
//	publisher  u16 len + libp2p-marshalled Ed25519 public key (36 bytes)
//	name       u16 len + a DNS label: 1..63 of [a-z0-9-], not starting or ending with '-'
//	address    u16 len + 16 bytes, an address in the overlay prefix
//	seq        8 bytes, created 8 bytes, expires 8 bytes (as channel records)
//	signature  u16 len + Ed25519 over "myconet-host/v1\n" + everything above
//
// under the DHT key "/myco-host/" + string(peer ID) + "/" + name. Decoding is
// strict and verifies the signature; CheckHost also binds the record to its
// key and refuses it once expired or when created too far in the future, so
// a forged, moved or stale record is never used. Select prefers the highest
// sequence number, then the latest created time.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	record "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/crypto"
	pb "github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/routing"

	"github.com/myconet/myconet/overlay"
)

const (
	// HostNamespace is the DHT namespace of host name records.
	HostNamespace = "myco-host"
	hostSigDomain = "myconet-host/v1\n"
)

// ErrBadLabel means a host name is not a DNS label of [a-z0-9-].
var ErrBadLabel = errors.New("invalid host name")

// HostRecord is a host name record.
type HostRecord struct {
	Publisher crypto.PubKey
	Name      string
	Addr      netip.Addr
	Seq       uint64
	Created   time.Time
	Expires   time.Time
	Signature []byte
}

// ValidateLabel checks a host name: 1..63 characters of [a-z0-9-], not
// starting or ending with '-'.
func ValidateLabel(s string) error {
	if len(s) < 1 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return fmt.Errorf("%w: %q: want 1..63 of a-z, 0-9 and '-', not at either end", ErrBadLabel, s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("%w: %q: want 1..63 of a-z, 0-9 and '-', not at either end", ErrBadLabel, s)
		}
	}
	return nil
}

// HostKey returns the DHT key of publisher's host name.
func HostKey(publisher peer.ID, name string) string {
	return "/" + HostNamespace + "/" + string(publisher) + "/" + name
}

// NewHostRecord signs a record naming addr name for priv's node.
func NewHostRecord(priv crypto.PrivKey, name string, addr netip.Addr, seq uint64, now time.Time, ttl time.Duration) (HostRecord, error) {
	if priv == nil || priv.Type() != pb.KeyType_Ed25519 {
		return HostRecord{}, fmt.Errorf("new host record: %w: want an Ed25519 private key", ErrBadKey)
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	r := HostRecord{Publisher: priv.GetPublic(), Name: name, Addr: addr, Seq: seq, Created: now.UTC(), Expires: now.Add(ttl).UTC()}
	unsigned, err := r.appendUnsigned(nil)
	if err != nil {
		return HostRecord{}, fmt.Errorf("new host record: %w", err)
	}
	r.Signature, err = priv.Sign(append([]byte(hostSigDomain), unsigned...))
	if err != nil {
		return HostRecord{}, fmt.Errorf("new host record: %w", err)
	}
	return r, nil
}

func (r HostRecord) appendUnsigned(dst []byte) ([]byte, error) {
	pub, err := marshalPublicKey(r.Publisher)
	if err != nil {
		return nil, err
	}
	if err := ValidateLabel(r.Name); err != nil {
		return nil, err
	}
	if !r.Addr.Is6() || r.Addr.Zone() != "" || !overlay.Prefix.Contains(r.Addr) {
		return nil, fmt.Errorf("%w: %s", ErrBadAddress, r.Addr)
	}
	created, expires := r.Created.UnixNano(), r.Expires.UnixNano()
	if err := validateTimes(created, expires); err != nil {
		return nil, err
	}
	a := r.Addr.As16()
	dst = append(dst, recordVersion)
	dst = appendBytes(dst, pub)
	dst = appendBytes(dst, []byte(r.Name))
	dst = appendBytes(dst, a[:])
	return appendSeqTimes(dst, r.Seq, created, expires), nil
}

// Encode returns the canonical encoding of r.
func (r HostRecord) Encode() ([]byte, error) {
	b, err := r.appendUnsigned(make([]byte, 0, 200))
	if err != nil {
		return nil, fmt.Errorf("encode host record: %w", err)
	}
	if len(r.Signature) != ed25519SigLen {
		return nil, fmt.Errorf("encode host record: %w", ErrBadSignature)
	}
	return appendBytes(b, r.Signature), nil
}

// DecodeHost parses an encoded host record strictly and verifies its
// signature. It never panics (fuzzed).
func DecodeHost(b []byte) (HostRecord, error) {
	if len(b) > MaxRecordSize {
		return HostRecord{}, fmt.Errorf("decode host record: %w", ErrTooLarge)
	}
	rd := reader{b: b}
	version := rd.byte1("version")
	if rd.err == nil && version != recordVersion {
		return HostRecord{}, fmt.Errorf("decode host record: %w: %d", ErrVersion, version)
	}
	pubBytes := rd.bytes("publisher", ed25519KeyLen, ed25519KeyLen)
	name := rd.bytes("name", 1, 63)
	addr := rd.bytes("address", 16, 16)
	seq := rd.uint64("seq")
	created := int64(rd.uint64("created"))
	expires := int64(rd.uint64("expires"))
	signedLen := len(b) - len(rd.b)
	sig := rd.bytes("signature", ed25519SigLen, ed25519SigLen)
	rd.end()
	if rd.err != nil {
		return HostRecord{}, fmt.Errorf("decode host record: %w", rd.err)
	}
	pub, err := parsePublicKey(pubBytes)
	if err != nil {
		return HostRecord{}, fmt.Errorf("decode host record: %w", err)
	}
	if err := ValidateLabel(string(name)); err != nil {
		return HostRecord{}, fmt.Errorf("decode host record: %w", err)
	}
	a := netip.AddrFrom16([16]byte(addr))
	if !overlay.Prefix.Contains(a) {
		return HostRecord{}, fmt.Errorf("decode host record: %w: %s", ErrBadAddress, a)
	}
	if err := validateTimes(created, expires); err != nil {
		return HostRecord{}, fmt.Errorf("decode host record: %w", err)
	}
	ok, err := pub.Verify(append([]byte(hostSigDomain), b[:signedLen]...), sig)
	if err != nil || !ok {
		return HostRecord{}, fmt.Errorf("decode host record: %w", ErrBadSignature)
	}
	return HostRecord{
		Publisher: pub, Name: string(name), Addr: a, Seq: seq,
		Created: time.Unix(0, created).UTC(), Expires: time.Unix(0, expires).UTC(),
		Signature: bytes.Clone(sig),
	}, nil
}

// PeerID returns the publisher's peer ID.
func (r HostRecord) PeerID() peer.ID {
	id, _ := peer.IDFromPublicKey(r.Publisher)
	return id
}

// Key returns the DHT key the record belongs under.
func (r HostRecord) Key() string { return HostKey(r.PeerID(), r.Name) }

// CheckHost accepts value as the record under key at now: it decodes and
// verifies, belongs to key, has not expired, and was not created more than
// MaxClockSkew after now.
func CheckHost(key string, value []byte, now time.Time) (HostRecord, error) {
	r, err := DecodeHost(value)
	if err != nil {
		return HostRecord{}, err
	}
	if r.Key() != key {
		return HostRecord{}, fmt.Errorf("check host record: %w: record is for %s.%s", ErrKeyMismatch, r.Name, r.PeerID())
	}
	if !now.Before(r.Expires) {
		return HostRecord{}, fmt.Errorf("check host record: %w at %s", ErrExpired, r.Expires.Format(time.RFC3339))
	}
	if r.Created.Sub(now) > MaxClockSkew {
		return HostRecord{}, fmt.Errorf("check host record: %w", ErrFuture)
	}
	return r, nil
}

// HostValidator is the record.Validator of the /myco-host/ namespace.
type HostValidator struct{ Now func() time.Time }

var _ record.Validator = HostValidator{}

// Validate accepts value under key now; see CheckHost.
func (v HostValidator) Validate(key string, value []byte) error {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	_, err := CheckHost(key, value, now())
	return err
}

// Select prefers the highest sequence number, then the latest created time,
// then the greater encoding.
func (v HostValidator) Select(key string, values [][]byte) (int, error) {
	best := -1
	var bestRec HostRecord
	for i, val := range values {
		r, err := DecodeHost(val)
		if err != nil || r.Key() != key {
			continue
		}
		better := best < 0 || r.Seq > bestRec.Seq ||
			r.Seq == bestRec.Seq && (r.Created.After(bestRec.Created) || r.Created.Equal(bestRec.Created) && bytes.Compare(val, values[best]) > 0)
		if better {
			best, bestRec = i, r
		}
	}
	if best < 0 {
		return 0, errNoValid
	}
	return best, nil
}

// PublishHost signs and stores a host name record.
func PublishHost(ctx context.Context, r Routing, priv crypto.PrivKey, name string, addr netip.Addr, seq uint64, ttl time.Duration, now time.Time) (HostRecord, error) {
	rec, err := NewHostRecord(priv, name, addr, seq, now, ttl)
	if err != nil {
		return HostRecord{}, err
	}
	b, err := rec.Encode()
	if err != nil {
		return HostRecord{}, err
	}
	if err := r.PutValue(ctx, rec.Key(), b); err != nil {
		return HostRecord{}, fmt.Errorf("publish host name %s: %w", name, err)
	}
	return rec, nil
}

// ResolveHost fetches and checks publisher's host name at now. No record is
// an error wrapping ErrNotFound.
func ResolveHost(ctx context.Context, r Routing, publisher peer.ID, name string, now time.Time) (HostRecord, error) {
	if err := ValidateLabel(name); err != nil {
		return HostRecord{}, err
	}
	key := HostKey(publisher, name)
	b, err := r.GetValue(ctx, key)
	if err != nil {
		if errors.Is(err, routing.ErrNotFound) {
			return HostRecord{}, fmt.Errorf("resolve %s.%s: %w", name, publisher, ErrNotFound)
		}
		return HostRecord{}, fmt.Errorf("resolve %s.%s: %w", name, publisher, err)
	}
	return CheckHost(key, b, now)
}
