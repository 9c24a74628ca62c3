package node

// Backing up and moving a node: its identity exported to a file encrypted
// with a passphrase (scrypt, then NaCl secretbox), imported into another
// home; the store verified and compacted (store/verify.go).

import (
	"context"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/backup"
	"github.com/myconet/myconet/node/library"
)

// MinPassphrase is the shortest passphrase an export accepts.
const MinPassphrase = backup.MinPassphrase

// ErrPassphrase is returned when a backup does not open with the passphrase.
var ErrPassphrase = backup.ErrPassphrase

// ExportIdentity returns the identity in home sealed with passphrase, as the
// text of an identity backup file (node/backup).
func ExportIdentity(home, passphrase string) ([]byte, error) {
	if len(passphrase) < MinPassphrase {
		return backup.Seal(nil, passphrase) // the passphrase's error, before reading the key
	}
	id, err := readIdentity(filepath.Join(home, IdentityFile))
	if err != nil {
		return nil, err
	}
	return backup.Seal(id.Priv, passphrase)
}

// DecodeIdentityBackup opens an identity backup with passphrase and returns
// the identity it holds. Any damage, and a wrong passphrase, is an error;
// it never panics on bad input.
func DecodeIdentityBackup(data []byte, passphrase string) (*Identity, error) {
	priv, err := backup.Open(data, passphrase)
	if err != nil {
		return nil, err
	}
	return newIdentity(priv)
}

// ImportIdentity installs the identity of a backup into home (created if
// missing). A home that already has a different identity is refused unless
// replace is set; then the old key is kept as identity.key.bak. Stop the
// daemon first: it reads its identity once, at start.
func ImportIdentity(home string, data []byte, passphrase string, replace bool) (*Identity, error) {
	id, err := DecodeIdentityBackup(data, passphrase)
	if err != nil {
		return nil, err
	}
	current := func(path string) (peer.ID, error) {
		old, err := readIdentity(path)
		if err != nil {
			return "", err
		}
		return old.PeerID, nil
	}
	if err := backup.Install(filepath.Join(home, IdentityFile), id.Priv, replace, current, writeFileAtomic); err != nil {
		return nil, err
	}
	return id, nil
}

// readIdentity reads an existing key file (never creates one).
func readIdentity(path string) (*Identity, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return loadOrCreateIdentity(path)
}

// CompactRepo compacts the store of the node in home, which must not be
// running (store.Compact).
func CompactRepo(ctx context.Context, home string) (apitype.CompactResult, error) {
	return library.CompactRepo(ctx, filepath.Join(home, StoreFile))
}
