package moderation

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/ipfs/go-cid"
)

const (
	// TallySize is the size of every encoded tally.
	TallySize = 1 + 2 + cidSize + 4 + 4 + 32 + 8 + keySize + sigSize

	// DefaultMaxSkew is how far ahead of the verifier's clock Recount lets
	// a tally, and the votes behind it, be.
	DefaultMaxSkew = 10 * time.Minute

	tallySigDomain = "myconet-tally/v1\n"
)

// Tally is an aggregator's signed statement of a poll's result at a time:
// the counts of keep and remove votes and the digest of the counted votes.
// Anyone holding the votes can recount it (Recount).
type Tally struct {
	Target cid.Cid           // the package: CIDv1 dag-cbor sha2-256
	Keep   int               // counted keep votes, 0..2^32-1
	Remove int               // counted remove votes, 0..2^32-1
	Digest [32]byte          // Poll.Digest of the counted votes
	Time   time.Time         // when the tally was made; UTC, nanoseconds
	Signer ed25519.PublicKey // the aggregator's raw 32-byte Ed25519 key
	Sig    []byte            // Ed25519 by Signer over "myconet-tally/v1\n" + unsigned encoding
}

// NewTally signs the current result of poll with priv at time now.
func NewTally(priv ed25519.PrivateKey, poll *Poll, now time.Time) (Tally, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return Tally{}, fmt.Errorf("moderation: new tally: %w: private key of %d bytes", ErrInvalid, len(priv))
	}
	keep, remove := poll.Counts()
	t := Tally{
		Target: poll.Target(),
		Keep:   keep,
		Remove: remove,
		Digest: poll.Digest(),
		Time:   time.Unix(0, now.UnixNano()).UTC(),
		Signer: priv.Public().(ed25519.PublicKey),
	}
	msg, err := t.appendUnsigned([]byte(tallySigDomain))
	if err != nil {
		return Tally{}, fmt.Errorf("moderation: new tally: %w", err)
	}
	t.Sig = ed25519.Sign(priv, msg)
	return t, nil
}

