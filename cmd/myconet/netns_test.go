package main_test

// End-to-end tests across network namespaces (internal/netns): daemons of
// the built binary, each in its own namespace, joined by veth links the
// test creates. Root only; skipped otherwise with a one-line reason.

import (
	"strings"
	"testing"
	"time"

	"github.com/myconet/myconet/internal/netns"
)

func needNetns(t *testing.T) {
	t.Helper()
	if err := netns.Usable(); err != nil {
		t.Skip(err)
	}
}

// chain starts daemons in namespaces a–b–c (a and c linked only to b, which
// does not forward IP), a and c bootstrapping from b, and waits until b is
// connected to both.
func chain(t *testing.T, opts netns.DaemonOptions) (lab *netns.Lab, da, db, dc *netns.Daemon) {
	t.Helper()
	lab = netns.New(t)
	a, b, c := lab.NS("a"), lab.NS("b"), lab.NS("c")
	lab.Link(a, b)
	lab.Link(b, c)
	db = b.StartDaemon(bin, opts)
	opts.Bootstrap = []*netns.Daemon{db}
	da = a.StartDaemon(bin, opts)
	dc = c.StartDaemon(bin, opts)
	lab.Eventually(20*time.Second, "b to be connected to a and c", func() bool {
		ps, err := db.Peers()
		return err == nil && len(ps) == 2
	})
	return lab, da, db, dc
}

// A package added in a is fetched in c, across b: a and c cannot reach each
// other, so c finds it through b's DHT and gets it from b's replica.
func TestNetnsContentChain(t *testing.T) {
	needNetns(t)
	lab, da, db, dc := chain(t, netns.DaemonOptions{})

	// The daemons listen on their link addresses only, as told: nothing on
	// a wildcard or loopback address, and no mDNS socket (port 5353).
	for _, d := range []*netns.Daemon{da, db, dc} {
		for _, a := range d.ID.Listen {
			if !strings.HasPrefix(a, "/ip4/10.77.") {
				t.Errorf("%s listens on %s, outside its links", d.NS.Tag, a)
			}
		}
		if got := strings.TrimSpace(d.MustCLI("config", "get", "network.mdns")); got != "false" {
			t.Errorf("%s: network.mdns = %s by default", d.NS.Tag, got)
		}
		if out := d.NS.MustRun("ss", "-Hlnu"); strings.Contains(out, ":5353") {
			t.Errorf("%s has a socket on the mDNS port:\n%s", d.NS.Tag, out)
		}
	}
	if ps, err := da.Peers(); err != nil || len(ps) != 1 {
		t.Fatalf("a's peers: %v %v (want b only)", ps, err)
	}

	add := addThenGet(t, lab, da, dc, 61, 3<<20+17, "across the chain")
	// b holds it as a replica: that is where c got it from.
	if pins := db.MustCLI("pin", "ls"); !strings.Contains(pins, add.Package) || !strings.Contains(pins, "replica") {
		t.Fatalf("b does not hold a replica:\n%s", pins)
	}
}
