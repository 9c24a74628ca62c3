package moderation

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
)

const (
	// MaxReason is the longest reason a vote may give, in bytes.
	MaxReason = 280

	// MaxVoteSize bounds an encoded vote. The largest valid vote (a
	// 280-byte reason) is 434 bytes.
	MaxVoteSize = 1024

	voteSigDomain  = "myconet-vote/v1\n"
	voteWorkDomain = "myconet-vote-pow/v1\n"
)

// Choice is what a vote asks for.
type Choice uint8

// Choices. The zero Choice is invalid.
const (
	ChoiceKeep   Choice = 1
	ChoiceRemove Choice = 2
)

// String returns "keep", "remove", or "choice(N)".
func (c Choice) String() string {
	switch c {
	case ChoiceKeep:
		return "keep"
	case ChoiceRemove:
		return "remove"
	}
	return fmt.Sprintf("choice(%d)", uint8(c))
}

// ParseChoice parses "keep" or "remove".
func ParseChoice(s string) (Choice, error) {
	switch s {
	case "keep":
		return ChoiceKeep, nil
	case "remove":
		return ChoiceRemove, nil
	}
	return 0, fmt.Errorf("%w: choice %q is neither keep nor remove", ErrInvalid, s)
}

// Vote is one voter's signed keep-or-remove vote on a package, stamped
// with proof of work. Votes from NewVote and DecodeVote have valid fields;
// whether a vote is genuine, worked enough and timely is Verify's business.
// The slices of a decoded vote alias the bytes it was decoded from.
type Vote struct {
	Target cid.Cid           // the package voted on: CIDv1 dag-cbor sha2-256
	Choice Choice            // ChoiceKeep or ChoiceRemove
	Voter  ed25519.PublicKey // raw 32-byte Ed25519 key
	Time   time.Time         // when the vote was cast; UTC, nanoseconds
	Reason string            // optional, <= MaxReason bytes of UTF-8, no control characters
	Nonce  uint64            // proof-of-work nonce
	Sig    []byte            // Ed25519 by Voter over "myconet-vote/v1\n" + unsigned encoding
}

// NewVote casts a vote: it searches the proof-of-work nonce for difficulty
// (leading zero bits; expected 2^difficulty hashes, see DefaultDifficulty)
// and signs the vote with priv. Vote.Work reports the work the vote carries,
// which may exceed difficulty. NewVote runs until it finds a nonce; it
// refuses difficulties above MaxDifficulty.
func NewVote(priv ed25519.PrivateKey, target cid.Cid, choice Choice, reason string, now time.Time, difficulty int) (Vote, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return Vote{}, fmt.Errorf("moderation: new vote: %w: private key of %d bytes", ErrInvalid, len(priv))
	}
	v := Vote{
		Target: target,
		Choice: choice,
		Voter:  priv.Public().(ed25519.PublicKey),
		Time:   time.Unix(0, now.UnixNano()).UTC(),
		Reason: reason,
	}
	prefix, err := v.appendWorkPrefix([]byte(voteWorkDomain))
	if err != nil {
		return Vote{}, fmt.Errorf("moderation: new vote: %w", err)
	}
	if v.Nonce, err = solve(prefix, difficulty); err != nil {
		return Vote{}, fmt.Errorf("moderation: new vote: %w", err)
	}
	msg := binary.BigEndian.AppendUint64(append([]byte(voteSigDomain), prefix[len(voteWorkDomain):]...), v.Nonce)
	v.Sig = ed25519.Sign(priv, msg)
	return v, nil
}

// appendWorkPrefix checks every field but the nonce and signature and
// appends their encoding: the part of the vote the proof of work covers
// before the nonce.
func (v *Vote) appendWorkPrefix(dst []byte) ([]byte, error) {
	if err := checkTarget(v.Target); err != nil {
		return nil, err
	}
	if v.Choice != ChoiceKeep && v.Choice != ChoiceRemove {
		return nil, fmt.Errorf("%w: choice: %s", ErrInvalid, v.Choice)
	}
	if err := checkKey("voter", v.Voter); err != nil {
		return nil, err
	}
	t, err := checkTime("time", v.Time)
	if err != nil {
		return nil, err
	}
	if err := checkText("reason", v.Reason, MaxReason, false); err != nil {
		return nil, err
	}
	dst = append(dst, recordVersion)
	dst = appendBytes(dst, v.Target.Bytes())
	dst = append(dst, byte(v.Choice))
	dst = append(dst, v.Voter...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(t))
	dst = appendString(dst, v.Reason)
	return dst, nil
}

