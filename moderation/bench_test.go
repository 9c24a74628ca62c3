package moderation

import (
	"testing"
	"time"
)

// BenchmarkNewVote casts votes at DefaultDifficulty: ns/op is the mean time
// to cast one vote on one core (the nonce search dominates; its time is
// geometric, so many iterations are needed for a stable mean:
// -benchtime=30x or more).
func BenchmarkNewVote(b *testing.B) {
	priv := key(1)
	var hashes float64
	at := t0
	c0 := cpuTime()
	for b.Loop() {
		at = at.Add(time.Second) // a different vote, hence a different search, each time
		v, err := NewVote(priv, pkgA, ChoiceRemove, "", at, DefaultDifficulty)
		if err != nil {
			b.Fatal(err)
		}
		hashes += float64(v.Nonce + 1)
	}
	b.ReportMetric(hashes/float64(b.N), "hashes/vote")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/vote")
	if cpu := cpuTime() - c0; cpu > 0 {
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/vote")
		b.ReportMetric(hashes/cpu.Seconds()/1e6, "Mhash/cpu-s")
	}
}

func BenchmarkVerify(b *testing.B) {
	v, err := NewVote(key(1), pkgA, ChoiceRemove, "a reason", t0, testDifficulty)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := Verify(v, testDifficulty, t0, time.Hour, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeVerify(b *testing.B) {
	v, err := NewVote(key(1), pkgA, ChoiceRemove, "a reason", t0, testDifficulty)
	if err != nil {
		b.Fatal(err)
	}
	enc, _ := v.Encode()
	for b.Loop() {
		d, err := DecodeVote(enc)
		if err != nil {
			b.Fatal(err)
		}
		if err := Verify(d, testDifficulty, t0, time.Hour, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecount recounts a tally of 1000 votes.
func BenchmarkRecount(b *testing.B) {
	p, votes := pollOf(b, pkgA, 0, 600, 400)
	tl, err := NewTally(key(100), p, t0.Add(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := Recount(tl, votes, testDifficulty, t0.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecide decides from five tallies.
func BenchmarkDecide(b *testing.B) {
	var ts []Tally
	for i := range 5 {
		ts = append(ts, signedTally(b, i, pkgA, 10, 20, t0))
	}
	p := Policy{MinVotes: 3}
	for b.Loop() {
		if d := p.Decide(pkgA.String(), ts); d.Outcome != OutcomeRemove {
			b.Fatal(d.Reason)
		}
	}
}
