package moderation

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"
)

const (
	// DefaultMinVotes is Policy.MinVotes when it is 0.
	DefaultMinVotes = 10

	// DefaultRemoveRatio is Policy.RemoveRatio when it is 0.
	DefaultRemoveRatio = 2.0 / 3.0

	// DefaultMinTallies is Policy.MinTallies when it is 0.
	DefaultMinTallies = 1
)

// Outcome is what a node's policy decides about a package.
type Outcome uint8

// Outcomes. A node serves what is not decided remove.
const (
	OutcomeUndecided Outcome = iota
	OutcomeKeep
	OutcomeRemove
)

// String returns "undecided", "keep" or "remove".
func (o Outcome) String() string {
	switch o {
	case OutcomeUndecided:
		return "undecided"
	case OutcomeKeep:
		return "keep"
	case OutcomeRemove:
		return "remove"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// MarshalText returns String's text, for JSON.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText parses "undecided", "keep" or "remove".
func (o *Outcome) UnmarshalText(b []byte) error {
	for _, c := range []Outcome{OutcomeUndecided, OutcomeKeep, OutcomeRemove} {
		if string(b) == c.String() {
			*o = c
			return nil
		}
	}
	return fmt.Errorf("moderation: %w: outcome %q", ErrInvalid, b)
}

// Policy is a node's rule for turning tallies into a decision. The zero
// Policy uses the defaults and trusts no signer in particular. See the
// package doc ("Combining tallies") for the rule and why.
type Policy struct {
	// MinVotes is the fewest counted votes (keep plus remove, as combined
	// from the tallies) before the community decides anything; below it
	// a package is undecided. 0 means DefaultMinVotes.
	MinVotes int

	// RemoveRatio is the share of remove votes among the counted votes at
	// or above which a package is decided remove, in (0, 1]. 0 means
	// DefaultRemoveRatio.
	RemoveRatio float64

	// MinTallies is the fewest usable tallies (from distinct signers) a
	// decision needs; fewer leave the package undecided. 0 means
	// DefaultMinTallies.
	MinTallies int

	// Trusted lists tally signers (raw 32-byte Ed25519 keys) whose tallies,
	// when any is present, are the only ones used.
	Trusted [][]byte

	// Distrusted lists tally signers whose tallies are never used.
	// Distrust beats trust.
	Distrusted [][]byte

	// Allow and Deny are local overrides keyed by package CID string
	// (cid.Cid.String()): a package in Deny is decided remove, one in
	// Allow keep, whatever the tallies say. Deny beats Allow.
	Allow, Deny map[string]bool
}

// Validate checks the policy's fields. A node calls it once at startup.
func (p Policy) Validate() error {
	switch {
	case p.MinVotes < 0:
		return fmt.Errorf("moderation: policy: %w: min votes %d is negative", ErrInvalid, p.MinVotes)
	case p.MinTallies < 0:
		return fmt.Errorf("moderation: policy: %w: min tallies %d is negative", ErrInvalid, p.MinTallies)
	case !(p.RemoveRatio >= 0 && p.RemoveRatio <= 1): // also refuses NaN
		return fmt.Errorf("moderation: policy: %w: remove ratio %v is not in (0, 1]", ErrInvalid, p.RemoveRatio)
	}
	for _, l := range [][][]byte{p.Trusted, p.Distrusted} {
		for _, k := range l {
			if err := checkKey("signer", ed25519.PublicKey(k)); err != nil {
				return fmt.Errorf("moderation: policy: %w", err)
			}
		}
	}
	for _, m := range []map[string]bool{p.Allow, p.Deny} {
		for s := range m {
			c, err := cid.Decode(s)
			if err == nil {
				err = checkTarget(c)
			}
			if err != nil {
				return fmt.Errorf("moderation: policy: %w: local list entry %q: %v", ErrInvalid, s, err)
			}
		}
	}
	return nil
}

// IgnoredTally is a tally Decide did not use, and why.
type IgnoredTally struct {
	Tally Tally
	Why   string
}

// Decision is a policy's verdict on a package, with its grounds.
type Decision struct {
	Outcome Outcome
	// Reason says in words which rule decided, with the figures.
	Reason string
	// Keep and Remove are the combined counts (zero when a local list
	// decided or no tally was usable).
	Keep, Remove int
	// Used are the tallies the counts were combined from, one per signer.
	Used []Tally
	// Ignored are the other tallies given, each with the reason.
	Ignored []IgnoredTally
}

// Decide turns the tallies gathered for target (a package CID string) into
// a decision:
//
//  1. A local override decides first: Deny → remove, Allow → keep.
//  2. Tallies are dropped if they are about another package, if their
//     signature does not verify, if their signer is distrusted, or if the
//     same signer has a later tally. If Trusted is set and any trusted
//     tally remains, only trusted tallies are used.
//  3. With fewer than MinTallies tallies left, the package is undecided.
//  4. The counts are combined by median: keep is the upper median of the
//     tallies' keep counts, remove the lower median of their remove counts
//     (the same median when the number of tallies is odd).
//  5. Fewer than MinVotes combined votes: undecided. Otherwise remove if
//     remove ≥ RemoveRatio × (keep + remove), else keep.
//
// Decide checks signatures but not times: pass tallies that passed
// VerifyTally at the node's clock, or the ones it still holds.
func (p Policy) Decide(target string, tallies []Tally) Decision {
	var d Decision
	want, err := cid.Decode(target)
	if err != nil {
		d.Reason = fmt.Sprintf("undecided: %q is not a CID", target)
		for _, t := range tallies {
			d.Ignored = append(d.Ignored, IgnoredTally{t, "no valid target"})
		}
		return d
	}
	canon := want.String()
	switch {
	case p.Deny[target] || p.Deny[canon]:
		d.Outcome, d.Reason = OutcomeRemove, "remove: on this node's deny list (local override)"
	case p.Allow[target] || p.Allow[canon]:
		d.Outcome, d.Reason = OutcomeKeep, "keep: on this node's allow list (local override)"
	}
	if d.Outcome != OutcomeUndecided {
		for _, t := range tallies {
			d.Ignored = append(d.Ignored, IgnoredTally{t, "local override"})
		}
		return d
	}

	distrusted := keySet(p.Distrusted)
	trusted := keySet(p.Trusted)
	latest := make(map[string]int) // signer → index into usable
	var usable []Tally
	for _, t := range tallies {
		switch {
		case !t.Target.Equals(want):
			d.Ignored = append(d.Ignored, IgnoredTally{t, "about another package"})
			continue
		case !t.signatureOK():
			d.Ignored = append(d.Ignored, IgnoredTally{t, "invalid or signature does not verify"})
			continue
		case distrusted[string(t.Signer)]:
			d.Ignored = append(d.Ignored, IgnoredTally{t, "signer is distrusted"})
			continue
		}
		i, ok := latest[string(t.Signer)]
		if !ok {
			latest[string(t.Signer)] = len(usable)
			usable = append(usable, t)
			continue
		}
		if tallyNewer(t, usable[i]) {
			usable[i], t = t, usable[i]
		}
		d.Ignored = append(d.Ignored, IgnoredTally{t, "superseded by a later tally of the same signer"})
	}
	if len(trusted) > 0 && slices.ContainsFunc(usable, func(t Tally) bool { return trusted[string(t.Signer)] }) {
		var only []Tally
		for _, t := range usable {
			if trusted[string(t.Signer)] {
				only = append(only, t)
			} else {
				d.Ignored = append(d.Ignored, IgnoredTally{t, "signer not trusted, and trusted tallies are present"})
			}
		}
		usable = only
	}
	d.Used = usable

	minTallies := cmpDefault(p.MinTallies, DefaultMinTallies)
	if len(usable) < minTallies {
		d.Reason = fmt.Sprintf("undecided: %s, the policy needs %d", plural(len(usable), "usable tally", "usable tallies"), minTallies)
		return d
	}
	keeps := make([]int, len(usable))
	removes := make([]int, len(usable))
	for i, t := range usable {
		keeps[i], removes[i] = t.Keep, t.Remove
	}
	slices.Sort(keeps)
	slices.Sort(removes)
	n := len(usable)
	d.Keep, d.Remove = keeps[n/2], removes[(n-1)/2]
	from := fmt.Sprintf("median of %d tallies", n)
	if n == 1 {
		from = "1 tally"
	}
	total := d.Keep + d.Remove
	minVotes := cmpDefault(p.MinVotes, DefaultMinVotes)
	if total < minVotes {
		d.Reason = fmt.Sprintf("undecided: %s (%d keep, %d remove; %s), the policy needs %d",
			plural(total, "counted vote", "counted votes"), d.Keep, d.Remove, from, minVotes)
		return d
	}
	ratio := p.RemoveRatio
	if ratio == 0 {
		ratio = DefaultRemoveRatio
	}
	share := float64(d.Remove) / float64(total)
	if float64(d.Remove) >= ratio*float64(total) {
		d.Outcome = OutcomeRemove
		d.Reason = fmt.Sprintf("remove: %d of %d counted votes are remove (%.0f%%, %s), at least %.0f%% needed",
			d.Remove, total, 100*share, from, 100*ratio)
	} else {
		d.Outcome = OutcomeKeep
		d.Reason = fmt.Sprintf("keep: %d of %d counted votes are remove (%.0f%%, %s), below the %.0f%% needed to remove",
			d.Remove, total, 100*share, from, 100*ratio)
	}
	return d
}

// tallyNewer reports whether a supersedes b (same signer): a later time,
// or at the same time the greater encoding.
func tallyNewer(a, b Tally) bool {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c > 0
	}
	ea, _ := a.Encode()
	eb, _ := b.Encode()
	return bytes.Compare(ea, eb) > 0
}

func keySet(keys [][]byte) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[string(k)] = true
	}
	return m
}

func cmpDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// plural writes n with the singular or plural noun.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
