package p2px

import (
	"crypto/ed25519"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

func TestPeerIDFromEd25519(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := crypto.UnmarshalEd25519PublicKey(pub)
	want, _ := peer.IDFromPublicKey(k)
	if got := PeerIDFromEd25519(pub); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if got := PeerIDFromEd25519(pub[:5]); got != "" || got.String() != "" {
		t.Fatalf("a malformed key gave %q", got)
	}
}

func TestIsRelayed(t *testing.T) {
	direct := ma.StringCast("/ip4/127.0.0.1/tcp/4001")
	relayed := ma.StringCast("/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit")
	if IsRelayed(direct) || !IsRelayed(relayed) {
		t.Fatal("IsRelayed is wrong")
	}
	if HasDirectConn(nil) {
		t.Fatal("no connections are not a direct one")
	}
}
