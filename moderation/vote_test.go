package moderation

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

func TestVoteRoundTrip(t *testing.T) {
	for _, reason := range []string{"", "spam", strings.Repeat("é", MaxReason/2)} {
		v := mustVote(t, 1, pkgA, ChoiceRemove, reason, t0)
		if w := v.Work(); w < testDifficulty {
			t.Fatalf("work %d < %d", w, testDifficulty)
		}
		if err := Verify(v, testDifficulty, t0, time.Hour, minute); err != nil {
			t.Fatal(err)
		}
		b := mustEncode(t, v.Encode)
		if len(b) > MaxVoteSize {
			t.Fatalf("%d bytes", len(b))
		}
		d, err := DecodeVote(b)
		if err != nil {
			t.Fatal(err)
		}
		if b2 := mustEncode(t, d.Encode); !bytes.Equal(b, b2) {
			t.Fatal("re-encoding differs")
		}
		if err := Verify(d, testDifficulty, t0, time.Hour, minute); err != nil {
			t.Fatal(err)
		}
		if !d.Voter.Equal(pub(1)) || d.Choice != ChoiceRemove || d.Reason != reason || !d.Time.Equal(t0) || !d.Target.Equals(pkgA) {
			t.Fatalf("decoded %+v", d)
		}
	}
}

func TestLargestVote(t *testing.T) {
	v := mustVote(t, 1, pkgA, ChoiceKeep, strings.Repeat("x", MaxReason), t0)
	if n := len(mustEncode(t, v.Encode)); n != 434 {
		t.Fatalf("largest vote is %d bytes; the package doc says 434", n)
	}
}

