package moderation

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"fmt"
	"hash"
	"math/bits"
)

// Proof of work. A record's work hash is SHA-256 over its work domain, its
// unsigned encoding up to (excluding) the nonce, and the 8-byte big-endian
// nonce; the work is the number of leading zero bits of that hash.

const (
	// DefaultDifficulty is the work a vote or annotation must show by
	// default, in leading zero bits: 2^23 (8.4 million) hashes expected,
	// about 0.8 s of one core of the machine it was measured on (a 2-core
	// AMD EPYC virtual machine with SHA extensions: 10.5 million work
	// hashes per CPU second; BenchmarkWorkHash, BenchmarkNewVote). See the
	// package doc for what it costs an attacker.
	DefaultDifficulty = 23

	// MaxDifficulty is the most work New* will search for: 2^40 hashes are
	// more than a day of one core.
	MaxDifficulty = 40
)

// workHasher computes work hashes for one prefix, hashing the prefix once
// and restarting from its midstate for every nonce.
type workHasher struct {
	mid  []byte // marshalled SHA-256 state after the prefix
	h    hash.Hash
	un   encoding.BinaryUnmarshaler
	sum  [sha256.Size]byte
	nbuf [8]byte
}

func newWorkHasher(prefix []byte) (*workHasher, error) {
	h := sha256.New()
	m, ok1 := h.(encoding.BinaryMarshaler)
	un, ok2 := h.(encoding.BinaryUnmarshaler)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("proof of work: SHA-256 state cannot be saved")
	}
	h.Write(prefix)
	mid, err := m.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("proof of work: %w", err)
	}
	return &workHasher{mid: mid, h: h, un: un}, nil
}

// work returns the leading zero bits of the work hash for nonce.
func (w *workHasher) work(nonce uint64) int {
	if err := w.un.UnmarshalBinary(w.mid); err != nil {
		return 0 // cannot happen: mid came from the same hash type
	}
	binary.BigEndian.PutUint64(w.nbuf[:], nonce)
	w.h.Write(w.nbuf[:])
	w.h.Sum(w.sum[:0])
	return leadingZeros(&w.sum)
}

// workOf returns the leading zero bits of SHA-256(prefix || nonce).
func workOf(prefix []byte, nonce uint64) int {
	h := sha256.New()
	h.Write(prefix)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], nonce)
	h.Write(n[:])
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return leadingZeros(&sum)
}

// solve returns the first nonce from 0 whose work hash has at least d
// leading zero bits.
func solve(prefix []byte, d int) (uint64, error) {
	if d < 0 || d > MaxDifficulty {
		return 0, fmt.Errorf("%w: difficulty %d not in 0..%d", ErrInvalid, d, MaxDifficulty)
	}
	w, err := newWorkHasher(prefix)
	if err != nil {
		return 0, err
	}
	for nonce := uint64(0); ; nonce++ {
		if w.work(nonce) >= d {
			return nonce, nil
		}
	}
}

func leadingZeros(h *[sha256.Size]byte) int {
	n := 0
	for i := 0; i < len(h); i += 8 {
		x := binary.BigEndian.Uint64(h[i:])
		n += bits.LeadingZeros64(x)
		if x != 0 {
			break
		}
	}
	return n
}

// checkWork returns ErrInsufficientWork unless the work hash of prefix and
// nonce has at least d leading zero bits.
func checkWork(prefix []byte, nonce uint64, d int) error {
	if got := workOf(prefix, nonce); got < d {
		return fmt.Errorf("%w: %d leading zero bits, want %d", ErrInsufficientWork, got, d)
	}
	return nil
}
