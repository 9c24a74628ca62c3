package names

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/routing"

	"github.com/myconet/myconet/overlay"
)

var hostT0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func hostAddr(t testing.TB, seed uint64) netip.Addr {
	k := testKey(t, seed)
	b, _ := marshalPublicKey(k.GetPublic())
	return overlay.AddressFromKey(b)
}

func TestHostRecord(t *testing.T) {
	k := testKey(t, 1)
	id := testPeer(t, k)
	addr := hostAddr(t, 2)
	r, err := NewHostRecord(k, "www", addr, 3, hostT0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b := mustEncode(t, r)
	key := HostKey(id, "www")
	got, err := CheckHost(key, b, hostT0.Add(time.Minute))
	if err != nil || got.Addr != addr || got.Name != "www" || got.Seq != 3 || got.PeerID() != id {
		t.Fatalf("%+v %v", got, err)
	}
	if again := mustEncode(t, got); !bytes.Equal(again, b) {
		t.Fatal("re-encoding differs")
	}
	// Stale, future, moved to another name or another publisher, forged.
	if _, err := CheckHost(key, b, hostT0.Add(time.Hour)); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: %v", err)
	}
	if _, err := CheckHost(key, b, hostT0.Add(-time.Hour)); !errors.Is(err, ErrFuture) {
		t.Errorf("future: %v", err)
	}
	if _, err := CheckHost(HostKey(id, "mail"), b, hostT0); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("other name: %v", err)
	}
	other := testPeer(t, testKey(t, 3))
	if _, err := CheckHost(HostKey(other, "www"), b, hostT0); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("other publisher: %v", err)
	}
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x20
		if _, err := CheckHost(key, c, hostT0); err == nil {
			t.Fatalf("byte %d changed: accepted", i)
		}
	}
	for _, bad := range []string{"", "-a", "a-", "A", "a.b", "a_b", string(make([]byte, 64))} {
		if _, err := NewHostRecord(k, bad, addr, 1, hostT0, time.Hour); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	if _, err := NewHostRecord(k, "www", netip.MustParseAddr("2001:db8::1"), 1, hostT0, time.Hour); err == nil {
		t.Error("an address outside the overlay accepted")
	}
	// Select: the higher sequence number, then the later record.
	r2, _ := NewHostRecord(k, "www", hostAddr(t, 4), 4, hostT0, time.Hour)
	r3, _ := NewHostRecord(k, "www", hostAddr(t, 5), 4, hostT0.Add(time.Second), time.Hour)
	v := HostValidator{Now: func() time.Time { return hostT0 }}
	if i, err := v.Select(key, [][]byte{b, mustEncode(t, r2), mustEncode(t, r3), []byte("junk")}); err != nil || i != 2 {
		t.Fatalf("select %d %v", i, err)
	}
	if err := v.Validate(key, b); err != nil {
		t.Fatal(err)
	}
}

func FuzzDecodeHost(f *testing.F) {
	k := testKey(f, 1)
	r, _ := NewHostRecord(k, "www", hostAddr(f, 2), 1, hostT0, time.Hour)
	b, _ := r.Encode()
	f.Add(b)
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeHost(b)
		if err != nil {
			return
		}
		again, err := r.Encode()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted bytes do not re-encode: %v", err)
		}
	})
}

// mapRouting is a value store that serves what it holds, unchecked, as a
// DHT node may serve a record past its expiry until its sweep.
type mapRouting map[string][]byte

func (m mapRouting) PutValue(ctx context.Context, k string, v []byte, _ ...routing.Option) error {
	m[k] = v
	return nil
}

func (m mapRouting) GetValue(ctx context.Context, k string, _ ...routing.Option) ([]byte, error) {
	if v, ok := m[k]; ok {
		return v, nil
	}
	return nil, routing.ErrNotFound
}

// TestResolveHostStale: a record served after its expiry, or forged, is
// refused, and a missing one is ErrNotFound.
func TestResolveHostStale(t *testing.T) {
	k := testKey(t, 1)
	id := testPeer(t, k)
	r := mapRouting{}
	if _, err := PublishHost(context.Background(), r, k, "www", hostAddr(t, 2), 1, time.Hour, hostT0); err != nil {
		t.Fatal(err)
	}
	if got, err := ResolveHost(context.Background(), r, id, "www", hostT0.Add(time.Minute)); err != nil || got.Addr != hostAddr(t, 2) {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := ResolveHost(context.Background(), r, id, "www", hostT0.Add(2*time.Hour)); !errors.Is(err, ErrExpired) {
		t.Fatalf("stale: %v", err)
	}
	if _, err := ResolveHost(context.Background(), r, id, "mail", hostT0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	// A DHT node that serves, under the publisher's name, a record signed by
	// another key (its own "www", or the publisher's own record for another
	// name) is not believed.
	other := testKey(t, 3)
	forged, err := NewHostRecord(other, "www", hostAddr(t, 4), 9, hostT0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r[HostKey(id, "www")] = mustEncode(t, forged)
	if _, err := ResolveHost(context.Background(), r, id, "www", hostT0); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("forged by another key: %v", err)
	}
	if _, err := PublishHost(context.Background(), r, k, "mail", hostAddr(t, 4), 1, time.Hour, hostT0); err != nil {
		t.Fatal(err)
	}
	r[HostKey(id, "www")] = r[HostKey(id, "mail")]
	if _, err := ResolveHost(context.Background(), r, id, "www", hostT0); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("the publisher's mail record served as www: %v", err)
	}
}
