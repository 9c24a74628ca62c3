package node_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
)

// TestRunGroupAccess: with GroupAccess the API address and token files are
// 0640 (the operator group of a system service reads them); without it they
// are, and go back to, 0600.
func TestRunGroupAccess(t *testing.T) {
	n := newTestNode(t)
	mode := func(name string) os.FileMode {
		fi, err := os.Stat(filepath.Join(n.Home(), name))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	_, _, stop := startRun(t, n, node.RunOptions{APIAddr: "127.0.0.1:0", GatewayAddr: "none", GroupAccess: true})
	if mode(apitype.TokenFile) != 0o640 || mode(apitype.APIFile) != 0o640 {
		t.Fatalf("group access: token %v, api %v", mode(apitype.TokenFile), mode(apitype.APIFile))
	}
	stop()
	startRun(t, n, node.RunOptions{APIAddr: "127.0.0.1:0", GatewayAddr: "none"})
	if mode(apitype.TokenFile) != 0o600 || mode(apitype.APIFile) != 0o600 {
		t.Fatalf("default: token %v, api %v", mode(apitype.TokenFile), mode(apitype.APIFile))
	}
}
