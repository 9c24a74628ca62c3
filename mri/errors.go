package mri

import (
	"errors"
	"strconv"
)

// Errors returned by Parse, New and WithPath. They are wrapped with the
// offending input, so test for them with errors.Is.
var (
	// ErrEmpty means the input string was empty.
	ErrEmpty = errors.New("empty")

	// ErrTooLong means the input, or the canonical form of the result,
	// exceeds MaxLength bytes.
	ErrTooLong = errors.New("too long (max 4096 bytes)")

	// ErrScheme means the input is neither myco://…, /myco/… nor a bare CID.
	ErrScheme = errors.New("unsupported scheme")

	// ErrBadCID means the authority is not a valid package CID.
	ErrBadCID = errors.New("invalid package CID")

	// ErrBadPeerID means the authority looks like a publisher peer ID but
	// is not a valid one.
	ErrBadPeerID = errors.New("invalid publisher peer ID")

	// ErrBadChannel means the channel name of a mutable MRI is missing or
	// not 1..64 characters of [a-z0-9._-] starting with something other
	// than '.'.
	ErrBadChannel = errors.New("invalid channel name")

	// ErrPathEscapes means a ".." segment would climb above the package root.
	ErrPathEscapes = errors.New("path climbs above the package root")

	// ErrBadPath means the path has invalid percent-encoding, control
	// characters, invalid UTF-8, or a segment that decodes to contain "/".
	ErrBadPath = errors.New("invalid path")

	// ErrBadQuery means the query has control characters or invalid UTF-8.
	ErrBadQuery = errors.New("invalid query")

	// ErrBadFragment means the fragment has control characters or invalid UTF-8.
	ErrBadFragment = errors.New("invalid fragment")
)

// maxQuoted is how much of the input an error message quotes.
const maxQuoted = 96

// parseError is the error returned for a malformed MRI or path. Its message
// is one line: "mri: <quoted input>: <what is wrong>[: detail]".
type parseError struct {
	input  string // the offending text; "" to leave it out
	err    error  // one of the sentinels above
	detail string // optional extra explanation
}

func (e *parseError) Error() string {
	s := "mri: "
	if e.input != "" {
		in := e.input
		if len(in) > maxQuoted {
			in = in[:maxQuoted] + "..."
		}
		s += strconv.Quote(in) + ": "
	}
	s += e.err.Error()
	if e.detail != "" {
		s += ": " + e.detail
	}
	return s
}

func (e *parseError) Unwrap() error { return e.err }

func errorf(input string, err error, detail string) error {
	return &parseError{input: input, err: err, detail: detail}
}
