package names

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/myconet/myconet/overlay"
)

func TestAddrRecordRoundTrip(t *testing.T) {
	priv := testKey(t, 1)
	a, err := NewAddrRecord(priv)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := crypto.MarshalPublicKey(priv.GetPublic())
	if want := overlay.AddressFromKey(pub); a.Address() != want {
		t.Fatalf("Address = %s, want %s", a.Address(), want)
	}
	b := mustEncode(t, a)
	got, err := DecodeAddr(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.PublicKey.Equals(a.PublicKey) || !bytes.Equal(got.Signature, a.Signature) {
		t.Errorf("DecodeAddr(Encode(a)) = %+v, want %+v", got, a)
	}
	if !bytes.Equal(mustEncode(t, got), b) {
		t.Error("re-encoding differs")
	}
	key, err := AddrKey(a.Address())
	if err != nil {
		t.Fatal(err)
	}
	a16 := a.Address().As16()
	if key != "/myco-addr/"+string(a16[:]) {
		t.Errorf("AddrKey = %q", key)
	}
	if _, err := CheckAddr(key, b); err != nil {
		t.Errorf("CheckAddr: %v", err)
	}
}

func TestAddrKey(t *testing.T) {
	for _, s := range []string{"127.0.0.1", "::1", "fd6d:7964::1", "::ffff:1.2.3.4", "fd6d:7963::1%eth0"} {
		a := netip.MustParseAddr(s)
		if _, err := AddrKey(a); !errors.Is(err, ErrBadAddress) {
			t.Errorf("AddrKey(%s) err = %v, want ErrBadAddress", s, err)
		}
	}
	if _, err := AddrKey(netip.Addr{}); !errors.Is(err, ErrBadAddress) {
		t.Errorf("AddrKey(zero) err = %v", err)
	}
	if _, err := AddrKey(netip.MustParseAddr("fd6d:7963::1")); err != nil {
		t.Errorf("AddrKey(fd6d:7963::1): %v", err)
	}
}

func TestCheckAddrErrors(t *testing.T) {
	priv, other := testKey(t, 1), testKey(t, 2)
	a, _ := NewAddrRecord(priv)
	b := mustEncode(t, a)
	key, _ := AddrKey(a.Address())
	o, _ := NewAddrRecord(other)
	otherKey, _ := AddrKey(o.Address())
	pub, _ := crypto.MarshalPublicKey(priv.GetPublic())

	raw := func(version byte, pub, sig []byte) []byte {
		return appendBytes(appendBytes([]byte{version}, pub), sig)
	}
	// A signature by the right key over another address.
	wrongMsg, _ := priv.Sign(addrMessage(o.Address()))
	// A signature without the domain prefix.
	a16 := a.Address().As16()
	noDomain, _ := priv.Sign(a16[:])
	swapped := append(append([]byte{}, pub[2:]...), pub[:2]...)
	outside := netip.MustParseAddr("fd6d:7964::1").As16()

	tests := []struct {
		name string
		key  string
		b    []byte
		want error
	}{
		{"ok", key, b, nil},
		{"other address's key", otherKey, b, ErrKeyMismatch},
		{"short key", key[:len(key)-1], b, ErrKeyMismatch},
		{"long key", key + "x", b, ErrKeyMismatch},
		{"name namespace", "/myco-name/" + key[len("/myco-addr/"):], b, ErrKeyMismatch},
		{"address outside prefix", "/myco-addr/" + string(outside[:]), b, ErrBadAddress},
		{"empty", key, nil, ErrMalformed},
		{"oversized", key, make([]byte, MaxRecordSize+1), ErrTooLarge},
		{"trailing", key, append(bytes.Clone(b), 0), ErrMalformed},
		{"version 2", key, raw(2, pub, a.Signature), ErrVersion},
		{"short key bytes", key, raw(1, pub[:35], a.Signature), ErrMalformed},
		{"non-canonical key", key, raw(1, swapped, a.Signature), ErrBadKey},
		{"short signature", key, raw(1, pub, a.Signature[:63]), ErrMalformed},
		{"flipped signature", key, raw(1, pub, append(bytes.Clone(a.Signature[:63]), a.Signature[63]^1)), ErrBadSignature},
		{"signature over other address", key, raw(1, pub, wrongMsg), ErrBadSignature},
		{"signature without domain", key, raw(1, pub, noDomain), ErrBadSignature},
		{"other key's signature", key, raw(1, pub, o.Signature), ErrBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckAddr(tc.key, tc.b)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if err2 := (AddrValidator{}).Validate(tc.key, tc.b); (err2 == nil) != (err == nil) {
				t.Errorf("Validate = %v, CheckAddr = %v", err2, err)
			}
		})
	}
	for n := range len(b) {
		if _, err := DecodeAddr(b[:n]); err == nil {
			t.Errorf("truncated to %d bytes: decoded", n)
		}
	}
}

func TestAddrEncodeChecks(t *testing.T) {
	a, _ := NewAddrRecord(testKey(t, 1))
	if _, err := (AddrRecord{Signature: a.Signature}).Encode(); !errors.Is(err, ErrBadKey) {
		t.Errorf("no key: %v", err)
	}
	if _, err := (AddrRecord{PublicKey: a.PublicKey}).Encode(); !errors.Is(err, ErrBadSignature) {
		t.Errorf("no signature: %v", err)
	}
	if _, err := NewAddrRecord(nil); !errors.Is(err, ErrBadKey) {
		t.Errorf("nil key: %v", err)
	}
}

func TestAddrSelect(t *testing.T) {
	priv, other := testKey(t, 1), testKey(t, 2)
	a, _ := NewAddrRecord(priv)
	b := mustEncode(t, a)
	key, _ := AddrKey(a.Address())
	o, _ := NewAddrRecord(other)
	ob := mustEncode(t, o)
	var v AddrValidator
	tests := []struct {
		name   string
		values [][]byte
		want   int
		err    bool
	}{
		{"one", [][]byte{b}, 0, false},
		{"identical: first", [][]byte{b, b}, 0, false},
		{"skip other address", [][]byte{ob, b}, 1, false},
		{"skip garbage", [][]byte{nil, []byte("x"), b}, 2, false},
		{"none valid", [][]byte{ob}, 0, true},
		{"empty", nil, 0, true},
	}
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
}
