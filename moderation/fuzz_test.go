package moderation

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// The decoders take untrusted bytes. Each fuzz target checks that decoding
// never panics, that what decodes re-encodes to the same bytes, that every
// error wraps one of the package's sentinels, and that verification of a
// decoded record does not panic either.

func isSentinel(err error) bool {
	for _, s := range []error{ErrDecode, ErrTooLarge, ErrInvalid} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func FuzzDecodeVote(f *testing.F) {
	for _, r := range []string{"", "spam", "ünïcode reason"} {
		f.Add(mustEncode(f, mustVote(f, 1, pkgA, ChoiceRemove, r, t0).Encode))
	}
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeVote(b)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		enc, err := v.Encode()
		if err != nil {
			t.Fatalf("decoded vote does not encode: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", b, enc)
		}
		_ = Verify(v, 1, t0, time.Hour, time.Minute)
		p := NewPoll(v.Target, 1)
		if _, err := p.Add(v); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzDecodeTally(f *testing.F) {
	p, _ := pollOf(f, pkgA, 0, 2, 1)
	tl, err := NewTally(key(100), p, t0)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mustEncode(f, tl.Encode))
	f.Add(make([]byte, TallySize))
	f.Fuzz(func(t *testing.T, b []byte) {
		tl, err := DecodeTally(b)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		enc, err := tl.Encode()
		if err != nil {
			t.Fatalf("decoded tally does not encode: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", b, enc)
		}
		_ = VerifyTally(tl, t0, time.Hour, time.Minute)
		d := Policy{}.Decide(tl.Target.String(), []Tally{tl, tl})
		if len(d.Used)+len(d.Ignored) != 2 {
			t.Fatalf("decision lost tallies: %+v", d)
		}
	})
}

func FuzzDecodeAnnotation(f *testing.F) {
	f.Add(mustEncode(f, mustAnnotate(f, 1, Annotation{Target: pkgA}, t0).Encode))
	f.Add(mustEncode(f, mustAnnotate(f, 1, Annotation{
		Target: pkgA,
		Tags:   []string{"a", "b"},
		Titles: map[string]string{"de": "x", "zh-Hant": "y"},
		Note:   "line\nline",
	}, t0).Encode))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAnnotation(b)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		enc, err := a.Encode()
		if err != nil {
			t.Fatalf("decoded annotation does not encode: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", b, enc)
		}
		_ = VerifyAnnotation(a, 1, t0, time.Hour, time.Minute)
		_ = Summarize(a.Target, []Annotation{a, a})
	})
}
