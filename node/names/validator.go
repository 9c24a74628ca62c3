package names

import (
	"bytes"
	"errors"
	"time"

	record "github.com/libp2p/go-libp2p-record"
)

// Validators returns the validators of both namespaces, keyed as kad-dht's
// dht.Validator and dht.NamespacedValidator options expect. now is the clock
// of the name validator; nil means time.Now.
func Validators(now func() time.Time) record.NamespacedValidator {
	return record.NamespacedValidator{
		NameNamespace: NameValidator{Now: now},
		AddrNamespace: AddrValidator{},
		HostNamespace: HostValidator{Now: now}, // host.go
	}
}

// errNoValid is returned by Select when none of the values is acceptable.
var errNoValid = errors.New("no valid record to select")

// NameValidator is the record.Validator of the /myco-name/ namespace. It is
// safe for concurrent use.
type NameValidator struct {
	// Now is the clock for expiry and future-dating checks; nil means
	// time.Now.
	Now func() time.Time
}

var _ record.Validator = NameValidator{}

// Validate accepts value as the record under key now; see Check.
func (v NameValidator) Validate(key string, value []byte) error {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	_, err := Check(key, value, now())
	return err
}

// Select returns the index of the best record for key: the highest sequence
// number, then the latest created time, then the greater encoding; of equal
// values the first. Values that do not decode, do not verify or do not belong
// to key are never chosen. Select does not look at the clock, so its choice
// is stable; callers (kad-dht does) validate values before selecting.
func (v NameValidator) Select(key string, values [][]byte) (int, error) {
	best := -1
	var bestRec Record
	for i, val := range values {
		r, err := decode(val)
		if err != nil || r.Key() != key {
			continue
		}
		if best < 0 || nameBetter(r, val, bestRec, values[best]) {
			best, bestRec = i, r
		}
	}
	if best < 0 {
		return 0, errNoValid
	}
	return best, nil
}

// nameBetter reports whether record a (encoded as ab) strictly beats b.
func nameBetter(a Record, ab []byte, b Record, bb []byte) bool {
	if a.Seq != b.Seq {
		return a.Seq > b.Seq
	}
	if !a.Created.Equal(b.Created) {
		return a.Created.After(b.Created)
	}
	return bytes.Compare(ab, bb) > 0
}

// AddrValidator is the record.Validator of the /myco-addr/ namespace. It is
// safe for concurrent use.
type AddrValidator struct{}

var _ record.Validator = AddrValidator{}

// Validate accepts value as the record under key; see CheckAddr.
func (AddrValidator) Validate(key string, value []byte) error {
	_, err := CheckAddr(key, value)
	return err
}

// Select returns the index of the first of the smallest acceptable values.
// All valid records for an address say the same thing, so any choice is
// right; this one is deterministic.
func (AddrValidator) Select(key string, values [][]byte) (int, error) {
	best := -1
	for i, val := range values {
		if _, err := CheckAddr(key, val); err != nil {
			continue
		}
		if best < 0 || bytes.Compare(val, values[best]) < 0 {
			best = i
		}
	}
	if best < 0 {
		return 0, errNoValid
	}
	return best, nil
}
