package moderation

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func mustTally(t testing.TB, signer, keep, remove int) Tally {
	t.Helper()
	p, _ := pollOf(t, pkgA, 0, keep, remove)
	tl, err := NewTally(key(signer), p, t0)
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := Snapshot{Target: pkgA, Checked: t0, Asked: 5,
		Tallies: []Tally{mustTally(t, 100, 1, 2), mustTally(t, 101, 0, 3)}}
	b := mustEncode(t, s.Encode)
	got, err := DecodeSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Target.Equals(pkgA) || !got.Checked.Equal(t0) || got.Asked != 5 || len(got.Tallies) != 2 {
		t.Fatalf("decoded %+v", got)
	}
	if d := (Policy{MinTallies: 2, MinVotes: 3}).Decide(pkgA.String(), got.Tallies); d.Outcome != OutcomeRemove {
		t.Errorf("decision from the kept tallies: %+v", d)
	}
	for _, bad := range []struct {
		name string
		s    Snapshot
		want error
	}{
		{"tally of another package", Snapshot{Target: pkgB, Checked: t0, Tallies: s.Tallies[:1]}, ErrWrongTarget},
		{"too many", Snapshot{Target: pkgA, Checked: t0, Tallies: make([]Tally, MaxSnapshotTallies+1)}, ErrTooLarge},
		{"no time", Snapshot{Target: pkgA}, ErrInvalid},
	} {
		if _, err := bad.s.Encode(); !errors.Is(err, bad.want) {
			t.Errorf("%s: %v, want %v", bad.name, err, bad.want)
		}
	}
	// A tally of another package spliced in is refused on decode.
	other := mustEncode(t, Snapshot{Target: pkgB, Checked: t0}.Encode)
	tb := mustEncode(t, s.Tallies[0].Encode)
	other[len(other)-1] = 1
	if _, err := DecodeSnapshot(append(other, tb...)); !errors.Is(err, ErrInvalid) {
		t.Errorf("spliced tally: %v", err)
	}
}

func FuzzDecodeSnapshot(f *testing.F) {
	s := Snapshot{Target: pkgA, Checked: t0, Asked: 3, Tallies: []Tally{mustTally(f, 100, 2, 1)}}
	f.Add(mustEncode(f, s.Encode))
	f.Add(mustEncode(f, Snapshot{Target: pkgA, Checked: t0}.Encode))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSnapshot(b)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		enc, err := s.Encode()
		if err != nil {
			t.Fatalf("decoded snapshot does not encode: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", b, enc)
		}
		_ = Policy{}.Decide(s.Target.String(), s.Tallies)
		for _, tl := range s.Tallies {
			_ = VerifyTally(tl, t0, time.Hour, time.Minute)
		}
	})
}
