package netns

import (
	"strings"
	"testing"
)

// TestNATLab: a host behind each kind of router reaches a public node, and
// the public node cannot reach into the LANs (no route); the host's packets
// arrive from its router's public address.
func TestNATLab(t *testing.T) {
	if err := NATUsable(); err != nil {
		t.Skip(err)
	}
	nl := NewNATLab(t, 1)
	p := nl.Public[0]
	pAddr := p.Addrs()[0]
	for i, nat := range []NATType{FullCone, PortRestricted, Symmetric} {
		h, pub := nl.Behind(string(rune('a'+i)), nat)
		if out, err := h.Run("ping", "-c", "1", "-W", "2", pAddr.String()); err != nil {
			t.Fatalf("%s: the host cannot reach the public node: %v %s", nat, err, out)
		}
		if _, err := p.Run("ping", "-c", "1", "-W", "1", h.Addrs()[0].String()); err == nil {
			t.Fatalf("%s: the public node reached into the LAN", nat)
		}
		// The router translated: its conntrack table holds the host's flow
		// with the router's public address as the reply destination.
		rt := nl.NSByTag("r" + h.Tag)
		out, err := rt.Run("cat", "/proc/net/nf_conntrack")
		if err == nil && !strings.Contains(out, "dst="+pub.String()) {
			t.Errorf("%s: no translated flow in the router's conntrack:\n%s", nat, out)
		}
	}
}
