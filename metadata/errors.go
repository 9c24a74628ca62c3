package metadata

import "errors"

// Errors of validation, decoding and verification. Test for them with
// errors.Is; the returned errors carry the details.
var (
	// ErrInvalid means a field of a package or of its metadata breaks the
	// schema. Every such error is a *FieldError naming the field.
	ErrInvalid = errors.New("metadata: invalid package")

	// ErrBadSignature means the package signature does not verify against
	// its publisher key.
	ErrBadSignature = errors.New("metadata: signature does not verify")

	// ErrTooLarge means an encoded package root block exceeds MaxPackageSize.
	ErrTooLarge = errors.New("metadata: package root block too large")

	// ErrNonCanonical means a block decodes to a valid package but is not
	// that package's canonical encoding, so it would give the package a
	// second CID.
	ErrNonCanonical = errors.New("metadata: package root block is not canonical dag-cbor")

	// ErrDecode means a block is not dag-cbor, or not a map at the top.
	ErrDecode = errors.New("metadata: malformed package root block")
)

// FieldError reports a field that breaks the schema. Field is the wire
// name of the field ("title", "tags", "content", …); Reason says what is
// wrong with it. errors.Is(err, ErrInvalid) holds for every FieldError.
type FieldError struct {
	Field  string
	Reason string
}

// Error returns "metadata: <field>: <reason>".
func (e *FieldError) Error() string { return "metadata: " + e.Field + ": " + e.Reason }

// Is reports whether target is ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func fieldErr(field, reason string) *FieldError {
	return &FieldError{Field: field, Reason: reason}
}