// appendUnsigned checks every field but the signature and appends their
// encoding.
func (t *Tally) appendUnsigned(dst []byte) ([]byte, error) {
	if err := checkTarget(t.Target); err != nil {
		return nil, err
	}
	if t.Keep < 0 || t.Remove < 0 || uint64(t.Keep) > math.MaxUint32 || uint64(t.Remove) > math.MaxUint32 {
		return nil, fmt.Errorf("%w: counts %d keep, %d remove out of range", ErrInvalid, t.Keep, t.Remove)
	}
	ts, err := checkTime("time", t.Time)
	if err != nil {
		return nil, err
	}
	if err := checkKey("signer", t.Signer); err != nil {
		return nil, err
	}
	dst = append(dst, recordVersion)
	dst = appendBytes(dst, t.Target.Bytes())
	dst = binary.BigEndian.AppendUint32(dst, uint32(t.Keep))
	dst = binary.BigEndian.AppendUint32(dst, uint32(t.Remove))
	dst = append(dst, t.Digest[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(ts))
	dst = append(dst, t.Signer...)
	return dst, nil
}

// Encode returns the canonical encoding of t (TallySize bytes). It checks
// every field but does not verify the signature.
func (t Tally) Encode() ([]byte, error) {
	b, err := t.appendUnsigned(make([]byte, 0, TallySize))
	if err != nil {
		return nil, fmt.Errorf("moderation: encode tally: %w", err)
	}
	if len(t.Sig) != sigSize {
		return nil, fmt.Errorf("moderation: encode tally: %w: signature of %d bytes", ErrInvalid, len(t.Sig))
	}
	return append(b, t.Sig...), nil
}

// DecodeTally parses the canonical encoding of a tally. It is strict: for
// every b it accepts, Encode gives back b. It does not verify the
// signature or the time; call VerifyTally.
func DecodeTally(b []byte) (Tally, error) {
	t, err := decodeTally(b)
	if err != nil {
		return Tally{}, fmt.Errorf("moderation: decode tally: %w", err)
	}
	return t, nil
}

func decodeTally(b []byte) (Tally, error) {
	if len(b) > TallySize {
		return Tally{}, fmt.Errorf("%w: %d bytes (a tally is %d)", ErrTooLarge, len(b), TallySize)
	}
	r := reader{b: b}
	r.version()
	target := r.varBytes(cidSize, "target")
	keep := r.u32("keep")
	remove := r.u32("remove")
	digest := r.fixed(32, "digest")
	ts := r.u64("time")
	signer := r.fixed(keySize, "signer")
	sig := r.fixed(sigSize, "signature")
	if err := r.done(); err != nil {
		return Tally{}, err
	}
	t := Tally{Keep: int(keep), Remove: int(remove), Signer: ed25519.PublicKey(signer), Sig: sig}
	copy(t.Digest[:], digest)
	var err error
	if t.Target, err = decodeTarget(target); err != nil {
		return Tally{}, err
	}
	if t.Time, err = decodeTime("time", ts); err != nil {
		return Tally{}, err
	}
	return t, nil
}

// VerifyTally checks that t is a tally a node may use at time now: valid
// fields (ErrInvalid), a time at most maxSkew ahead of now (ErrFuture)
// and, if maxAge > 0, no older than maxAge (ErrExpired), and a signature
// that verifies (ErrBadSignature).
func VerifyTally(t Tally, now time.Time, maxAge, maxSkew time.Duration) error {
	if err := verifyTally(&t, now, maxAge, maxSkew); err != nil {
		return fmt.Errorf("moderation: verify tally: %w", err)
	}
	return nil
}

func verifyTally(t *Tally, now time.Time, maxAge, maxSkew time.Duration) error {
	msg, err := t.appendUnsigned([]byte(tallySigDomain))
	if err != nil {
		return err
	}
	if err := timeCheck(t.Time, now, maxAge, maxSkew); err != nil {
		return err
	}
	if len(t.Sig) != sigSize || !ed25519.Verify(t.Signer, msg, t.Sig) {
		return ErrBadSignature
	}
	return nil
}

// signatureOK reports whether t's fields are valid and its signature
// verifies, whatever its time.
func (t *Tally) signatureOK() bool {
	msg, err := t.appendUnsigned([]byte(tallySigDomain))
	return err == nil && len(t.Sig) == sigSize && ed25519.Verify(t.Signer, msg, t.Sig)
}

// Recount checks a tally against the votes offered for it (typically
// fetched from its signer). The tally must verify at now (at most
// DefaultMaxSkew ahead, any age). Every vote must be on the tally's
// package, carry difficulty bits of work, be signed by its voter and be no
// later than the tally's time plus DefaultMaxSkew; the votes are then
// counted as a Poll counts them (one per voter, the latest; duplicates
// once) and must give the tally's counts and digest exactly. Any failure
// of a vote or of the counts is ErrTallyMismatch, wrapping the cause.
func Recount(t Tally, votes []Vote, difficulty int, now time.Time) error {
	if err := VerifyTally(t, now, 0, DefaultMaxSkew); err != nil {
		return fmt.Errorf("moderation: recount: %w", err)
	}
	if uint64(len(votes)) > math.MaxInt32 {
		return fmt.Errorf("moderation: recount: %w: %d votes", ErrTooLarge, len(votes))
	}
	poll := NewPoll(t.Target, len(votes)+1)
	for i, v := range votes {
		if err := CheckTarget(v, t.Target); err != nil {
			return fmt.Errorf("moderation: recount: %w: vote %d: %w", ErrTallyMismatch, i, err)
		}
		if err := verifyVote(&v, difficulty, t.Time, 0, DefaultMaxSkew); err != nil {
			return fmt.Errorf("moderation: recount: %w: vote %d: %w", ErrTallyMismatch, i, err)
		}
		if _, err := poll.Add(v); err != nil {
			return fmt.Errorf("moderation: recount: %w: vote %d: %w", ErrTallyMismatch, i, err)
		}
	}
	keep, remove := poll.Counts()
	if keep != t.Keep || remove != t.Remove {
		return fmt.Errorf("moderation: recount: %w: votes give %d keep, %d remove; tally says %d, %d",
			ErrTallyMismatch, keep, remove, t.Keep, t.Remove)
	}
	if poll.Digest() != t.Digest {
		return fmt.Errorf("moderation: recount: %w: digest of the votes differs", ErrTallyMismatch)
	}
	return nil
}
