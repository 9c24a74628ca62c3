package apitype

import (
	"errors"
	"fmt"
	"net/http"
)

// Code classifies an error so that it survives the trip through the HTTP API:
// the server sends {"error": msg, "code": code}, the client rebuilds an *Error
// with the same Code, and errors.Is works against the sentinels below on both
// sides.
type Code string

// Error codes. Each maps to one HTTP status.
const (
	CodeInvalid   Code = "invalid"   // bad input: metadata, MRI, arguments
	CodeNotFound  Code = "not_found" // unknown CID, path, bookmark, key
	CodeQuota     Code = "quota"     // a quota would be exceeded
	CodeCorrupt   Code = "corrupt"   // a stored block no longer matches its hash
	CodeLocked    Code = "locked"    // the store is in use by another process
	CodeNoDaemon  Code = "no_daemon" // the request needs a running daemon
	CodeWithheld  Code = "withheld"  // moderation withholds the content
	CodeRetracted Code = "retracted" // the publisher retracted the package
	CodeInternal  Code = "internal"
	// CodeUnauthorized and CodeForbidden are the API's own refusals: a
	// missing or wrong token, and a request from a host or origin it does
	// not serve.
	CodeUnauthorized Code = "unauthorized"
	CodeForbidden    Code = "forbidden"
)

// Sentinel errors, one per Code. Wrap them with %w and a message that names the
// problem; errors.Is(err, ErrNotFound) then holds here and after the HTTP round trip.
var (
	// ErrInvalid reports bad input.
	ErrInvalid = &Error{Code: CodeInvalid, Msg: "invalid input"}
	// ErrNotFound reports something unknown to this node.
	ErrNotFound = &Error{Code: CodeNotFound, Msg: "not found"}
	// ErrQuota reports a quota that would be exceeded.
	ErrQuota = &Error{Code: CodeQuota, Msg: "quota exceeded"}
	// ErrCorrupt reports a stored block that no longer matches its hash.
	ErrCorrupt = &Error{Code: CodeCorrupt, Msg: "store corruption"}
	// ErrLocked reports a store held by another process.
	ErrLocked = &Error{Code: CodeLocked, Msg: "store in use by another process"}
	// ErrNoDaemon reports a request that needs a running daemon.
	ErrNoDaemon = &Error{Code: CodeNoDaemon, Msg: "no daemon is running"}
	// ErrWithheld reports content withheld by moderation.
	ErrWithheld = &Error{Code: CodeWithheld, Msg: "withheld by moderation"}
	// ErrRetracted reports a package its publisher retracted.
	ErrRetracted = &Error{Code: CodeRetracted, Msg: "retracted by its publisher"}
	// ErrUnauthorized reports an API request without the right token.
	ErrUnauthorized = &Error{Code: CodeUnauthorized, Msg: "unauthorized"}
	// ErrForbidden reports an API request from a host or origin it does not serve.
	ErrForbidden = &Error{Code: CodeForbidden, Msg: "forbidden"}
)

// Error is an error with a wire code. Msg is the whole one-line message.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Is matches any *Error with the same Code, so that errors rebuilt by the HTTP
// client match the sentinels.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// CodeOf returns the Code of err: the Code of the first *Error in its chain,
// CodeInternal otherwise.
func CodeOf(err error) Code {
	var e interface{ ErrorCode() Code }
	if errors.As(err, &e) {
		return e.ErrorCode()
	}
	return CodeInternal
}

// ErrorCode returns e's Code.
func (e *Error) ErrorCode() Code { return e.Code }

// HTTPStatus maps a Code to an HTTP status.
func (c Code) HTTPStatus() int {
	switch c {
	case CodeInvalid:
		return http.StatusBadRequest
	case CodeNotFound:
		return http.StatusNotFound
	case CodeQuota:
		return http.StatusInsufficientStorage
	case CodeCorrupt:
		return http.StatusInternalServerError
	case CodeLocked:
		return http.StatusConflict
	case CodeNoDaemon:
		return http.StatusServiceUnavailable
	case CodeWithheld:
		return http.StatusUnavailableForLegalReasons
	case CodeRetracted:
		return http.StatusGone
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeForbidden:
		return http.StatusForbidden
	default:
		return http.StatusInternalServerError
	}
}

// Wrap gives err a Code, keeping err as the cause for errors.Is/As. Use it at
// the boundary where a lower package's error gets its user-facing meaning.
func Wrap(code Code, err error) error {
	if err == nil {
		return nil
	}
	if CodeOf(err) == code {
		return err
	}
	return &wrapped{code: code, cause: err}
}

// Errorf formats a one-line message and gives it a code, without the
// sentinel's own text in front ("invalid input: …").
func Errorf(code Code, format string, args ...any) error {
	return &wrapped{code: code, cause: fmt.Errorf(format, args...)}
}

// wrapped gives an error a Code while keeping it as the cause for errors.Is/As.
type wrapped struct {
	code  Code
	cause error
}

func (w *wrapped) Error() string { return w.cause.Error() }

func (w *wrapped) ErrorCode() Code { return w.code }

func (w *wrapped) Unwrap() error { return w.cause }

func (w *wrapped) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == w.code
}
