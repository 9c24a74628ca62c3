package names

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
)

// t0 is the fixed "now" of the unit tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testKey returns a deterministic Ed25519 key for seed.
func testKey(t testing.TB, seed uint64) crypto.PrivKey {
	t.Helper()
	var s [32]byte
	binary.BigEndian.PutUint64(s[:], seed+1)
	priv, _, err := crypto.GenerateEd25519Key(rand.NewChaCha8(s))
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func testPeer(t testing.TB, priv crypto.PrivKey) peer.ID {
	t.Helper()
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// testCID returns a package-style CID (CIDv1 dag-cbor sha2-256) of data.
func testCID(t testing.TB, data string) cid.Cid {
	return testCIDOf(t, cid.DagCBOR, mh.SHA2_256, data)
}

func testCIDOf(t testing.TB, codec uint64, hash uint64, data string) cid.Cid {
	t.Helper()
	h, err := mh.Sum([]byte(data), hash, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(codec, h)
}

func mustRecord(t testing.TB, priv crypto.PrivKey, channel string, target cid.Cid, seq uint64, now time.Time, ttl time.Duration) Record {
	t.Helper()
	r, err := NewRecord(priv, channel, target, seq, now, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustEncode(t testing.TB, r interface{ Encode() ([]byte, error) }) []byte {
	t.Helper()
	b, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawName is a name record with every field as raw bytes, so tests can build
// (and sign) encodings that the constructors would refuse.
type rawName struct {
	version   byte
	publisher []byte
	channel   []byte
	target    []byte
	seq       uint64
	created   int64
	expires   int64
}

func rawFrom(t testing.TB, r Record) rawName {
	t.Helper()
	pub, err := crypto.MarshalPublicKey(r.Publisher)
	if err != nil {
		t.Fatal(err)
	}
	return rawName{
		version:   recordVersion,
		publisher: pub,
		channel:   []byte(r.Channel),
		target:    r.Target.Bytes(),
		seq:       r.Seq,
		created:   r.Created.UnixNano(),
		expires:   r.Expires.UnixNano(),
	}
}

func (w rawName) unsigned() []byte {
	b := []byte{w.version}
	b = appendBytes(b, w.publisher)
	b = appendBytes(b, w.channel)
	b = appendBytes(b, w.target)
	b = binary.BigEndian.AppendUint64(b, w.seq)
	b = binary.BigEndian.AppendUint64(b, uint64(w.created))
	b = binary.BigEndian.AppendUint64(b, uint64(w.expires))
	return b
}

// signed encodes w and signs it with priv, as a publisher would.
func (w rawName) signed(t testing.TB, priv crypto.PrivKey) []byte {
	t.Helper()
	u := w.unsigned()
	sig, err := priv.Sign(append([]byte(nameSigDomain), u...))
	if err != nil {
		t.Fatal(err)
	}
	return appendBytes(u, sig)
}
