package names

import (
	"fmt"
	"math"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"github.com/myconet/myconet/mri"
)

const (
	// NameNamespace is the DHT namespace of channel records.
	NameNamespace = "myco-name"

	// MaxRecordSize bounds an encoded record of either kind.
	MaxRecordSize = 2048

	// MaxChannelLen is the longest channel name.
	MaxChannelLen = 64

	// DefaultTTL is the validity Publish gives a record when asked for 0.
	DefaultTTL = 48 * time.Hour

	// RepublishInterval is how often an owner should republish its records:
	// far inside DefaultTTL and kad-dht's default MaxRecordAge (48 h both),
	// so that missed rounds do not let a channel lapse, and often enough
	// that records lost by restarted nodes (the DHT keeps them in memory)
	// come back within the hour.
	RepublishInterval = time.Hour

	// MaxTTL is the longest validity a record may claim.
	MaxTTL = 30 * 24 * time.Hour

	// MaxClockSkew is how far in the future a record's created time may be.
	MaxClockSkew = 10 * time.Minute

	recordVersion = 1
	nameSigDomain = "myconet-name/v1\n"
	maxCIDLen     = 128
)

// Record is a channel record: a publisher's signed statement that its channel
// points at a package. Records from Decode or NewRecord are valid in
// themselves (fields, signature); whether one may be accepted for a DHT key at
// a time is Check's business.
type Record struct {
	Publisher crypto.PubKey // Ed25519
	Channel   string        // see ValidateChannel
	Target    cid.Cid       // package CID: CIDv1, dag-cbor, sha2-256
	Seq       uint64        // sequence number; higher wins
	Created   time.Time     // UTC, nanosecond precision
	Expires   time.Time     // UTC; the record is invalid from this instant
	Signature []byte        // Ed25519 over "myconet-name/v1\n" + unsigned encoding
}

// ValidateChannel checks a channel name: 1..64 characters of [a-z0-9._-],
// not starting with '.' (the rule of package mri).
func ValidateChannel(ch string) error {
	if err := mri.ValidateChannel(ch); err != nil {
		return fmt.Errorf("%w: %q: %v", ErrBadChannel, ch, err)
	}
	return nil
}

// validateTarget requires a CIDv1 dag-cbor sha2-256 CID, the form of every
// package CID.
func validateTarget(c cid.Cid) error {
	if !c.Defined() {
		return fmt.Errorf("%w: undefined", ErrBadTarget)
	}
	p := c.Prefix()
	if p.Version != 1 || p.Codec != cid.DagCBOR || p.MhType != mh.SHA2_256 || p.MhLength != 32 {
		return fmt.Errorf("%w: %s is not CIDv1 dag-cbor sha2-256", ErrBadTarget, c)
	}
	return nil
}

// validateTimes checks that created is after 1970 and that the validity is
// positive and at most MaxTTL. Times are compared as Unix nanoseconds, which
// is what the encoding holds.
func validateTimes(created, expires int64) error {
	if created <= 0 {
		return fmt.Errorf("%w: created %d is not after 1970", ErrBadTime, created)
	}
	if expires <= created {
		return fmt.Errorf("%w: expiry is not after creation", ErrBadTime)
	}
	if uint64(expires-created) > uint64(MaxTTL) {
		return fmt.Errorf("%w: validity longer than %s", ErrBadTime, MaxTTL)
	}
	return nil
}

// NameKey returns the DHT key of a publisher's channel:
// "/myco-name/" + string(publisher) + "/" + channel.
func NameKey(publisher peer.ID, channel string) string {
	return "/" + NameNamespace + "/" + string(publisher) + "/" + channel
}

