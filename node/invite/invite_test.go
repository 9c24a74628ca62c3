package invite

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/mr-tron/base58"
	ma "github.com/multiformats/go-multiaddr"
)

var (
	t0    = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	addrs = []ma.Multiaddr{
		ma.StringCast("/ip4/192.0.2.7/tcp/4809"),
		ma.StringCast("/ip6/2001:db8::7/udp/4809/quic-v1"),
		ma.StringCast("/ip4/198.51.100.1/tcp/4809/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo/p2p-circuit"),
	}
)

func key(t testing.TB) (crypto.PrivKey, peer.ID) {
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(k)
	return k, id
}

func TestRoundTrip(t *testing.T) {
	k, id := key(t)
	text, inv, err := New(k, addrs, DefaultTTL, 3, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, Prefix) || len(text) > 400 {
		t.Fatalf("text %d chars: %s", len(text), text)
	}
	got, err := Parse(" " + text + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if got.Peer != id || got.ID != inv.ID || !got.Expires.Equal(t0.Add(DefaultTTL)) || got.Uses != 3 || len(got.Addrs) != 3 || !got.Addrs[2].Equal(addrs[2]) {
		t.Fatalf("parsed %+v, issued %+v", got, inv)
	}
	if err := got.Check(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := got.Check(t0.Add(DefaultTTL)); !errors.Is(err, ErrExpired) {
		t.Fatalf("at expiry: %v", err)
	}
}

// TestForgedRefused: any changed byte fails the signature or the format;
// an invitation re-signed by another key for the first node's peer ID fails.
func TestForgedRefused(t *testing.T) {
	k, _ := key(t)
	text, _, err := New(k, addrs, time.Hour, 1, t0)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base58.Decode(strings.TrimPrefix(text, Prefix))
	for i := range raw {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		if _, err := Parse(Prefix + base58.Encode(b)); err == nil {
			t.Fatalf("byte %d flipped: accepted", i)
		}
	}
	// Someone else's key signing a body that names k's peer.
	other, _ := key(t)
	body := raw[:len(raw)-sigLen]
	sig, _ := other.Sign(append([]byte(sigContext), body...))
	if _, err := Parse(Prefix + base58.Encode(append(bytes.Clone(body), sig...))); !errors.Is(err, ErrSignature) {
		t.Fatalf("signed by another key: %v", err)
	}
	for _, bad := range []string{"", "mycoinv1", "hello", Prefix + "0OIl", text[:len(text)-5], text + "x", strings.Repeat("1", MaxText+1)} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%.20q…) accepted", bad)
		}
	}
}

func TestLedger(t *testing.T) {
	k, self := key(t)
	_, inv, _ := New(k, addrs, time.Hour, 2, t0)
	l := NewLedger(filepath.Join(t.TempDir(), "invites.json"))
	_, p1 := key(t)
	_, p2 := key(t)
	_, p3 := key(t)
	for _, p := range []peer.ID{p1, p1, p2} {
		if err := l.Use(inv, self, p, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Use(inv, self, p3, t0); !errors.Is(err, ErrUsedUp) {
		t.Fatalf("third node on a 2-use invitation: %v", err)
	}
	// The count survives a new ledger on the same file (a restart).
	if err := NewLedger(l.path).Use(inv, self, p3, t0); !errors.Is(err, ErrUsedUp) {
		t.Fatalf("after restart: %v", err)
	}
	if err := l.Use(inv, self, p2, t0.Add(2*time.Hour)); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	if err := l.Use(inv, p1, p3, t0); !errors.Is(err, ErrNotMine) {
		t.Fatalf("another node's invitation: %v", err)
	}
}

func TestReply(t *testing.T) {
	_, id := key(t)
	good := `{"peers":[{"id":"` + id.String() + `","addrs":["/ip4/127.0.0.1/tcp/1"]}]}`
	if _, ais, err := DecodeReply([]byte(good)); err != nil || len(ais) != 1 || ais[0].ID != id {
		t.Fatalf("%v %v", ais, err)
	}
	for _, bad := range []string{`{"peers":[{"id":"x"}]}`, `{"peers":[{"id":"` + id.String() + `","addrs":["/nope"]}]}`, `[`, ``} {
		if _, _, err := DecodeReply([]byte(bad)); err == nil {
			t.Errorf("DecodeReply(%q) accepted", bad)
		}
	}
	var buf bytes.Buffer
	if err := WriteRequest(&buf, "abc"); err != nil {
		t.Fatal(err)
	}
	if s, err := ReadRequest(&buf); err != nil || s != "abc" {
		t.Fatalf("%q %v", s, err)
	}
}

func FuzzParse(f *testing.F) {
	k, _ := key(f)
	text, _, _ := New(k, addrs, time.Hour, 1, t0)
	f.Add(text)
	f.Add(Prefix)
	f.Add(Prefix + "11111")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := Parse(s)
		if err != nil {
			return
		}
		// Whatever parses re-encodes to the same body.
		raw, _ := base58.Decode(strings.TrimPrefix(strings.TrimSpace(s), Prefix))
		if !bytes.Equal(inv.body(), raw[:len(raw)-sigLen]) {
			t.Fatalf("body does not round-trip")
		}
	})
}

func FuzzDecodeReply(f *testing.F) {
	f.Add([]byte(`{"peers":[{"id":"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo","addrs":["/ip4/127.0.0.1/tcp/1"]}]}`))
	f.Add([]byte(`{"error":"used up"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, ais, err := DecodeReply(b)
		if err == nil && len(ais) > MaxReplyPeers {
			t.Fatal("too many peers accepted")
		}
	})
}
