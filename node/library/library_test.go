package library_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/library"
	"github.com/myconet/myconet/store"
)

// newService opens a store in a temporary directory and its library, with
// hooks that record what the library tells the rest of the node.
func newService(t *testing.T, opt library.Options) (*library.Service, *store.DB) {
	t.Helper()
	db, err := store.Open(store.Config{Path: filepath.Join(t.TempDir(), "store.db"), Links: library.BlockLinks, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if opt.Key == nil {
		_, opt.Key, _ = ed25519.GenerateKey(nil)
	}
	return library.New(db, opt), db
}

// TestLibraryOnItsOwn drives the service without a node: add, read, pin,
// unpin, GC, and the hooks it calls.
func TestLibraryOnItsOwn(t *testing.T) {
	ctx := t.Context()
	var changed, withheldAsked int
	var withhold cid.Cid
	s, db := newService(t, library.Options{
		Changed: func(...cid.Cid) { changed++ },
		Withheld: func(_ context.Context, c cid.Cid) error {
			withheldAsked++
			if c.Equals(withhold) {
				return apitype.Errorf(apitype.CodeWithheld, "withheld by a test")
			}
			return nil
		},
		Added: func(cid.Cid) { t.Error("Added called offline") },
	})
	dir := t.TempDir()
	file := filepath.Join(dir, "hello.txt")
	if err := os.WriteFile(file, []byte("hello, library"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := s.Add(ctx, apitype.AddRequest{Path: file, Title: "Hello"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if changed == 0 {
		t.Error("Add did not tell search")
	}
	info, err := s.Info(ctx, res.MRI)
	if err != nil || info.Meta.Title != "Hello" || !info.SignatureValid || info.Name != "hello.txt" {
		t.Fatalf("info: %+v %v", info, err)
	}
	var out bytes.Buffer
	if err := s.Cat(ctx, res.MRI, &out); err != nil || out.String() != "hello, library" {
		t.Fatalf("cat: %q %v", out.String(), err)
	}
	if withheldAsked == 0 {
		t.Error("reads did not ask the withheld check")
	}
	m, _ := mri.Parse(res.MRI)
	withhold = m.Root
	if err := s.Cat(ctx, res.MRI, &out); !errors.Is(err, apitype.ErrWithheld) {
		t.Fatalf("cat of a withheld package: %v", err)
	}
	withhold = cid.Undef
	if ok, err := s.Have(m.Root); !ok || err != nil {
		t.Fatalf("Have after add: %v %v", ok, err)
	}
	if err := s.Unpin(ctx, res.MRI, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GC(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := db.Has(m.Root); ok {
		t.Fatal("the package root outlived unpin and GC")
	}
	// Offline, a package not held is not found, and says why.
	err = s.EnsureLocal(ctx, m.Root, store.ReasonCache, nil)
	if !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("offline fetch: %v", err)
	}
	if _, err := s.Providers(ctx, res.MRI); !errors.Is(err, apitype.ErrNoDaemon) {
		t.Fatalf("offline providers: %v", err)
	}
	q, err := s.Quota()
	if err != nil || q.PinsCount != 0 || q.Packages != 0 {
		t.Fatalf("quota after GC: %+v %v", q, err)
	}
}

// TestStopNetworkWithoutStart: stopping a library never attached, or twice,
// is harmless.
func TestStopNetworkWithoutStart(t *testing.T) {
	s, _ := newService(t, library.Options{})
	s.StopNetwork()
	s.StopNetwork()
	if s.Online() {
		t.Fatal("online without a network")
	}
}