// NewRecord builds and signs a record that points channel at target with
// sequence number seq, created at now and valid for ttl (0 means DefaultTTL).
// priv must be an Ed25519 key.
func NewRecord(priv crypto.PrivKey, channel string, target cid.Cid, seq uint64, now time.Time, ttl time.Duration) (Record, error) {
	if priv == nil {
		return Record{}, fmt.Errorf("new record: %w: missing private key", ErrBadKey)
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < 0 || ttl > MaxTTL {
		return Record{}, fmt.Errorf("new record: %w: ttl %s not in (0, %s]", ErrBadTime, ttl, MaxTTL)
	}
	created := now.UnixNano()
	if created <= 0 || created > math.MaxInt64-int64(ttl) {
		return Record{}, fmt.Errorf("new record: %w: time %s out of range", ErrBadTime, now)
	}
	r := Record{
		Publisher: priv.GetPublic(),
		Channel:   channel,
		Target:    target,
		Seq:       seq,
		Created:   time.Unix(0, created).UTC(),
		Expires:   time.Unix(0, created+int64(ttl)).UTC(),
	}
	unsigned, err := r.appendUnsigned(nil)
	if err != nil {
		return Record{}, fmt.Errorf("new record: %w", err)
	}
	sig, err := priv.Sign(append([]byte(nameSigDomain), unsigned...))
	if err != nil {
		return Record{}, fmt.Errorf("new record: sign: %w", err)
	}
	r.Signature = sig
	return r, nil
}

// appendUnsigned appends the encoding of every field but the signature,
// checking each field.
func (r Record) appendUnsigned(dst []byte) ([]byte, error) {
	pub, err := marshalPublicKey(r.Publisher)
	if err != nil {
		return nil, err
	}
	if err := ValidateChannel(r.Channel); err != nil {
		return nil, err
	}
	if err := validateTarget(r.Target); err != nil {
		return nil, err
	}
	created, expires := r.Created.UnixNano(), r.Expires.UnixNano()
	if err := validateTimes(created, expires); err != nil {
		return nil, err
	}
	dst = append(dst, recordVersion)
	dst = appendBytes(dst, pub)
	dst = appendBytes(dst, []byte(r.Channel))
	dst = appendBytes(dst, r.Target.Bytes())
	return appendSeqTimes(dst, r.Seq, created, expires), nil
}

// Encode returns the canonical encoding of r. It checks every field but does
// not verify the signature.
func (r Record) Encode() ([]byte, error) {
	b, err := r.appendUnsigned(make([]byte, 0, 256))
	if err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	if len(r.Signature) != ed25519SigLen {
		return nil, fmt.Errorf("encode record: %w: signature length %d", ErrBadSignature, len(r.Signature))
	}
	b = appendBytes(b, r.Signature)
	if len(b) > MaxRecordSize {
		return nil, fmt.Errorf("encode record: %w", ErrTooLarge)
	}
	return b, nil
}

// Decode parses an encoded record strictly and verifies its signature. For
// every b it accepts, Encode returns b again. It does not check the record
// against a DHT key or a time; see Check.
func Decode(b []byte) (Record, error) {
	r, err := decode(b)
	if err != nil {
		return Record{}, fmt.Errorf("decode record: %w", err)
	}
	return r, nil
}

func decode(b []byte) (Record, error) {
	if len(b) > MaxRecordSize {
		return Record{}, fmt.Errorf("%w: %d bytes, max %d", ErrTooLarge, len(b), MaxRecordSize)
	}
	rd := reader{b: b}
	version := rd.byte1("version")
	if rd.err == nil && version != recordVersion {
		return Record{}, fmt.Errorf("%w: %d", ErrVersion, version)
	}
	pubBytes := rd.bytes("publisher", ed25519KeyLen, ed25519KeyLen)
	channel := rd.bytes("channel", 1, MaxChannelLen)
	target := rd.bytes("target", 1, maxCIDLen)
	seq := rd.uint64("seq")
	created := int64(rd.uint64("created"))
	expires := int64(rd.uint64("expires"))
	signedLen := len(b) - len(rd.b)
	sig := rd.bytes("signature", ed25519SigLen, ed25519SigLen)
	rd.end()
	if rd.err != nil {
		return Record{}, rd.err
	}

	pub, err := parsePublicKey(pubBytes)
	if err != nil {
		return Record{}, err
	}
	if err := ValidateChannel(string(channel)); err != nil {
		return Record{}, err
	}
	c, err := cid.Cast(target)
	if err != nil {
		return Record{}, fmt.Errorf("%w: %v", ErrBadTarget, err)
	}
	if c.KeyString() != string(target) {
		return Record{}, fmt.Errorf("%w: not canonically encoded", ErrBadTarget)
	}
	if err := validateTarget(c); err != nil {
		return Record{}, err
	}
	if err := validateTimes(created, expires); err != nil {
		return Record{}, err
	}
	ok, err := pub.Verify(append([]byte(nameSigDomain), b[:signedLen]...), sig)
	if err != nil || !ok {
		return Record{}, ErrBadSignature
	}
	return Record{
		Publisher: pub,
		Channel:   string(channel),
		Target:    c,
		Seq:       seq,
		Created:   time.Unix(0, created).UTC(),
		Expires:   time.Unix(0, expires).UTC(),
		Signature: append([]byte(nil), sig...),
	}, nil
}

// PeerID returns the publisher's peer ID.
func (r Record) PeerID() peer.ID {
	id, err := peer.IDFromPublicKey(r.Publisher)
	if err != nil {
		return ""
	}
	return id
}

// Key returns the DHT key the record belongs under.
func (r Record) Key() string {
	return NameKey(r.PeerID(), r.Channel)
}

// Check decodes value and accepts it as the record under key at time now: the
// signature verifies, key is the record's own key, now is before its expiry,
// and it was not created more than MaxClockSkew after now.
func Check(key string, value []byte, now time.Time) (Record, error) {
	r, err := decode(value)
	if err != nil {
		return Record{}, fmt.Errorf("check record: %w", err)
	}
	if r.Key() != key {
		return Record{}, fmt.Errorf("check record: %w: record is for %s/%s", ErrKeyMismatch, r.PeerID(), r.Channel)
	}
	if !now.Before(r.Expires) {
		return Record{}, fmt.Errorf("check record: %w at %s", ErrExpired, r.Expires.Format(time.RFC3339))
	}
	if r.Created.Sub(now) > MaxClockSkew {
		return Record{}, fmt.Errorf("check record: %w: created %s", ErrFuture, r.Created.Format(time.RFC3339))
	}
	return r, nil
}
