package node_test

import (
	"context"
	"slices"
	"testing"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/nodetest"
)

// TestFirewallDenyAfterAllow is issue 10, item 24: a deny for one address
// added after an allow for everyone applies, and the firewall, the running
// router and the config all list the rules in the order they apply.
func TestFirewallDenyAfterAllow(t *testing.T) {
	net := nodetest.New(t, 1, nodetest.Options{})
	n := net.Nodes[0]
	ctx := context.Background()
	for _, r := range []string{"allow tcp 8000", "deny tcp 8000 from fd6d:7963::1", "ALLOW tcp 22 from fd6d:7963::/32", "deny tcp 22"} {
		if _, err := n.FirewallAdd(ctx, r); err != nil {
			t.Fatalf("add %q: %v", r, err)
		}
	}
	want := []string{"allow tcp 22 from fd6d:7963::/32", "deny tcp 22", "deny tcp 8000 from fd6d:7963::1", "allow tcp 8000"}
	fw, err := n.Firewall(ctx)
	if err != nil || !slices.Equal(fw.Rules, want) {
		t.Fatalf("firewall ls %q, %v; want %q", fw.Rules, err, want)
	}
	var live []string
	for _, r := range node.OverlayRules(n) {
		live = append(live, r.String())
	}
	if !slices.Equal(live, want) {
		t.Fatalf("router rules %q, want %q", live, want)
	}
	if v, _ := n.ConfigGet(ctx, "overlay.firewall"); v != "allow tcp 22 from fd6d:7963::/32,deny tcp 22,deny tcp 8000 from fd6d:7963::1,allow tcp 8000" {
		t.Fatalf("config overlay.firewall = %q", v)
	}
	if !node.OverlayAllowsTCP(n, "fd6d:7963::2", 8000) || node.OverlayAllowsTCP(n, "fd6d:7963::1", 8000) {
		t.Errorf("port 8000: want open to everyone but fd6d:7963::1")
	}
	if !node.OverlayAllowsTCP(n, "fd6d:7963::1", 22) || node.OverlayAllowsTCP(n, "fd6d:7964::1", 22) {
		t.Errorf("port 22: want open to fd6d:7963::/32 only")
	}
}
