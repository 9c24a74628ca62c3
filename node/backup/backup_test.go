package backup_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/backup"
)

// keyFile reads the peer of a key file written by Install.
func keyFile(path string) (peer.ID, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	priv, err := crypto.UnmarshalPrivateKey(data)
	if err != nil {
		return "", err
	}
	return peer.IDFromPrivateKey(priv)
}

func write(path string, data []byte, perm os.FileMode) error { return os.WriteFile(path, data, perm) }

func newKey(t *testing.T) (crypto.PrivKey, peer.ID) {
	t.Helper()
	priv, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(priv)
	return priv, id
}

func TestSealOpen(t *testing.T) {
	priv, _ := newKey(t)
	if _, err := backup.Seal(priv, "short"); apitype.CodeOf(err) != apitype.CodeInvalid {
		t.Fatalf("short passphrase: %v", err)
	}
	data, err := backup.Seal(priv, "a good passphrase")
	if err != nil {
		t.Fatal(err)
	}
	got, err := backup.Open(data, "a good passphrase")
	if err != nil || !got.Equals(priv) {
		t.Fatalf("open: %v", err)
	}
	if _, err := backup.Open(data, "another passphrase"); !errors.Is(err, backup.ErrPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
}

// TestInstall: a home with another key is refused without replace; with
// replace the old key is kept beside as .bak; installing the same key twice
// is a no-op.
func TestInstall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "home", "identity.key")
	a, aID := newKey(t)
	b, bID := newKey(t)
	for range 2 {
		if err := backup.Install(path, a, false, keyFile, write); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := keyFile(path); got != aID {
		t.Fatalf("installed %s, want %s", got, aID)
	}
	if err := backup.Install(path, b, false, keyFile, write); apitype.CodeOf(err) != apitype.CodeInvalid {
		t.Fatalf("replacing without replace: %v", err)
	}
	if got, _ := keyFile(path); got != aID {
		t.Fatal("a refused install changed the key")
	}
	if err := backup.Install(path, b, true, keyFile, write); err != nil {
		t.Fatal(err)
	}
	if got, _ := keyFile(path); got != bID {
		t.Fatalf("replaced key is %s, want %s", got, bID)
	}
	if old, _ := keyFile(path + ".bak"); old != aID {
		t.Fatalf("old key kept as %s, want %s", old, aID)
	}
}

// FuzzOpen: no input panics Open, and whatever opens is an Ed25519 key.
func FuzzOpen(f *testing.F) {
	priv, _, _ := crypto.GenerateEd25519Key(nil)
	good, err := backup.Seal(priv, "fuzz passphrase")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("-----BEGIN MYCONET IDENTITY-----\nKdf: scrypt log2n=10 r=8 p=1\nCipher: nacl-secretbox\n\nAAAA\n-----END MYCONET IDENTITY-----\n"))
	f.Add([]byte("not a backup"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := backup.Open(data, "fuzz passphrase")
		if err == nil && k.Type() != crypto.Ed25519 {
			t.Fatalf("opened a %s key", k.Type())
		}
	})
}
