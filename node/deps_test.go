package node

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportGraph enforces the dependency rules of docs/ARCHITECTURE.md.
func TestImportGraph(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the go command")
	}
	rules := []struct {
		pkg       string
		forbidden []string
	}{
		{"mri", []string{"github.com/libp2p/", "go.etcd.io/bbolt", "github.com/ipfs/boxo", "github.com/myconet/myconet/node", "github.com/myconet/myconet/store"}},
		{"metadata", []string{"github.com/libp2p/", "go.etcd.io/bbolt", "github.com/ipfs/boxo", "github.com/myconet/myconet/node", "github.com/myconet/myconet/store"}},
		{"search", []string{"github.com/libp2p/", "go.etcd.io/bbolt", "github.com/ipfs/boxo", "github.com/myconet/myconet/node", "github.com/myconet/myconet/store"}},
		{"moderation", []string{"github.com/libp2p/", "go.etcd.io/bbolt", "github.com/ipfs/boxo", "github.com/myconet/myconet/node", "github.com/myconet/myconet/store"}},
		{"store", []string{"github.com/libp2p/", "github.com/ipfs/boxo", "github.com/myconet/myconet/node", "github.com/myconet/myconet/metadata"}},
		{"node/content", []string{"github.com/myconet/myconet/node\n", "github.com/myconet/myconet/metadata"}},
	}
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-deps", "github.com/myconet/myconet/"+r.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", r.pkg, err, out)
		}
		deps := string(out)
		for _, f := range r.forbidden {
			if strings.Contains(deps, f) {
				t.Errorf("%s must not import %s", r.pkg, strings.TrimSpace(f))
			}
		}
	}
}
