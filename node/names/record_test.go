package names

import (
	"bytes"
	crand "crypto/rand"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	mh "github.com/multiformats/go-multihash"

	"github.com/myconet/myconet/mri"
)

func TestRecordRoundTrip(t *testing.T) {
	priv := testKey(t, 1)
	target := testCID(t, "pkg")
	r := mustRecord(t, priv, "blog", target, 7, t0, 0)

	if !r.Expires.Equal(t0.Add(DefaultTTL)) {
		t.Errorf("Expires = %s, want created + DefaultTTL", r.Expires)
	}
	if r.PeerID() != testPeer(t, priv) {
		t.Errorf("PeerID = %s", r.PeerID())
	}
	if want := "/myco-name/" + string(testPeer(t, priv)) + "/blog"; r.Key() != want {
		t.Errorf("Key = %q, want %q", r.Key(), want)
	}

	b := mustEncode(t, r)
	if len(b) > MaxRecordSize {
		t.Fatalf("encoding is %d bytes", len(b))
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Publisher.Equals(r.Publisher) || got.Channel != r.Channel || got.Target != r.Target ||
		got.Seq != r.Seq || got.Created != r.Created || got.Expires != r.Expires || !bytes.Equal(got.Signature, r.Signature) {
		t.Errorf("Decode(Encode(r)) = %+v, want %+v", got, r)
	}
	if b2 := mustEncode(t, got); !bytes.Equal(b, b2) {
		t.Error("re-encoding differs")
	}

	// Nanosecond precision survives; time zones do not matter.
	loc := time.FixedZone("x", 3600)
	now := time.Date(2030, 1, 2, 3, 4, 5, 123456789, loc)
	r2 := mustRecord(t, priv, "a", target, 0, now, time.Nanosecond)
	got2, err := Decode(mustEncode(t, r2))
	if err != nil {
		t.Fatal(err)
	}
	if !got2.Created.Equal(now) || got2.Created != r2.Created || got2.Expires.Sub(got2.Created) != time.Nanosecond {
		t.Errorf("times: created %s expires %s", got2.Created, got2.Expires)
	}
}

func TestNewRecordErrors(t *testing.T) {
	priv := testKey(t, 1)
	secp, _, err := crypto.GenerateSecp256k1Key(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := testCID(t, "pkg")
	v0, err := cid.Decode("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		priv    crypto.PrivKey
		channel string
		target  cid.Cid
		now     time.Time
		ttl     time.Duration
		want    error
	}{
		{"nil key", nil, "a", good, t0, 0, ErrBadKey},
		{"secp256k1 key", secp, "a", good, t0, 0, ErrBadKey},
		{"empty channel", priv, "", good, t0, 0, ErrBadChannel},
		{"dot channel", priv, ".hidden", good, t0, 0, ErrBadChannel},
		{"upper case channel", priv, "Blog", good, t0, 0, ErrBadChannel},
		{"slash channel", priv, "a/b", good, t0, 0, ErrBadChannel},
		{"long channel", priv, strings.Repeat("a", 65), good, t0, 0, ErrBadChannel},
		{"undefined target", priv, "a", cid.Undef, t0, 0, ErrBadTarget},
		{"CIDv0 target", priv, "a", v0, t0, 0, ErrBadTarget},
		{"raw target", priv, "a", testCIDOf(t, cid.Raw, mh.SHA2_256, "x"), t0, 0, ErrBadTarget},
		{"dag-pb target", priv, "a", testCIDOf(t, cid.DagProtobuf, mh.SHA2_256, "x"), t0, 0, ErrBadTarget},
		{"sha3 target", priv, "a", testCIDOf(t, cid.DagCBOR, mh.SHA3_256, "x"), t0, 0, ErrBadTarget},
		{"negative ttl", priv, "a", good, t0, -time.Second, ErrBadTime},
		{"ttl too long", priv, "a", good, t0, MaxTTL + 1, ErrBadTime},
		{"before 1970", priv, "a", good, time.Unix(0, 0), 0, ErrBadTime},
		{"far future", priv, "a", good, time.Date(2262, 4, 11, 0, 0, 0, 0, time.UTC), MaxTTL, ErrBadTime},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRecord(tc.priv, tc.channel, tc.target, 1, tc.now, tc.ttl)
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// The longest valid channel and the longest validity are fine.
	if _, err := NewRecord(priv, strings.Repeat("z", 64), good, 1, t0, MaxTTL); err != nil {
		t.Errorf("64-character channel, MaxTTL: %v", err)
	}
}

func TestEncodeChecksFields(t *testing.T) {
	r := mustRecord(t, testKey(t, 1), "a", testCID(t, "p"), 1, t0, 0)
	mod := func(f func(*Record)) Record { c := r; f(&c); return c }
	tests := []struct {
		name string
		r    Record
		want error
	}{
		{"no signature", mod(func(r *Record) { r.Signature = nil }), ErrBadSignature},
		{"short signature", mod(func(r *Record) { r.Signature = r.Signature[:63] }), ErrBadSignature},
		{"no key", mod(func(r *Record) { r.Publisher = nil }), ErrBadKey},
		{"bad channel", mod(func(r *Record) { r.Channel = "A" }), ErrBadChannel},
		{"expires before created", mod(func(r *Record) { r.Expires = r.Created }), ErrBadTime},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.r.Encode(); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	priv := testKey(t, 1)
	other := testKey(t, 2)
	r := mustRecord(t, priv, "blog", testCID(t, "pkg"), 5, t0, 0)
	raw := rawFrom(t, r)
	good := raw.signed(t, priv)
	if _, err := Decode(good); err != nil {
		t.Fatalf("raw encoding does not decode: %v", err)
	}
	if !bytes.Equal(good, mustEncode(t, r)) {
		t.Fatal("raw encoding differs from Encode")
	}
	mod := func(f func(*rawName)) []byte { w := raw; f(&w); return w.signed(t, priv) }
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 1; return b }

	secp, _, err := crypto.GenerateSecp256k1Key(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secpPub, _ := crypto.MarshalPublicKey(secp.GetPublic())
	// An Ed25519 key with its protobuf fields in the other order: 36 bytes
	// that unmarshal fine but are not canonical.
	swapped := append(append([]byte{}, raw.publisher[2:]...), raw.publisher[:2]...)
	// A CID whose version varint is not minimal.
	longVarint := append([]byte{0x81, 0x00}, raw.target[1:]...)
	v0, _ := cid.Decode("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG")

	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"oversized", make([]byte, MaxRecordSize+1), ErrTooLarge},
		{"trailing byte", append(bytes.Clone(good), 0), ErrMalformed},
		{"version 0", mod(func(w *rawName) { w.version = 0 }), ErrVersion},
		{"version 2", mod(func(w *rawName) { w.version = 2 }), ErrVersion},
		{"secp256k1 publisher", mod(func(w *rawName) { w.publisher = secpPub }), ErrMalformed},
		{"garbage publisher", mod(func(w *rawName) { w.publisher = make([]byte, 36) }), ErrBadKey},
		{"non-canonical publisher", mod(func(w *rawName) { w.publisher = swapped }), ErrBadKey},
		{"empty channel", mod(func(w *rawName) { w.channel = nil }), ErrMalformed},
		{"long channel", mod(func(w *rawName) { w.channel = bytes.Repeat([]byte("a"), 65) }), ErrMalformed},
		{"dot channel", mod(func(w *rawName) { w.channel = []byte(".a") }), ErrBadChannel},
		{"upper channel", mod(func(w *rawName) { w.channel = []byte("A") }), ErrBadChannel},
		{"NUL channel", mod(func(w *rawName) { w.channel = []byte("a\x00") }), ErrBadChannel},
		{"empty target", mod(func(w *rawName) { w.target = nil }), ErrMalformed},
		{"garbage target", mod(func(w *rawName) { w.target = []byte{1, 2, 3} }), ErrBadTarget},
		{"target trailing", mod(func(w *rawName) { w.target = append(bytes.Clone(w.target), 0) }), ErrBadTarget},
		{"target long varint", mod(func(w *rawName) { w.target = longVarint }), ErrBadTarget},
		{"CIDv0 target", mod(func(w *rawName) { w.target = v0.Bytes() }), ErrBadTarget},
		{"raw target", mod(func(w *rawName) { w.target = testCIDOf(t, cid.Raw, mh.SHA2_256, "x").Bytes() }), ErrBadTarget},
		{"created zero", mod(func(w *rawName) { w.created = 0 }), ErrBadTime},
		{"created negative", mod(func(w *rawName) { w.created = -5 }), ErrBadTime},
		{"expires equal", mod(func(w *rawName) { w.expires = w.created }), ErrBadTime},
		{"expires before", mod(func(w *rawName) { w.expires = w.created - 1 }), ErrBadTime},
		{"ttl too long", mod(func(w *rawName) { w.expires = w.created + int64(MaxTTL) + 1 }), ErrBadTime},
		{"signed by another key", raw.signed(t, other), ErrBadSignature},
		{"signature bit", flip(len(good) - 1), ErrBadSignature},
		{"seq bit", flip(len(good) - 2 - 64 - 24 + 7), ErrBadSignature},
		{"channel bit", flip(1 + 2 + 36 + 2), ErrBadSignature},
		{"no domain separation", func() []byte {
			u := raw.unsigned()
			sig, _ := priv.Sign(u)
			return appendBytes(u, sig)
		}(), ErrBadSignature},
		{"short signature", append(raw.unsigned(), 0, 63), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.b)
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}

	// Every truncation fails.
	for n := range len(good) {
		if _, err := Decode(good[:n]); err == nil {
			t.Errorf("truncated to %d bytes: decoded", n)
		}
	}
}

func TestCheck(t *testing.T) {
	x, y := testKey(t, 1), testKey(t, 2)
	target := testCID(t, "pkg")
	r := mustRecord(t, x, "a", target, 1, t0, time.Hour)
	b := mustEncode(t, r)
	key := NameKey(testPeer(t, x), "a")

	tests := []struct {
		name string
		key  string
		b    []byte
		now  time.Time
		want error
	}{
		{"ok", key, b, t0, nil},
		{"ok just before expiry", key, b, t0.Add(time.Hour - 1), nil},
		{"ok created within skew", key, b, t0.Add(-MaxClockSkew), nil},
		{"expired exactly", key, b, t0.Add(time.Hour), ErrExpired},
		{"expired", key, b, t0.Add(2 * time.Hour), ErrExpired},
		{"future", key, b, t0.Add(-MaxClockSkew - 1), ErrFuture},
		{"other channel's key", NameKey(testPeer(t, x), "b"), b, t0, ErrKeyMismatch},
		{"other publisher's key", NameKey(testPeer(t, y), "a"), b, t0, ErrKeyMismatch},
		{"channel prefix key", NameKey(testPeer(t, x), "a") + "x", b, t0, ErrKeyMismatch},
		{"empty key", "", b, t0, ErrKeyMismatch},
		{"address namespace", "/myco-addr/" + string(testPeer(t, x)) + "/a", b, t0, ErrKeyMismatch},
		{"garbage", key, []byte("garbage"), t0, ErrVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Check(tc.key, tc.b, tc.now)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			v := NameValidator{Now: func() time.Time { return tc.now }}
			if err2 := v.Validate(tc.key, tc.b); (err2 == nil) != (err == nil) {
				t.Errorf("Validate = %v, Check = %v", err2, err)
			}
		})
	}
}

// TestValidateChannelMatchesMRI checks ValidateChannel against the mri
// package's parser, the reference for channel names.
func TestValidateChannelMatchesMRI(t *testing.T) {
	pid := testPeer(t, testKey(t, 1))
	names := []string{"a", "blog", "my-site_v2.0", "-", "_", "a.", "..", ".", ".a", "A", "a b", "é", "~x",
		strings.Repeat("a", 64), strings.Repeat("a", 65), "a+b", "a:b", "a@b", "a!b", "a=b"}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcz09.-_A+~:@!$&'()*,;=Z"
	for range 2000 {
		n := 1 + rng.IntN(70)
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		names = append(names, string(b))
	}
	for _, ch := range names {
		m, perr := mri.Parse("myco://" + pid.String() + "/" + ch)
		mriOK := perr == nil && m.Channel == ch && m.Path == ""
		err := ValidateChannel(ch)
		if (err == nil) != mriOK {
			t.Errorf("channel %q: ValidateChannel = %v, mri.Parse = %v (channel %q)", ch, err, perr, m.Channel)
		}
		if err != nil && !errors.Is(err, ErrBadChannel) {
			t.Errorf("channel %q: err %v does not wrap ErrBadChannel", ch, err)
		}
	}
}

func TestSelect(t *testing.T) {
	x, y := testKey(t, 1), testKey(t, 2)
	key := NameKey(testPeer(t, x), "a")
	enc := func(priv crypto.PrivKey, ch string, data string, seq uint64, created time.Time) []byte {
		return mustEncode(t, mustRecord(t, priv, ch, testCID(t, data), seq, created, time.Hour))
	}
	s1 := enc(x, "a", "p", 1, t0)
	s2 := enc(x, "a", "p", 2, t0)
	s2old := enc(x, "a", "p", 2, t0.Add(-time.Minute))
	s2later := enc(x, "a", "p", 2, t0.Add(time.Minute))
	s3 := enc(x, "a", "p", 3, t0.Add(-time.Hour/2))
	// Same seq and created, different targets: decided by bytes.
	tieA := enc(x, "a", "p1", 4, t0)
	tieB := enc(x, "a", "p2", 4, t0)
	hiTie, loTie := tieA, tieB
	if bytes.Compare(tieA, tieB) < 0 {
		hiTie, loTie = tieB, tieA
	}
	otherChannel := enc(x, "b", "p", 9, t0)
	otherPublisher := enc(y, "a", "p", 9, t0)
	forged := bytes.Clone(enc(x, "a", "p", 9, t0))
	forged[len(forged)-1] ^= 1

	tests := []struct {
		name   string
		values [][]byte
		want   int
		err    bool
	}{
		{"one", [][]byte{s1}, 0, false},
		{"higher seq first", [][]byte{s2, s1}, 0, false},
		{"higher seq second", [][]byte{s1, s2}, 1, false},
		{"seq beats created", [][]byte{s2later, s3}, 1, false},
		{"later created wins tie", [][]byte{s2old, s2, s2later}, 2, false},
		{"later created wins tie reversed", [][]byte{s2later, s2, s2old}, 0, false},
		{"bytes decide", [][]byte{loTie, hiTie}, 1, false},
		{"bytes decide reversed", [][]byte{hiTie, loTie}, 0, false},
		{"identical: first", [][]byte{s2, s2}, 0, false},
		{"identical after worse", [][]byte{s1, s2, s2}, 1, false},
		{"skip other channel", [][]byte{s1, otherChannel}, 0, false},
		{"skip other publisher", [][]byte{otherPublisher, s1}, 1, false},
		{"skip forged", [][]byte{forged, s1}, 1, false},
		{"skip garbage", [][]byte{[]byte("junk"), nil, s1}, 2, false},
		{"none valid", [][]byte{forged, otherChannel}, 0, true},
		{"empty", nil, 0, true},
	}
	v := NameValidator{Now: func() time.Time { return t0 }}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Select(key, tc.values)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if !tc.err && got != tc.want {
				t.Errorf("Select = %d, want %d", got, tc.want)
			}
		})
	}

	// The choice does not depend on order: every permutation picks the same
	// value.
	vals := [][]byte{s1, s2, s2old, s2later, s3, hiTie, loTie}
	want := hiTie
	for range 200 {
		rand.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
		i, err := v.Select(key, vals)
		if err != nil || !bytes.Equal(vals[i], want) {
			t.Fatalf("Select = %d, %v; want the seq-4 record with the greater bytes", i, err)
		}
	}
}

func TestValidators(t *testing.T) {
	v := Validators(nil)
	if _, ok := v[NameNamespace].(NameValidator); !ok {
		t.Errorf("no name validator under %q", NameNamespace)
	}
	if _, ok := v[AddrNamespace].(AddrValidator); !ok {
		t.Errorf("no address validator under %q", AddrNamespace)
	}
	// The namespaced validator routes by key.
	priv := testKey(t, 1)
	r := mustRecord(t, priv, "a", testCID(t, "p"), 1, time.Now(), 0)
	if err := v.Validate(r.Key(), mustEncode(t, r)); err != nil {
		t.Errorf("name record: %v", err)
	}
	a, err := NewAddrRecord(priv)
	if err != nil {
		t.Fatal(err)
	}
	key, err := AddrKey(a.Address())
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(key, mustEncode(t, a)); err != nil {
		t.Errorf("address record: %v", err)
	}
	if err := v.Validate(r.Key(), mustEncode(t, a)); err == nil {
		t.Error("address record under a name key: accepted")
	}
}
