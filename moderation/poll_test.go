package moderation

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

func TestPollAdd(t *testing.T) {
	early := mustVote(t, 1, pkgA, ChoiceKeep, "", t0)
	late := mustVote(t, 1, pkgA, ChoiceRemove, "changed my mind", t0.Add(time.Hour))
	other := mustVote(t, 2, pkgA, ChoiceRemove, "", t0)
	onB := mustVote(t, 3, pkgB, ChoiceRemove, "", t0)

	p := NewPoll(pkgA, 2)
	steps := []struct {
		name      string
		v         Vote
		want      AddResult
		err       error
		keep, rem int
		len       int
	}{
		{"first", early, Added, nil, 1, 0, 1},
		{"replay", early, Duplicate, nil, 1, 0, 1},
		{"later replaces", late, Replaced, nil, 0, 1, 1},
		{"earlier after later", early, Superseded, nil, 0, 1, 1},
		{"replay of later", late, Duplicate, nil, 0, 1, 1},
		{"second voter", other, Added, nil, 0, 2, 2},
		{"wrong target", onB, 0, ErrWrongTarget, 0, 2, 2},
		{"full", mustVote(t, 4, pkgA, ChoiceKeep, "", t0), 0, ErrPollFull, 0, 2, 2},
		{"replacement when full", mustVote(t, 2, pkgA, ChoiceKeep, "", t0.Add(time.Second)), Replaced, nil, 1, 1, 2},
	}
	for _, s := range steps {
		got, err := p.Add(s.v)
		if got != s.want || !errors.Is(err, s.err) || (s.err == nil) != (err == nil) {
			t.Fatalf("%s: got %v, %v; want %v, %v", s.name, got, err, s.want, s.err)
		}
		if k, r := p.Counts(); k != s.keep || r != s.rem || p.Len() != s.len {
			t.Fatalf("%s: counts %d/%d len %d; want %d/%d len %d", s.name, k, r, p.Len(), s.keep, s.rem, s.len)
		}
	}
	bad := early
	bad.Choice = 9
	if _, err := p.Add(bad); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
}

// TestPollOrderIndependent: whatever order votes arrive in (replacements,
// same-time conflicts and replays included), the counted set is the same.
func TestPollOrderIndependent(t *testing.T) {
	var vs []Vote
	for i := range 12 {
		vs = append(vs, mustVote(t, i%5, pkgA, Choice(1+i%2), "", t0.Add(time.Duration(i/3)*time.Second)))
	}
	// Same voter, same time, different choice: the greater encoding wins.
	vs = append(vs, mustVote(t, 9, pkgA, ChoiceKeep, "", t0), mustVote(t, 9, pkgA, ChoiceRemove, "", t0))
	vs = append(vs, vs[0], vs[3])

	ref := NewPoll(pkgA, 0)
	for _, v := range vs {
		if _, err := ref.Add(v); err != nil {
			t.Fatal(err)
		}
	}
	rk, rr := ref.Counts()
	rd := ref.Digest()
	if ref.Len() != 6 {
		t.Fatalf("%d voters counted, want 6", ref.Len())
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		rng.Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
		p := NewPoll(pkgA, 0)
		for _, v := range vs {
			if _, err := p.Add(v); err != nil {
				t.Fatal(err)
			}
		}
		if k, r := p.Counts(); k != rk || r != rr || p.Digest() != rd {
			t.Fatalf("order changed the result: %d/%d vs %d/%d", k, r, rk, rr)
		}
	}
}

func TestPollDigest(t *testing.T) {
	empty := NewPoll(pkgA, 0).Digest()
	p, vs := pollOf(t, pkgA, 0, 2, 1)
	d := p.Digest()
	if d == empty {
		t.Fatal("digest of votes equals empty digest")
	}
	// Votes() is in encoding order and reproduces the digest.
	q := NewPoll(pkgA, 0)
	got := p.Votes()
	if len(got) != len(vs) {
		t.Fatal(len(got))
	}
	for i := len(got) - 1; i >= 0; i-- {
		if i > 0 && string(mustEncode(t, got[i-1].Encode)) >= string(mustEncode(t, got[i].Encode)) {
			t.Fatal("Votes not in encoding order")
		}
		q.Add(got[i])
	}
	if q.Digest() != d {
		t.Fatal("digest differs")
	}
	// A different vote set gives a different digest.
	q.Add(mustVote(t, 0, pkgA, ChoiceRemove, "", t0.Add(time.Hour)))
	if q.Digest() == d {
		t.Fatal("digest did not change with the counted set")
	}
}

// TestPollOwnsVotes: a poll copies what it keeps, so reusing the buffer a
// vote was decoded from does not change it.
func TestPollOwnsVotes(t *testing.T) {
	v := mustVote(t, 1, pkgA, ChoiceKeep, "", t0)
	buf := mustEncode(t, v.Encode)
	d, err := DecodeVote(buf)
	if err != nil {
		t.Fatal(err)
	}
	p := NewPoll(pkgA, 0)
	p.Add(d)
	before := p.Digest()
	for i := range buf {
		buf[i] = 0
	}
	if p.Digest() != before || !p.Votes()[0].Voter.Equal(pub(1)) {
		t.Fatal("poll aliases the decoded buffer")
	}
}
