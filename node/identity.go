package node

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/internal/p2px"
	"github.com/myconet/myconet/overlay"
)

// Identity is the node's Ed25519 key pair and what derives from it.
type Identity struct {
	Priv    crypto.PrivKey
	PeerID  peer.ID
	Address netip.Addr
	pubRaw  []byte // marshalled public key
}

// loadOrCreateIdentity reads the key file, or creates it (mode 0600) when absent.
func loadOrCreateIdentity(path string) (*Identity, error) {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		priv, _, err := crypto.GenerateEd25519Key(nil)
		if err != nil {
			return nil, fmt.Errorf("identity: generate key: %w", err)
		}
		b, err := crypto.MarshalPrivateKey(priv)
		if err != nil {
			return nil, fmt.Errorf("identity: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("identity: %w", err)
		}
		if _, err := f.Write(b); err != nil {
			f.Close()
			return nil, fmt.Errorf("identity: write %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("identity: write %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("identity: write %s: %w", path, err)
		}
		return newIdentity(priv)
	case err != nil:
		return nil, fmt.Errorf("identity: %w", err)
	}
	priv, err := crypto.UnmarshalPrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("identity: %s is not a valid key file: %w", path, err)
	}
	if priv.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("identity: %s holds a %s key, want Ed25519", path, priv.Type())
	}
	return newIdentity(priv)
}

func newIdentity(priv crypto.PrivKey) (*Identity, error) {
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	pub, err := crypto.MarshalPublicKey(priv.GetPublic())
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	return &Identity{Priv: priv, PeerID: id, Address: overlay.AddressFromKey(pub), pubRaw: pub}, nil
}

// Ed25519 returns the key in crypto/ed25519 form, for signing packages.
func (id *Identity) Ed25519() ed25519.PrivateKey {
	raw, _ := id.Priv.Raw() // Ed25519 raw form is seed||public, as crypto/ed25519 expects
	return ed25519.PrivateKey(raw)
}

// Info returns the public identity as the API shows it.
func (id *Identity) Info() apitype.IDInfo {
	return apitype.IDInfo{
		PeerID:    id.PeerID.String(),
		Address:   id.Address.String(),
		PublicKey: base64.StdEncoding.EncodeToString(id.pubRaw),
	}
}

// PeerIDFromEd25519 converts a raw Ed25519 public key (as packages carry it) to
// a peer ID string; "" if the key is malformed.
func PeerIDFromEd25519(pub []byte) string { return p2px.PeerIDFromEd25519(pub).String() }

// LoadIdentity creates the home if needed and returns its identity (for
// harnesses that must build a libp2p host from the node's key before New).
func LoadIdentity(home string) (*Identity, error) {
	home, err := Init(home)
	if err != nil {
		return nil, err
	}
	return loadOrCreateIdentity(filepath.Join(home, IdentityFile))
}
