// Package backup seals a node's identity key into a backup file with a
// passphrase (scrypt, then NaCl secretbox), opens one, and installs an
// opened key as a home's key file.
//
// It may import node/apitype and libp2p's crypto; never node.
package backup

import (
	"bytes"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/scrypt"

	"github.com/myconet/myconet/node/apitype"
)

// Identity backup format: a PEM block of type identityPEMType whose headers
// say which peer it holds and how it is sealed, and whose bytes are
// salt (16) ‖ nonce (24) ‖ secretbox(libp2p-marshalled private key) under
// the key scrypt(passphrase, salt, N=2^log2N, r=8, p=1, 32).
const (
	identityPEMType = "MYCONET IDENTITY"
	identityKDF     = "scrypt"
	identityCipher  = "nacl-secretbox"
	scryptLog2N     = 15 // 32 MiB, about 0.1 s
	scryptMaxLog2N  = 20 // what an import accepts (1 GiB would be 22)
	// MinPassphrase is the shortest passphrase an export accepts.
	MinPassphrase = 8
)

// ErrPassphrase is returned when a backup does not open with the passphrase.
var ErrPassphrase = errors.New("wrong passphrase, or the backup was altered")

// Seal returns priv sealed with passphrase, as the text of an identity
// backup file.
func Seal(priv crypto.PrivKey, passphrase string) ([]byte, error) {
	if len(passphrase) < MinPassphrase {
		return nil, apitype.Errorf(apitype.CodeInvalid, "identity export: the passphrase needs at least %d characters", MinPassphrase)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("identity export: %w", err)
	}
	raw, err := crypto.MarshalPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("identity export: %w", err)
	}
	var salt [16]byte
	var nonce [24]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return nil, err
	}
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	key, err := backupKey(passphrase, salt[:], scryptLog2N)
	if err != nil {
		return nil, err
	}
	body := append(append(salt[:], nonce[:]...), secretbox.Seal(nil, raw, &nonce, key)...)
	return pem.EncodeToMemory(&pem.Block{
		Type: identityPEMType,
		Headers: map[string]string{
			"Peer-Id": id.String(),
			"Kdf":     identityKDF + " log2n=" + strconv.Itoa(scryptLog2N) + " r=8 p=1",
			"Cipher":  identityCipher,
		},
		Bytes: body,
	}), nil
}

// Open opens an identity backup with passphrase and returns the Ed25519 key
// it holds. Any damage, and a wrong passphrase, is an error; it never
// panics on bad input.
func Open(data []byte, passphrase string) (crypto.PrivKey, error) {
	blk, rest := pem.Decode(data)
	if blk == nil || blk.Type != identityPEMType {
		return nil, apitype.Errorf(apitype.CodeInvalid, "identity import: not a Myconet identity backup (no %q block)", identityPEMType)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, apitype.Errorf(apitype.CodeInvalid, "identity import: data after the identity block")
	}
	if blk.Headers["Cipher"] != identityCipher {
		return nil, apitype.Errorf(apitype.CodeInvalid, "identity import: unknown cipher %q", blk.Headers["Cipher"])
	}
	var log2N, r, p int
	if n, err := fmt.Sscanf(blk.Headers["Kdf"], identityKDF+" log2n=%d r=%d p=%d", &log2N, &r, &p); err != nil || n != 3 || r != 8 || p != 1 || log2N < 10 || log2N > scryptMaxLog2N {
		return nil, apitype.Errorf(apitype.CodeInvalid, "identity import: unsupported key derivation %q", blk.Headers["Kdf"])
	}
	if len(blk.Bytes) < 16+24+secretbox.Overhead {
		return nil, apitype.Errorf(apitype.CodeInvalid, "identity import: the backup is truncated")
	}
	salt, body := blk.Bytes[:16], blk.Bytes[16:]
	var nonce [24]byte
	copy(nonce[:], body[:24])
	key, err := backupKey(passphrase, salt, log2N)
	if err != nil {
		return nil, err
	}
	raw, ok := secretbox.Open(nil, body[24:], &nonce, key)
	if !ok {
		return nil, apitype.Wrap(apitype.CodeInvalid, fmt.Errorf("identity import: %w", ErrPassphrase))
	}
	priv, err := crypto.UnmarshalPrivateKey(raw)
	if err != nil {
		return nil, apitype.Errorf(apitype.CodeInvalid, "identity import: the sealed key is not a key: %v", err)
	}
	if priv.Type() != crypto.Ed25519 {
		return nil, apitype.Errorf(apitype.CodeInvalid, "identity import: a %s key, want Ed25519", priv.Type())
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return nil, apitype.Errorf(apitype.CodeInvalid, "identity import: %v", err)
	}
	if want := blk.Headers["Peer-Id"]; want != "" && want != id.String() {
		return nil, apitype.Errorf(apitype.CodeInvalid, "identity import: the backup says peer %s but holds %s", want, id)
	}
	return priv, nil
}

func backupKey(passphrase string, salt []byte, log2N int) (*[32]byte, error) {
	k, err := scrypt.Key([]byte(passphrase), salt, 1<<log2N, 8, 1, 32)
	if err != nil {
		return nil, fmt.Errorf("identity: scrypt: %w", err)
	}
	var key [32]byte
	copy(key[:], k)
	return &key, nil
}

// Install writes priv as the key file at path (its directory created if
// missing). A file that already holds a different key is refused unless
// replace is set; then the old key is kept as path.bak. current reads the
// peer of an existing key file (an error wrapping os.ErrNotExist when there
// is none); write writes a file atomically.
func Install(path string, priv crypto.PrivKey, replace bool, current func(path string) (peer.ID, error), write func(path string, data []byte, perm os.FileMode) error) error {
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return fmt.Errorf("identity import: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("identity import: %w", err)
	}
	name := filepath.Base(path)
	if old, err := current(path); err == nil {
		if old == id {
			return nil // already this identity
		}
		if !replace {
			return apitype.Errorf(apitype.CodeInvalid, "identity import: %s already holds peer %s (use --force to replace it; the old key is kept as %s.bak)", filepath.Dir(path), old, name)
		}
		oldRaw, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("identity import: %w", err)
		}
		if err := write(path+".bak", oldRaw, 0o600); err != nil {
			return fmt.Errorf("identity import: keep the old key: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) && !replace {
		return fmt.Errorf("identity import: %w (use --force to overwrite)", err)
	}
	raw, err := crypto.MarshalPrivateKey(priv)
	if err != nil {
		return err
	}
	if err := write(path, raw, 0o600); err != nil {
		return fmt.Errorf("identity import: %w", err)
	}
	return nil
}
