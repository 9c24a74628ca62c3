package moderation

import (
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// testDifficulty keeps tests fast: 256 hashes per vote on average.
const testDifficulty = 8

var (
	t0     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	minute = time.Minute
)

// key returns a deterministic key pair numbered i.
func key(i int) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte{'k', byte(i), byte(i >> 8), byte(i >> 16)})
	return ed25519.NewKeyFromSeed(seed[:])
}

func pub(i int) ed25519.PublicKey { return key(i).Public().(ed25519.PublicKey) }

// target returns a package CID (CIDv1 dag-cbor sha2-256) named by s.
func target(s string) cid.Cid {
	h, err := mh.Sum([]byte(s), mh.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	return cid.NewCidV1(cid.DagCBOR, h)
}

var pkgA, pkgB = target("a"), target("b")

func mustVote(t testing.TB, voter int, tgt cid.Cid, c Choice, reason string, at time.Time) Vote {
	t.Helper()
	v, err := NewVote(key(voter), tgt, c, reason, at, testDifficulty)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustEncode(t testing.TB, enc func() ([]byte, error)) []byte {
	t.Helper()
	b, err := enc()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pollOf returns a poll on tgt with keep and remove votes by distinct voters
// numbered from first.
func pollOf(t testing.TB, tgt cid.Cid, first, keep, remove int) (*Poll, []Vote) {
	t.Helper()
	p := NewPoll(tgt, 0)
	var vs []Vote
	for i := range keep + remove {
		c := ChoiceKeep
		if i >= keep {
			c = ChoiceRemove
		}
		v := mustVote(t, first+i, tgt, c, "", t0.Add(time.Duration(i)*time.Second))
		if _, err := p.Add(v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return p, vs
}

func signWith(priv ed25519.PrivateKey, msg []byte) []byte { return ed25519.Sign(priv, msg) }

// rework finds a fresh nonce for an edited vote, as a forger could.
func rework(t testing.TB, v Vote) uint64 {
	t.Helper()
	prefix, err := v.appendWorkPrefix([]byte(voteWorkDomain))
	if err != nil {
		t.Fatal(err)
	}
	n, err := solve(prefix, testDifficulty)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