// Encode returns the canonical encoding of v. It checks every field but
// verifies neither the signature nor the work.
func (v Vote) Encode() ([]byte, error) {
	b, err := v.appendWorkPrefix(make([]byte, 0, 192+len(v.Reason)))
	if err != nil {
		return nil, fmt.Errorf("moderation: encode vote: %w", err)
	}
	b = binary.BigEndian.AppendUint64(b, v.Nonce)
	if len(v.Sig) != sigSize {
		return nil, fmt.Errorf("moderation: encode vote: %w: signature of %d bytes", ErrInvalid, len(v.Sig))
	}
	b = append(b, v.Sig...)
	if len(b) > MaxVoteSize { // cannot happen with MaxReason as it is
		return nil, fmt.Errorf("moderation: encode vote: %w: %d bytes", ErrTooLarge, len(b))
	}
	return b, nil
}

// DecodeVote parses the canonical encoding of a vote. It is strict: for
// every b it accepts, Encode gives back b. It verifies neither the
// signature nor the work nor the time; call Verify.
func DecodeVote(b []byte) (Vote, error) {
	v, err := decodeVote(b)
	if err != nil {
		return Vote{}, fmt.Errorf("moderation: decode vote: %w", err)
	}
	return v, nil
}

func decodeVote(b []byte) (Vote, error) {
	if len(b) > MaxVoteSize {
		return Vote{}, fmt.Errorf("%w: %d bytes (max %d)", ErrTooLarge, len(b), MaxVoteSize)
	}
	r := reader{b: b}
	r.version()
	target := r.varBytes(cidSize, "target")
	choice := Choice(r.u8("choice"))
	voter := r.fixed(keySize, "voter")
	t := r.u64("time")
	reason := r.varBytes(MaxReason, "reason")
	nonce := r.u64("nonce")
	sig := r.fixed(sigSize, "signature")
	if err := r.done(); err != nil {
		return Vote{}, err
	}
	var v Vote
	var err error
	if v.Target, err = decodeTarget(target); err != nil {
		return Vote{}, err
	}
	if choice != ChoiceKeep && choice != ChoiceRemove {
		return Vote{}, fmt.Errorf("%w: choice: %s", ErrInvalid, choice)
	}
	v.Choice = choice
	v.Voter = ed25519.PublicKey(voter)
	if v.Time, err = decodeTime("time", t); err != nil {
		return Vote{}, err
	}
	v.Reason = string(reason)
	if err := checkText("reason", v.Reason, MaxReason, false); err != nil {
		return Vote{}, err
	}
	v.Nonce = nonce
	v.Sig = sig
	return v, nil
}

// Work returns the leading zero bits of v's proof-of-work hash, or -1 if
// a field of v is invalid.
func (v Vote) Work() int {
	prefix, err := v.appendWorkPrefix([]byte(voteWorkDomain))
	if err != nil {
		return -1
	}
	return workOf(prefix, v.Nonce)
}

// Verify checks that v is a vote a node may accept at time now: its fields
// are valid (ErrInvalid, ErrTooLarge), its time is at most maxSkew ahead
// of now (ErrFuture) and, if maxAge > 0, no older than maxAge
// (ErrExpired), it carries at least difficulty bits of work
// (ErrInsufficientWork) and its signature verifies (ErrBadSignature). The
// checks run from cheapest to dearest and the first failure is returned.
// Verify does not look at the target; see CheckTarget.
func Verify(v Vote, difficulty int, now time.Time, maxAge, maxSkew time.Duration) error {
	if err := verifyVote(&v, difficulty, now, maxAge, maxSkew); err != nil {
		return fmt.Errorf("moderation: verify vote: %w", err)
	}
	return nil
}

func verifyVote(v *Vote, difficulty int, now time.Time, maxAge, maxSkew time.Duration) error {
	buf := make([]byte, len(voteSigDomain), 192+len(v.Reason))
	copy(buf, voteSigDomain)
	prefix, err := v.appendWorkPrefix([]byte(voteWorkDomain))
	if err != nil {
		return err
	}
	if len(v.Sig) != sigSize {
		return fmt.Errorf("%w: signature of %d bytes", ErrBadSignature, len(v.Sig))
	}
	if err := timeCheck(v.Time, now, maxAge, maxSkew); err != nil {
		return err
	}
	if err := checkWork(prefix, v.Nonce, difficulty); err != nil {
		return err
	}
	msg := binary.BigEndian.AppendUint64(append(buf, prefix[len(voteWorkDomain):]...), v.Nonce)
	if !ed25519.Verify(v.Voter, msg, v.Sig) {
		return ErrBadSignature
	}
	return nil
}

// CheckTarget returns ErrWrongTarget unless v is a vote on want.
func CheckTarget(v Vote, want cid.Cid) error {
	if !v.Target.Equals(want) {
		return fmt.Errorf("moderation: %w: vote on %s, want %s", ErrWrongTarget, v.Target, want)
	}
	return nil
}
