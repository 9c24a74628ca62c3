package moderation

import "errors"

// Errors of decoding and verification, shared by votes, tallies and
// annotations. Test for them with errors.Is; returned errors wrap them with
// the operation and the details.
var (
	// ErrDecode means bytes are not the canonical encoding of a record:
	// truncated, trailing bytes, an unknown version, a non-canonical CID or
	// an out-of-order list.
	ErrDecode = errors.New("malformed record")

	// ErrTooLarge means an encoding, or a field of it (a vote's reason, an
	// annotation's note, …), exceeds its size limit.
	ErrTooLarge = errors.New("record too large")

	// ErrInvalid means a field breaks the schema: an unknown choice, a
	// target that is not a package CID, a key of the wrong length, text that
	// is not UTF-8 or holds control characters, a time before 1970.
	ErrInvalid = errors.New("invalid record")

	// ErrBadSignature means a signature does not verify against the key in
	// the record.
	ErrBadSignature = errors.New("signature does not verify")

	// ErrInsufficientWork means the proof-of-work hash of a vote or an
	// annotation has fewer leading zero bits than the verifier demands.
	ErrInsufficientWork = errors.New("insufficient proof of work")

	// ErrFuture means a record's time is further ahead of the verifier's
	// clock than the allowed skew.
	ErrFuture = errors.New("record time is in the future")

	// ErrExpired means a record is older than the verifier's maximum age.
	ErrExpired = errors.New("record is too old")

	// ErrWrongTarget means a record is about another package than the one
	// it was checked against.
	ErrWrongTarget = errors.New("record is for another package")
)

// Errors of a Poll.
var (
	// ErrPollFull means a poll already counts its maximum number of voters
	// and the vote is from a new voter.
	ErrPollFull = errors.New("poll is full")
)

// Errors of Recount.
var (
	// ErrTallyMismatch means the votes offered for a tally do not reproduce
	// its counts or its digest.
	ErrTallyMismatch = errors.New("votes do not reproduce the tally")
)
