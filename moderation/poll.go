package moderation

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"
)

const (
	// DefaultMaxVotes is the number of voters a poll counts when NewPoll
	// is given 0: at most about 4 MiB of votes per package.
	DefaultMaxVotes = 10000

	pollDigestDomain = "myconet-poll/v1\n"
)

// AddResult says what Poll.Add did with a vote.
type AddResult uint8

// Results of Poll.Add.
const (
	// Added: the vote is the first counted vote of its voter.
	Added AddResult = iota + 1
	// Replaced: the vote replaced its voter's earlier counted vote.
	Replaced
	// Duplicate: the poll already counts exactly this vote.
	Duplicate
	// Superseded: the poll counts a later vote of the same voter; the
	// vote was dropped.
	Superseded
)

// String returns the result's name in lower case.
func (r AddResult) String() string {
	switch r {
	case Added:
		return "added"
	case Replaced:
		return "replaced"
	case Duplicate:
		return "duplicate"
	case Superseded:
		return "superseded"
	}
	return fmt.Sprintf("AddResult(%d)", uint8(r))
}

// Poll is the set of counted votes on one package: at most one per voter,
// the voter's latest. Which vote is counted depends only on the votes,
// never on the order they arrive in, so aggregators that saw the same
// votes agree on Counts and Digest.
//
// A Poll does not verify signatures, work or times: pass it only votes that
// passed Verify. It is not safe for concurrent use.
type Poll struct {
	target cid.Cid
	max    int
	byKey  map[string]counted // raw voter key → counted vote
}

type counted struct {
	vote Vote
	enc  []byte
}

// NewPoll returns an empty poll on target that counts at most maxVotes
// voters (0 or less means DefaultMaxVotes).
func NewPoll(target cid.Cid, maxVotes int) *Poll {
	if maxVotes <= 0 {
		maxVotes = DefaultMaxVotes
	}
	return &Poll{target: target, max: maxVotes, byKey: make(map[string]counted)}
}

// Target returns the package the poll is about.
func (p *Poll) Target() cid.Cid { return p.target }

// Len returns the number of counted votes (distinct voters).
func (p *Poll) Len() int { return len(p.byKey) }

// Add counts v unless the poll already counts a later vote of its voter.
// Of two votes by one voter the one with the later Time is counted; at
// equal times the one with the greater encoding. Add refuses a vote on
// another package (ErrWrongTarget), a vote with an invalid field, and a
// vote from a new voter when the poll is full (ErrPollFull); a replacing
// vote is accepted when the poll is full. Add keeps v (its slices are
// copied).
func (p *Poll) Add(v Vote) (AddResult, error) {
	if !v.Target.Equals(p.target) {
		return 0, fmt.Errorf("moderation: add vote: %w: vote on %s, poll on %s", ErrWrongTarget, v.Target, p.target)
	}
	enc, err := v.Encode()
	if err != nil {
		return 0, fmt.Errorf("moderation: add vote: %w", err)
	}
	key := string(v.Voter)
	old, ok := p.byKey[key]
	switch {
	case !ok && len(p.byKey) >= p.max:
		return 0, fmt.Errorf("moderation: add vote: %w: %d voters", ErrPollFull, p.max)
	case ok && bytes.Equal(old.enc, enc):
		return Duplicate, nil
	case ok && !supersedes(v, enc, old.vote, old.enc):
		return Superseded, nil
	}
	// Own the bytes: a decoded vote aliases its input.
	v, err = DecodeVote(enc)
	if err != nil {
		return 0, fmt.Errorf("moderation: add vote: %w", err) // cannot happen
	}
	p.byKey[key] = counted{vote: v, enc: enc}
	if ok {
		return Replaced, nil
	}
	return Added, nil
}

// supersedes reports whether vote a (encoded ea) replaces vote b of the
// same voter: a later time, or the same time and a greater encoding.
func supersedes(a Vote, ea []byte, b Vote, eb []byte) bool {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c > 0
	}
	return bytes.Compare(ea, eb) > 0
}

// Counts returns the number of counted keep and remove votes.
func (p *Poll) Counts() (keep, remove int) {
	for _, c := range p.byKey {
		if c.vote.Choice == ChoiceKeep {
			keep++
		} else {
			remove++
		}
	}
	return keep, remove
}

// Votes returns the counted votes in the order of their encodings.
func (p *Poll) Votes() []Vote {
	cs := p.sorted()
	vs := make([]Vote, len(cs))
	for i, c := range cs {
		vs[i] = c.vote
	}
	return vs
}

func (p *Poll) sorted() []counted {
	cs := make([]counted, 0, len(p.byKey))
	for _, c := range p.byKey {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b counted) int { return bytes.Compare(a.enc, b.enc) })
	return cs
}

// Digest returns the digest of the counted votes:
//
//	SHA-256("myconet-poll/v1\n" || for each vote in ascending order of encoding: u16 length || encoding)
//
// It depends only on the set of counted votes.
func (p *Poll) Digest() [32]byte {
	h := sha256.New()
	h.Write([]byte(pollDigestDomain))
	var n [2]byte
	for _, c := range p.sorted() {
		binary.BigEndian.PutUint16(n[:], uint16(len(c.enc)))
		h.Write(n[:])
		h.Write(c.enc)
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}
