package moderation

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRetraction(t *testing.T) {
	r, err := NewRetraction(key(1), pkgA, "published by mistake", t0)
	if err != nil {
		t.Fatal(err)
	}
	b := mustEncode(t, r.Encode)
	got, err := DecodeRetraction(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyRetraction(got, pkgA, pub(1), t0.Add(1000*time.Hour), minute); err != nil {
		t.Fatalf("an old retraction still verifies: %v", err)
	}
	forged := got
	forged.Sig = bytes.Clone(got.Sig)
	forged.Sig[3] ^= 1
	other, _ := NewRetraction(key(2), pkgA, "", t0) // not the publisher
	for _, tc := range []struct {
		name string
		r    Retraction
		tgt  any
		want error
	}{
		{"another publisher", other, nil, ErrBadSignature},
		{"forged signature", forged, nil, ErrBadSignature},
		{"another package", got, pkgB, ErrWrongTarget},
		{"future", mustRetract(t, t0.Add(time.Hour)), nil, ErrFuture},
	} {
		tgt := pkgA
		if tc.tgt != nil {
			tgt = pkgB
		}
		if err := VerifyRetraction(tc.r, tgt, pub(1), t0, minute); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := NewRetraction(key(1), pkgA, strings.Repeat("x", MaxReason+1), t0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("long reason: %v", err)
	}
	if _, err := NewRetraction(key(1), pkgA, "bell\a", t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("control character: %v", err)
	}
}

func mustRetract(t testing.TB, at time.Time) Retraction {
	t.Helper()
	r, err := NewRetraction(key(1), pkgA, "", at)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func FuzzDecodeRetraction(f *testing.F) {
	f.Add(mustEncode(f, mustRetract(f, t0).Encode))
	r, _ := NewRetraction(key(1), pkgA, strings.Repeat("é", MaxReason/2), t0)
	f.Add(mustEncode(f, r.Encode))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRetraction(b)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		enc, err := r.Encode()
		if err != nil {
			t.Fatalf("decoded retraction does not encode: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", b, enc)
		}
		_ = VerifyRetraction(r, r.Target, r.Publisher, t0, time.Minute)
	})
}
