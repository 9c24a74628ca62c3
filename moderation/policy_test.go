package moderation

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multibase"
)

// signedTally returns a validly signed tally by signer with any counts:
// what an honest or a lying aggregator may publish.
func signedTally(t testing.TB, signer int, tgt cid.Cid, keep, remove int, at time.Time) Tally {
	t.Helper()
	tl := Tally{Target: tgt, Keep: keep, Remove: remove, Time: at, Signer: pub(signer)}
	tl.Digest[0] = byte(keep)
	msg, err := tl.appendUnsigned([]byte(tallySigDomain))
	if err != nil {
		t.Fatal(err)
	}
	tl.Sig = signWith(key(signer), msg)
	return tl
}

func TestDecide(t *testing.T) {
	A := pkgA.String()
	tl := func(signer, keep, remove int) Tally { return signedTally(t, signer, pkgA, keep, remove, t0) }
	// k5 returns five tallies: honest ones from signers 1.. and liars from 11...
	k5 := func(honestKeep, honestRemove, liars, liarKeep, liarRemove int) []Tally {
		var ts []Tally
		for i := range 5 - liars {
			ts = append(ts, tl(1+i, honestKeep, honestRemove))
		}
		for i := range liars {
			ts = append(ts, tl(11+i, liarKeep, liarRemove))
		}
		return ts
	}
	badSig := tl(1, 0, 100)
	badSig.Remove = 99
	older := signedTally(t, 1, pkgA, 0, 100, t0.Add(-time.Hour))
	onB := signedTally(t, 2, pkgB, 0, 100, t0)
	base := Policy{MinVotes: 3, RemoveRatio: 0.66}
	with := func(edit func(*Policy)) Policy { p := base; edit(&p); return p }

	tests := []struct {
		name    string
		policy  Policy
		target  string
		tallies []Tally
		want    Outcome
		keep    int
		remove  int
		used    int
		reason  string // a substring of Decision.Reason
	}{
		{"no tallies", base, A, nil, OutcomeUndecided, 0, 0, 0, "0 usable tallies"},
		{"below min votes", base, A, []Tally{tl(1, 1, 1)}, OutcomeUndecided, 1, 1, 1, "the policy needs 3"},
		{"zero policy default min votes", Policy{}, A, []Tally{tl(1, 0, 9)}, OutcomeUndecided, 0, 9, 1, "needs 10"},
		{"remove", base, A, []Tally{tl(1, 1, 3)}, OutcomeRemove, 1, 3, 1, "3 of 4"},
		{"keep", base, A, []Tally{tl(1, 2, 3)}, OutcomeKeep, 2, 3, 1, "below the 66%"},
		{"ratio boundary", with(func(p *Policy) { p.RemoveRatio = 2.0 / 3 }), A, []Tally{tl(1, 1, 2)}, OutcomeRemove, 1, 2, 1, "2 of 3"},
		{"three removes min 3", base, A, []Tally{tl(1, 0, 3)}, OutcomeRemove, 0, 3, 1, ""},

		{"k=5 all honest remove", base, A, k5(1, 9, 0, 0, 0), OutcomeRemove, 1, 9, 5, "median of 5"},
		{"k=5 one liar cannot keep", base, A, k5(1, 9, 1, 1000, 0), OutcomeRemove, 1, 9, 5, ""},
		{"k=5 one liar cannot remove", base, A, k5(9, 1, 1, 0, 1000), OutcomeKeep, 9, 1, 5, ""},
		{"k=5 one liar cannot undecide", base, A, k5(9, 1, 1, 0, 0), OutcomeKeep, 9, 1, 5, ""},
		{"k=5 one liar cannot decide", base, A, k5(0, 2, 1, 0, 1000), OutcomeUndecided, 0, 2, 5, ""},
		{"k=5 two liars cannot remove", base, A, k5(9, 1, 2, 0, 1000), OutcomeKeep, 9, 1, 5, ""},
		{"k=5 three liars can (the limit)", base, A, k5(9, 1, 3, 0, 1000), OutcomeRemove, 0, 1000, 5, ""},
		{"k=2 one liar cannot remove", base, A, []Tally{tl(1, 9, 1), tl(2, 0, 1000)}, OutcomeKeep, 9, 1, 2, "median of 2"},
		{"lagging honest tallies", base, A, []Tally{tl(1, 1, 5), tl(2, 1, 6), tl(3, 1, 6), tl(4, 1, 7), tl(11, 1000, 0)}, OutcomeRemove, 1, 6, 5, ""},

		{"min tallies", with(func(p *Policy) { p.MinTallies = 3 }), A, []Tally{tl(1, 0, 9), tl(2, 0, 9)}, OutcomeUndecided, 0, 0, 2, "policy needs 3"},
		{"distrusted liar ignored", with(func(p *Policy) { p.Distrusted = [][]byte{pub(11)} }), A, []Tally{tl(1, 9, 1), tl(11, 0, 1000)}, OutcomeKeep, 9, 1, 1, "1 tally"},
		{"trusted only", with(func(p *Policy) { p.Trusted = [][]byte{pub(1)} }), A, []Tally{tl(1, 0, 5), tl(2, 9, 0), tl(3, 9, 0)}, OutcomeRemove, 0, 5, 1, ""},
		{"trusted absent: all used", with(func(p *Policy) { p.Trusted = [][]byte{pub(7)} }), A, []Tally{tl(1, 0, 5), tl(2, 9, 0), tl(3, 9, 0)}, OutcomeKeep, 9, 0, 3, ""},
		{"distrust beats trust", with(func(p *Policy) { p.Trusted = [][]byte{pub(1)}; p.Distrusted = [][]byte{pub(1)} }), A, []Tally{tl(1, 0, 5), tl(2, 9, 0)}, OutcomeKeep, 9, 0, 1, ""},

		{"allow beats remove", with(func(p *Policy) { p.Allow = map[string]bool{A: true} }), A, k5(0, 9, 0, 0, 0), OutcomeKeep, 0, 0, 0, "allow list"},
		{"deny beats keep", with(func(p *Policy) { p.Deny = map[string]bool{A: true} }), A, k5(9, 0, 0, 0, 0), OutcomeRemove, 0, 0, 0, "deny list"},
		{"deny beats allow", with(func(p *Policy) { p.Deny = map[string]bool{A: true}; p.Allow = map[string]bool{A: true} }), A, nil, OutcomeRemove, 0, 0, 0, "deny list"},
		{"deny without tallies", with(func(p *Policy) { p.Deny = map[string]bool{A: true} }), A, nil, OutcomeRemove, 0, 0, 0, ""},
		{"allow of another package", with(func(p *Policy) { p.Allow = map[string]bool{pkgB.String(): true} }), A, []Tally{tl(1, 0, 5)}, OutcomeRemove, 0, 5, 1, ""},
		{"list matches another base", with(func(p *Policy) { p.Deny = map[string]bool{A: true} }), mustBase58(pkgA), nil, OutcomeRemove, 0, 0, 0, ""},

		{"wrong target ignored", base, A, []Tally{onB, tl(1, 9, 0)}, OutcomeKeep, 9, 0, 1, ""},
		{"bad signature ignored", base, A, []Tally{badSig, tl(2, 9, 0)}, OutcomeKeep, 9, 0, 1, ""},
		{"older tally of a signer superseded", base, A, []Tally{tl(1, 9, 0), older}, OutcomeKeep, 9, 0, 1, ""},
		{"older first", base, A, []Tally{older, tl(1, 9, 0)}, OutcomeKeep, 9, 0, 1, ""},
		{"one signer cannot stuff", base, A, []Tally{tl(1, 9, 1), tl(2, 9, 1), signedTally(t, 11, pkgA, 0, 100, t0), signedTally(t, 11, pkgA, 0, 100, t0.Add(1)), signedTally(t, 11, pkgA, 0, 100, t0.Add(2))}, OutcomeKeep, 9, 1, 3, ""},
		{"bad target string", base, "not a cid", []Tally{tl(1, 0, 9)}, OutcomeUndecided, 0, 0, 0, "not a CID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.policy.Decide(tt.target, tt.tallies)
			if d.Outcome != tt.want || d.Keep != tt.keep || d.Remove != tt.remove || len(d.Used) != tt.used {
				t.Fatalf("got %s %d/%d used %d (%s); want %s %d/%d used %d",
					d.Outcome, d.Keep, d.Remove, len(d.Used), d.Reason, tt.want, tt.keep, tt.remove, tt.used)
			}
			if !strings.Contains(d.Reason, tt.reason) || !strings.HasPrefix(d.Reason, tt.want.String()) {
				t.Fatalf("reason %q, want it to start with %s and contain %q", d.Reason, tt.want, tt.reason)
			}
			if len(d.Used)+len(d.Ignored) != len(tt.tallies) {
				t.Fatalf("%d used + %d ignored != %d given", len(d.Used), len(d.Ignored), len(tt.tallies))
			}
			for _, ig := range d.Ignored {
				if ig.Why == "" {
					t.Fatal("ignored tally without a reason")
				}
			}
		})
	}
}

