package node_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
)

func TestIdentityBackupRoundTrip(t *testing.T) {
	home := t.TempDir()
	if _, err := node.Init(home); err != nil {
		t.Fatal(err)
	}
	if _, err := node.ExportIdentity(home, "short"); apitype.CodeOf(err) != apitype.CodeInvalid {
		t.Fatalf("short passphrase: %v", err)
	}
	data, err := node.ExportIdentity(home, "a good passphrase")
	if err != nil {
		t.Fatal(err)
	}
	id, err := node.DecodeIdentityBackup(data, "a good passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "Peer-Id: "+id.PeerID.String()) {
		t.Fatalf("backup header:\n%s", data)
	}
	if _, err := node.DecodeIdentityBackup(data, "a bad passphrase"); !errors.Is(err, node.ErrPassphrase) {
		t.Fatalf("bad passphrase: %v", err)
	}
	// A forged header naming another peer is caught.
	forged := bytes.Replace(data, []byte(id.PeerID.String()), []byte("12D3KooWEwbHn7Lq1vFPzGrTpDYzJ2cnEU9a9Jv5i6ZU5NZ5Wbak"), 1)
	if _, err := node.DecodeIdentityBackup(forged, "a good passphrase"); err == nil {
		t.Fatal("forged Peer-Id accepted")
	}
	// Into a new home, then idempotent.
	other := t.TempDir()
	for range 2 {
		got, err := node.ImportIdentity(other, data, "a good passphrase", false)
		if err != nil || got.PeerID != id.PeerID {
			t.Fatalf("import: %v %v", got, err)
		}
	}
}

func FuzzDecodeIdentityBackup(f *testing.F) {
	home := f.TempDir()
	if _, err := node.Init(home); err != nil {
		f.Fatal(err)
	}
	good, err := node.ExportIdentity(home, "fuzz passphrase")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("-----BEGIN MYCONET IDENTITY-----\nKdf: scrypt log2n=40 r=8 p=1\nCipher: nacl-secretbox\n\nAAAA\n-----END MYCONET IDENTITY-----\n"))
	f.Add([]byte("-----BEGIN MYCONET IDENTITY-----\nKdf: scrypt log2n=10 r=8 p=1\nCipher: nacl-secretbox\n\nAAAA\n-----END MYCONET IDENTITY-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := node.DecodeIdentityBackup(data, "fuzz passphrase")
		if err == nil && id == nil {
			t.Fatal("nil identity without an error")
		}
		if err != nil && apitype.CodeOf(err) != apitype.CodeInvalid {
			t.Fatalf("error without the invalid code: %v", err)
		}
	})
}
