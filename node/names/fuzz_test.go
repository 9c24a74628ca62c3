package names

import (
	"bytes"
	"testing"
	"time"
)

// FuzzDecode checks that Decode never panics, that whatever it accepts
// re-encodes to the same bytes, and that Check agrees with it.
func FuzzDecode(f *testing.F) {
	priv := testKey(f, 1)
	r := mustRecord(f, priv, "blog", testCID(f, "pkg"), 5, t0, 0)
	good := mustEncode(f, r)
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(append(bytes.Clone(good), 0))
	w := rawFrom(f, r)
	w.channel = []byte(".x")
	f.Add(w.signed(f, priv))
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(b)
		if err != nil {
			if _, err2 := Check(NameKey(testPeer(t, priv), "blog"), b, t0); err2 == nil {
				t.Fatal("Check accepts what Decode refuses")
			}
			return
		}
		if len(b) > MaxRecordSize {
			t.Fatalf("accepted %d bytes", len(b))
		}
		b2, err := got.Encode()
		if err != nil {
			t.Fatalf("Encode of a decoded record: %v", err)
		}
		if !bytes.Equal(b, b2) {
			t.Fatalf("not canonical:\n in  %x\n out %x", b, b2)
		}
		if err := ValidateChannel(got.Channel); err != nil {
			t.Fatal(err)
		}
		if _, err := Check(got.Key(), b, got.Created); err != nil {
			t.Fatalf("Check at creation time: %v", err)
		}
		if _, err := Check(got.Key(), b, got.Expires); err == nil {
			t.Fatal("Check accepts at expiry")
		}
		if !got.Expires.After(got.Created) || got.Expires.Sub(got.Created) > MaxTTL {
			t.Fatalf("validity %s..%s", got.Created, got.Expires)
		}
	})
}

// FuzzDecodeAddr checks that DecodeAddr never panics, that whatever it
// accepts re-encodes to the same bytes and passes CheckAddr under its own
// address's key.
func FuzzDecodeAddr(f *testing.F) {
	a, err := NewAddrRecord(testKey(f, 1))
	if err != nil {
		f.Fatal(err)
	}
	good := mustEncode(f, a)
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(append(bytes.Clone(good), 0))
	f.Add([]byte{1, 0, 36})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeAddr(b)
		if err != nil {
			return
		}
		b2, err := got.Encode()
		if err != nil {
			t.Fatalf("Encode of a decoded record: %v", err)
		}
		if !bytes.Equal(b, b2) {
			t.Fatalf("not canonical:\n in  %x\n out %x", b, b2)
		}
		key, err := AddrKey(got.Address())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := CheckAddr(key, b); err != nil {
			t.Fatalf("CheckAddr under its own key: %v", err)
		}
	})
}

// FuzzValidate feeds arbitrary keys and values to both validators: they must
// not panic, and Select must only ever pick a value that Validate accepts
// (given a valid one among them).
func FuzzValidate(f *testing.F) {
	priv := testKey(f, 1)
	r := mustRecord(f, priv, "a", testCID(f, "p"), 1, t0, 0)
	a, _ := NewAddrRecord(priv)
	addrKey, _ := AddrKey(a.Address())
	f.Add(r.Key(), mustEncode(f, r))
	f.Add(addrKey, mustEncode(f, a))
	f.Add("/myco-name/", []byte{1})
	f.Add("/myco-addr/x", []byte{})
	v := Validators(func() time.Time { return t0 })
	f.Fuzz(func(t *testing.T, key string, b []byte) {
		err := v.Validate(key, b)
		i, serr := v.Select(key, [][]byte{b})
		if err == nil && (serr != nil || i != 0) {
			t.Fatalf("valid value not selected: %d, %v", i, serr)
		}
	})
}