func mustBase58(c cid.Cid) string {
	s, err := c.StringOfBase(multibase.Base58BTC)
	if err != nil {
		panic(err)
	}
	return s
}

// TestDecideMinorityOfLiars checks the combination rule against its
// promise on random cases: when more than half of the tallies are honest
// and agree, the decision is the one the honest tallies alone give,
// whatever the liars sign.
func TestDecideMinorityOfLiars(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	policy := Policy{MinVotes: 5, RemoveRatio: 0.6}
	for i := range 300 {
		k := 1 + rng.IntN(9)
		liars := rng.IntN((k + 1) / 2) // < k/2
		keep, remove := rng.IntN(20), rng.IntN(20)
		var ts []Tally
		for j := range k - liars {
			ts = append(ts, signedTally(t, 1+j, pkgA, keep, remove, t0))
		}
		honest := policy.Decide(pkgA.String(), ts)
		for j := range liars {
			ts = append(ts, signedTally(t, 100+j, pkgA, rng.IntN(3)*rng.IntN(1000), rng.IntN(3)*rng.IntN(1000), t0))
		}
		rng.Shuffle(len(ts), func(a, b int) { ts[a], ts[b] = ts[b], ts[a] })
		got := policy.Decide(pkgA.String(), ts)
		if got.Outcome != honest.Outcome || got.Keep != keep || got.Remove != remove {
			t.Fatalf("case %d: k=%d liars=%d honest %d/%d: got %s %d/%d, honest alone %s",
				i, k, liars, keep, remove, got.Outcome, got.Keep, got.Remove, honest.Outcome)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	good := []Policy{
		{},
		{MinVotes: 3, RemoveRatio: 0.66, MinTallies: 2, Trusted: [][]byte{pub(1)}, Distrusted: [][]byte{pub(2)},
			Allow: map[string]bool{pkgA.String(): true}, Deny: map[string]bool{pkgB.String(): true}},
		{RemoveRatio: 1},
	}
	for i, p := range good {
		if err := p.Validate(); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
	}
	bad := []Policy{
		{MinVotes: -1},
		{MinTallies: -1},
		{RemoveRatio: 1.5},
		{RemoveRatio: -0.1},
		{RemoveRatio: math.NaN()},
		{Trusted: [][]byte{{1, 2}}},
		{Distrusted: [][]byte{nil}},
		{Allow: map[string]bool{"nope": true}},
		{Deny: map[string]bool{cid.NewCidV1(cid.Raw, pkgA.Hash()).String(): true}},
	}
	for i, p := range bad {
		if err := p.Validate(); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%d: %v", i, err)
		}
	}
}

func TestOutcomeText(t *testing.T) {
	for _, o := range []Outcome{OutcomeUndecided, OutcomeKeep, OutcomeRemove} {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		var back Outcome
		if err := json.Unmarshal(b, &back); err != nil || back != o {
			t.Fatalf("%s: %s → %v %v", o, b, back, err)
		}
	}
	var o Outcome
	if err := o.UnmarshalText([]byte("maybe")); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
}

// A reason counts in the right number: "1 counted vote", "1 usable tally".
func TestReasonPlurals(t *testing.T) {
	if got := plural(1, "counted vote", "counted votes"); got != "1 counted vote" {
		t.Errorf("plural(1) = %q", got)
	}
	if got := plural(0, "usable tally", "usable tallies"); got != "0 usable tallies" {
		t.Errorf("plural(0) = %q", got)
	}
}
