package moderation

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestTallyRoundTrip(t *testing.T) {
	p, _ := pollOf(t, pkgA, 0, 3, 2)
	tl, err := NewTally(key(100), p, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if tl.Keep != 3 || tl.Remove != 2 || tl.Digest != p.Digest() {
		t.Fatalf("%+v", tl)
	}
	b := mustEncode(t, tl.Encode)
	if len(b) != TallySize || TallySize != 183 {
		t.Fatalf("%d bytes, TallySize %d", len(b), TallySize)
	}
	d, err := DecodeTally(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustEncode(t, d.Encode), b) {
		t.Fatal("re-encoding differs")
	}
	if err := VerifyTally(d, t0.Add(time.Minute), time.Hour, minute); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyTally(t *testing.T) {
	p, _ := pollOf(t, pkgA, 0, 3, 2)
	base, err := NewTally(key(100), p, t0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*Tally)
		now  time.Time
		want error
	}{
		{"ok", func(*Tally) {}, t0, nil},
		{"target", func(tl *Tally) { tl.Target = pkgB }, t0, ErrBadSignature},
		{"keep", func(tl *Tally) { tl.Keep++ }, t0, ErrBadSignature},
		{"remove", func(tl *Tally) { tl.Remove-- }, t0, ErrBadSignature},
		{"digest", func(tl *Tally) { tl.Digest[0] ^= 1 }, t0, ErrBadSignature},
		{"time", func(tl *Tally) { tl.Time = tl.Time.Add(1) }, t0, ErrBadSignature},
		{"signer", func(tl *Tally) { tl.Signer = pub(101) }, t0, ErrBadSignature},
		{"sig", func(tl *Tally) { tl.Sig = bytes.Clone(tl.Sig); tl.Sig[0] ^= 1 }, t0, ErrBadSignature},
		{"negative", func(tl *Tally) { tl.Keep = -1 }, t0, ErrInvalid},
		{"future", func(*Tally) {}, t0.Add(-2 * minute), ErrFuture},
		{"expired", func(*Tally) {}, t0.Add(2 * time.Hour), ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := base
			tt.edit(&tl)
			err := VerifyTally(tl, tt.now, time.Hour, minute)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeTallyErrors(t *testing.T) {
	p, _ := pollOf(t, pkgA, 0, 1, 0)
	tl, _ := NewTally(key(100), p, t0)
	good := mustEncode(t, tl.Encode)
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrDecode},
		{"truncated", good[:TallySize-1], ErrDecode},
		{"oversized", append(bytes.Clone(good), 0), ErrTooLarge},
		{"version", append([]byte{0}, good[1:]...), ErrDecode},
		{"time 0", func() []byte { b := bytes.Clone(good); copy(b[1+2+cidSize+4+4+32:], make([]byte, 8)); return b }(), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeTally(tt.b); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRecount(t *testing.T) {
	p, votes := pollOf(t, pkgA, 0, 3, 2)
	// A replaced vote and a replay among the offered votes are harmless.
	old := mustVote(t, 0, pkgA, ChoiceRemove, "", t0.Add(-time.Hour))
	offered := append([]Vote{old, votes[1]}, votes...)
	at := t0.Add(time.Minute)
	honest, err := NewTally(key(100), p, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := Recount(honest, offered, testDifficulty, at); err != nil {
		t.Fatal(err)
	}

	// lie re-signs a tally after edit: a lying aggregator's valid tally.
	lie := func(edit func(*Tally)) Tally {
		tl := honest
		edit(&tl)
		msg, err := tl.appendUnsigned([]byte(tallySigDomain))
		if err != nil {
			t.Fatal(err)
		}
		tl.Sig = signWith(key(100), msg)
		return tl
	}
	forged := votes[2]
	forged.Choice = ChoiceRemove
	forged.Nonce = rework(t, forged) // the forger can redo the work, not the signature
	late := mustVote(t, 50, pkgA, ChoiceRemove, "", at.Add(time.Hour))
	onB := mustVote(t, 51, pkgB, ChoiceRemove, "", t0)
	tests := []struct {
		name  string
		tally Tally
		votes []Vote
		want  error
	}{
		{"keep inflated", lie(func(tl *Tally) { tl.Keep++ }), votes, ErrTallyMismatch},
		{"remove inflated", lie(func(tl *Tally) { tl.Remove += 100 }), votes, ErrTallyMismatch},
		{"counts swapped", lie(func(tl *Tally) { tl.Keep, tl.Remove = tl.Remove, tl.Keep }), votes, ErrTallyMismatch},
		{"digest altered", lie(func(tl *Tally) { tl.Digest[31] ^= 1 }), votes, ErrTallyMismatch},
		{"vote missing", honest, votes[1:], ErrTallyMismatch},
		{"vote forged", honest, append([]Vote{forged}, votes...), ErrBadSignature},
		{"vote after the tally", honest, append([]Vote{late}, votes...), ErrFuture},
		{"vote on another package", honest, append([]Vote{onB}, votes...), ErrWrongTarget},
		{"tally signature", func() Tally { tl := honest; tl.Keep++; return tl }(), votes, ErrBadSignature},
		{"tally from the future", honest, votes, ErrFuture},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := at
			if tt.name == "tally from the future" {
				now = at.Add(-time.Hour)
			}
			err := Recount(tt.tally, tt.votes, testDifficulty, now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	// Votes that lack the work the recounter demands do not back the tally.
	if err := Recount(honest, votes, 40, at); !errors.Is(err, ErrInsufficientWork) || !errors.Is(err, ErrTallyMismatch) {
		t.Fatal(err)
	}
}
