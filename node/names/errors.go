package names

import "errors"

// Errors of Decode, DecodeAddr and the record constructors. They are wrapped
// with detail, so test for them with errors.Is.
var (
	// ErrTooLarge means an encoded record exceeds MaxRecordSize bytes.
	ErrTooLarge = errors.New("record too large")

	// ErrMalformed means the bytes are not a well-formed record: truncated,
	// trailing bytes, or a length that does not fit.
	ErrMalformed = errors.New("malformed record")

	// ErrVersion means the record has an unknown format version.
	ErrVersion = errors.New("unsupported record version")

	// ErrBadKey means the public key is not a canonically marshalled
	// Ed25519 libp2p key, or a private key is not Ed25519.
	ErrBadKey = errors.New("invalid public key")

	// ErrBadChannel means a channel name is not 1..64 characters of
	// [a-z0-9._-] starting with something other than '.'.
	ErrBadChannel = errors.New("invalid channel name")

	// ErrBadTarget means the target is not a CIDv1 dag-cbor sha2-256 CID.
	ErrBadTarget = errors.New("invalid target CID")

	// ErrBadTime means the created or expiry time is out of range: created
	// not after 1970, expiry not after created, or a validity longer than
	// MaxTTL.
	ErrBadTime = errors.New("invalid record time")
)

// Errors of validation: the record decodes but must not be accepted.
var (
	// ErrBadSignature means the signature does not verify with the record's
	// public key.
	ErrBadSignature = errors.New("invalid signature")

	// ErrKeyMismatch means the record is stored under a DHT key that is not
	// its own: another publisher, another channel, or another address.
	ErrKeyMismatch = errors.New("record does not match its DHT key")

	// ErrExpired means the record's expiry time has passed.
	ErrExpired = errors.New("record expired")

	// ErrFuture means the record was created more than MaxClockSkew in the
	// future.
	ErrFuture = errors.New("record created in the future")

	// ErrBadAddress means an address is not an IPv6 address inside the
	// overlay prefix.
	ErrBadAddress = errors.New("not an overlay address")
)

// Errors of Resolve and ResolveAddr.
var (
	// ErrNotFound means the DHT holds no record for the name or address.
	ErrNotFound = errors.New("no record found")

	// ErrBadPublisher means the publisher peer ID does not embed an Ed25519
	// key, so no valid record can exist for it.
	ErrBadPublisher = errors.New("publisher peer ID has no inline Ed25519 key")
)
