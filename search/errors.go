package search

import "errors"

// Errors of ParseQuery and Query.SetFilter. Test for them with errors.Is;
// the returned errors carry the details.
var (
	// ErrEmptyQuery means a query has no word or phrase to look for
	// (exclusions and filters alone cannot be looked up).
	ErrEmptyQuery = errors.New("search: empty query")

	// ErrQueryTooLong means a query, or its canonical form, exceeds
	// MaxQueryLen bytes.
	ErrQueryTooLong = errors.New("search: query too long")

	// ErrTooManyTerms means a query has more than MaxQueryTerms distinct
	// terms after tokenization.
	ErrTooManyTerms = errors.New("search: too many terms in query")

	// ErrTooManyPhrases means a query has more than MaxQueryPhrases
	// phrases, excluded ones included.
	ErrTooManyPhrases = errors.New("search: too many phrases in query")

	// ErrBadFilter means a filter (kind:, lang:, tag:, license:,
	// publisher:) has an invalid or conflicting value.
	ErrBadFilter = errors.New("search: bad filter")
)

// Errors of the wire decoders and encoders.
var (
	// ErrMessageTooLarge means a request or response exceeds its size
	// limit (MaxRequestSize, MaxResponseSize).
	ErrMessageTooLarge = errors.New("search: message too large")

	// ErrMalformed means a request or response is not the canonical
	// encoding of a valid message.
	ErrMalformed = errors.New("search: malformed message")

	// ErrResultMismatch means a wire result's root block does not decode,
	// does not verify, or is not the package the result names.
	ErrResultMismatch = errors.New("search: result does not match its root block")
)
