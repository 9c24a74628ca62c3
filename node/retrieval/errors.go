package retrieval

import (
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Errors of Fetch. Fetch wraps them with the root or block CID concerned.
var (
	// ErrNoProviders reports a fetch that had no provider to ask, or whose
	// providers all failed (the wrapped errors say how).
	ErrNoProviders = errors.New("no provider could serve the content")
	// ErrNotFound reports a block that every provider asked lacks.
	ErrNotFound = errors.New("no provider has the block")
	// ErrClosed reports a call on a closed Service.
	ErrClosed = errors.New("retrieval service closed")
	// ErrBadDAG reports a block that hashes correctly (so its publisher
	// made it) but whose links cannot be decoded.
	ErrBadDAG = errors.New("malformed DAG")
)

// Errors describing one provider. They reach the caller inside a
// *ProviderError, wrapped in ErrNoProviders when no provider succeeded.
var (
	// ErrProtocol reports a provider that broke the protocol: a block that
	// does not match its CID, was not requested, is too large, or bytes that
	// do not parse.
	ErrProtocol = errors.New("protocol violation")
	// ErrWithheld reports a provider whose policy refuses the content.
	ErrWithheld = errors.New("provider withholds the content")
	// ErrBusy reports a provider serving as many requests as it allows.
	ErrBusy = errors.New("provider busy")
	// ErrTimeout reports a provider that went silent for
	// Config.IdleTimeout or took longer than Config.RequestTimeout.
	ErrTimeout = errors.New("provider timed out")
	// ErrRefused reports a provider that serves nothing or rejected the
	// request as malformed.
	ErrRefused = errors.New("provider refused the request")
)

// Status is the first byte of a response.
type Status byte

// Response statuses.
const (
	StatusOK         Status = 0
	StatusNotFound   Status = 1 // the provider serves nothing
	StatusWithheld   Status = 2 // policy refuses the root
	StatusBusy       Status = 3
	StatusBadRequest Status = 4
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusNotFound:
		return "not found"
	case StatusWithheld:
		return "withheld"
	case StatusBusy:
		return "busy"
	case StatusBadRequest:
		return "bad request"
	}
	return fmt.Sprintf("status %d", byte(s))
}

// StatusError is a non-ok status sent by a provider. errors.Is matches it
// against ErrWithheld, ErrBusy and ErrRefused.
type StatusError struct{ Status Status }

func (e *StatusError) Error() string { return "provider replied " + e.Status.String() }

// Is maps wire statuses to the sentinel errors.
func (e *StatusError) Is(target error) bool {
	switch e.Status {
	case StatusWithheld:
		return target == ErrWithheld
	case StatusBusy:
		return target == ErrBusy
	case StatusNotFound, StatusBadRequest:
		return target == ErrRefused
	}
	return false
}

// ProviderError is why one provider was dropped from a fetch.
type ProviderError struct {
	Peer peer.ID
	Err  error
}

func (e *ProviderError) Error() string { return fmt.Sprintf("provider %s: %v", e.Peer, e.Err) }

func (e *ProviderError) Unwrap() error { return e.Err }

// protoErr wraps ErrProtocol with a description.
func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}
