package namesvc

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/node/apitype"
)

func newTestService(t *testing.T) *Service {
	t.Helper()
	priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{
		Home: t.TempDir(), Priv: priv, Now: time.Now, Logger: slog.New(slog.DiscardHandler),
		WriteFile: func(path string, data []byte, perm os.FileMode) error { return os.WriteFile(path, data, perm) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOffline: petnames work without the network; published names and
// names of other nodes say that they need the daemon.
func TestOffline(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	_, pub, _ := crypto.GenerateEd25519Key(rand.Reader)
	id, _ := peer.IDFromPublicKey(pub)
	want, ok := peerAddr(id)
	if !ok {
		t.Fatal("no address for an Ed25519 peer")
	}
	if _, err := s.Set(ctx, "Laptop", id.String()); err != nil {
		t.Fatal(err)
	}
	got, err := s.Resolve(ctx, "laptop.myco.")
	if err != nil || got.Addr != want.String() || got.Kind != "petname" {
		t.Fatalf("resolve: %+v, %v", got, err)
	}
	info, err := s.Names(ctx)
	if err != nil || len(info.Petnames) != 1 || info.DNS != "" || info.Self != PeerDNSLabel(s.self)+".myco" {
		t.Fatalf("names: %+v, %v", info, err)
	}
	if _, err := s.Publish(ctx, "www", ""); apitype.CodeOf(err) != apitype.CodeNoDaemon {
		t.Fatalf("publish offline: %v", err)
	}
	if _, err := s.Resolve(ctx, "www."+id.String()+".myco"); apitype.CodeOf(err) != apitype.CodeNoDaemon {
		t.Fatalf("a published name offline: %v", err)
	}
	if err := s.Remove(ctx, "laptop"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve(ctx, "laptop"); apitype.CodeOf(err) != apitype.CodeNotFound {
		t.Fatalf("removed petname: %v", err)
	}
}

// TestDamagedFile: a damaged petnames.json is reported in one line and
// left as it was.
func TestDamagedFile(t *testing.T) {
	s := newTestService(t)
	path := filepath.Join(s.home, petnamesFile)
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, pub, _ := crypto.GenerateEd25519Key(rand.Reader)
	id, _ := peer.IDFromPublicKey(pub)
	if _, err := s.Set(context.Background(), "laptop", id.String()); apitype.CodeOf(err) != apitype.CodeCorrupt {
		t.Fatalf("set over a damaged file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "{not json" {
		t.Fatalf("the damaged file changed: %q", b)
	}
}