func TestVerifyVote(t *testing.T) {
	base := mustVote(t, 1, pkgA, ChoiceKeep, "fine", t0)
	// With difficulty 0 every tampered field must fail the signature.
	tamper := []struct {
		name string
		edit func(v *Vote)
		want error
	}{
		{"target", func(v *Vote) { v.Target = pkgB }, ErrBadSignature},
		{"choice", func(v *Vote) { v.Choice = ChoiceRemove }, ErrBadSignature},
		{"voter", func(v *Vote) { v.Voter = pub(2) }, ErrBadSignature},
		{"time", func(v *Vote) { v.Time = v.Time.Add(time.Nanosecond) }, ErrBadSignature},
		{"reason", func(v *Vote) { v.Reason = "fine!" }, ErrBadSignature},
		{"nonce", func(v *Vote) { v.Nonce++ }, ErrBadSignature},
		{"sig", func(v *Vote) { v.Sig = append([]byte(nil), v.Sig...); v.Sig[7] ^= 1 }, ErrBadSignature},
		{"sig short", func(v *Vote) { v.Sig = v.Sig[:63] }, ErrBadSignature},
		{"voter short", func(v *Vote) { v.Voter = v.Voter[:31] }, ErrInvalid},
		{"bad choice", func(v *Vote) { v.Choice = 3 }, ErrInvalid},
		{"reason control", func(v *Vote) { v.Reason = "a\nb" }, ErrInvalid},
		{"reason not utf8", func(v *Vote) { v.Reason = "\xff" }, ErrInvalid},
		{"reason oversized", func(v *Vote) { v.Reason = strings.Repeat("x", MaxReason+1) }, ErrTooLarge},
		{"target not a package", func(v *Vote) { v.Target = cid.NewCidV1(cid.Raw, v.Target.Hash()) }, ErrInvalid},
		{"target undefined", func(v *Vote) { v.Target = cid.Undef }, ErrInvalid},
		{"time zero", func(v *Vote) { v.Time = time.Time{} }, ErrInvalid},
	}
	for _, tt := range tamper {
		t.Run(tt.name, func(t *testing.T) {
			v := base
			tt.edit(&v)
			err := Verify(v, 0, t0, time.Hour, minute)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}

	w := base.Work()
	window := []struct {
		name       string
		difficulty int
		now        time.Time
		maxAge     time.Duration
		want       error
	}{
		{"ok", testDifficulty, t0, time.Hour, nil},
		{"exact work", w, t0, time.Hour, nil},
		{"insufficient work", w + 1, t0, time.Hour, ErrInsufficientWork},
		{"future beyond skew", 0, t0.Add(-minute - time.Nanosecond), time.Hour, ErrFuture},
		{"future within skew", 0, t0.Add(-minute), time.Hour, nil},
		{"expired", 0, t0.Add(time.Hour + time.Nanosecond), time.Hour, ErrExpired},
		{"at max age", 0, t0.Add(time.Hour), time.Hour, nil},
		{"no max age", 0, t0.Add(1000 * time.Hour), 0, nil},
	}
	for _, tt := range window {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(base, tt.difficulty, tt.now, tt.maxAge, minute)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestVerifyOrder: a forged vote without work is refused for its work,
// before any signature is checked.
func TestVerifyOrder(t *testing.T) {
	v := mustVote(t, 1, pkgA, ChoiceKeep, "", t0)
	v.Reason = "changed"
	for v.Work() >= 4 {
		v.Nonce++
	}
	if err := Verify(v, 4, t0, 0, minute); !errors.Is(err, ErrInsufficientWork) {
		t.Fatal(err)
	}
	v.Time = t0.Add(time.Hour)
	if err := Verify(v, 4, t0, 0, minute); !errors.Is(err, ErrFuture) {
		t.Fatal(err)
	}
}

func TestCheckTarget(t *testing.T) {
	v := mustVote(t, 1, pkgA, ChoiceKeep, "", t0)
	if err := CheckTarget(v, pkgA); err != nil {
		t.Fatal(err)
	}
	if err := CheckTarget(v, pkgB); !errors.Is(err, ErrWrongTarget) {
		t.Fatal(err)
	}
}

func TestNewVoteErrors(t *testing.T) {
	if _, err := NewVote(key(1), pkgA, ChoiceKeep, "", t0, MaxDifficulty+1); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	if _, err := NewVote(key(1), pkgA, ChoiceKeep, "", t0, -1); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	if _, err := NewVote(ed25519.PrivateKey{1}, pkgA, ChoiceKeep, "", t0, 0); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	if _, err := NewVote(key(1), pkgA, 0, "", t0, 0); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	if _, err := NewVote(key(1), pkgA, ChoiceKeep, strings.Repeat("x", MaxReason+1), t0, 0); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
}

func TestParseChoice(t *testing.T) {
	for _, c := range []Choice{ChoiceKeep, ChoiceRemove} {
		if got, err := ParseChoice(c.String()); err != nil || got != c {
			t.Fatal(got, err)
		}
	}
	if _, err := ParseChoice("delete"); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
}

func TestDecodeVoteErrors(t *testing.T) {
	good := mustEncode(t, mustVote(t, 1, pkgA, ChoiceKeep, "ok", t0).Encode)
	// Offsets in the encoding.
	const (
		offTarget = 1
		offChoice = 1 + 2 + cidSize
		offTime   = offChoice + 1 + keySize
		offReason = offTime + 8
	)
	edit := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	rawCID := cid.NewCidV1(cid.Raw, pkgA.Hash()).Bytes()
	sha512, _ := mh.Sum([]byte("a"), mh.SHA2_512, -1)
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrDecode},
		{"truncated", good[:len(good)-1], ErrDecode},
		{"trailing", append(append([]byte(nil), good...), 0), ErrDecode},
		{"version", edit(func(b []byte) []byte { b[0] = 2; return b }), ErrDecode},
		{"choice 0", edit(func(b []byte) []byte { b[offChoice] = 0; return b }), ErrInvalid},
		{"choice 3", edit(func(b []byte) []byte { b[offChoice] = 3; return b }), ErrInvalid},
		{"time 0", edit(func(b []byte) []byte { binary.BigEndian.PutUint64(b[offTime:], 0); return b }), ErrInvalid},
		{"time negative", edit(func(b []byte) []byte { b[offTime] = 0x80; return b }), ErrInvalid},
		{"raw target", edit(func(b []byte) []byte { copy(b[offTarget+2:], rawCID); return b }), ErrInvalid},
		{"target too long", edit(func(b []byte) []byte { binary.BigEndian.PutUint16(b[offTarget:], cidSize+1); return b }), ErrDecode},
		{"sha512 target", append(appendBytes([]byte{1}, cid.NewCidV1(cid.DagCBOR, sha512).Bytes()), good[offChoice:]...), ErrDecode},
		{"target garbage", edit(func(b []byte) []byte { b[offTarget+2] = 0xff; return b }), ErrDecode},
		{"reason control", edit(func(b []byte) []byte { b[offReason+2] = '\n'; return b }), ErrInvalid},
		{"reason length", edit(func(b []byte) []byte { binary.BigEndian.PutUint16(b[offReason:], MaxReason+1); return b }), ErrDecode},
		{"oversized", make([]byte, MaxVoteSize+1), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeVote(tt.b); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestVoteDomains: a vote's signature does not verify as a tally's or an
// annotation's, and its work hash is domain-separated from its signature.
func TestVoteDomains(t *testing.T) {
	v := mustVote(t, 1, pkgA, ChoiceKeep, "", t0)
	enc := mustEncode(t, v.Encode)
	unsigned := enc[:len(enc)-sigSize]
	if !ed25519.Verify(v.Voter, append([]byte(voteSigDomain), unsigned...), v.Sig) {
		t.Fatal("signature is not over the documented bytes")
	}
	for _, d := range []string{tallySigDomain, annotationSigDomain, ""} {
		if ed25519.Verify(v.Voter, append([]byte(d), unsigned...), v.Sig) {
			t.Fatalf("signature verifies under domain %q", d)
		}
	}
	if got := workOf(append([]byte(voteWorkDomain), unsigned[:len(unsigned)-8]...), v.Nonce); got != v.Work() {
		t.Fatalf("work %d, documented hash gives %d", v.Work(), got)
	}
}
