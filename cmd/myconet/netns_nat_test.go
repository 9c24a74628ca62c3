package main_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/myconet/myconet/internal/netns"
	"github.com/myconet/myconet/node/apitype"
)

// bootArgs bootstraps from the public daemon d's TCP and QUIC multiaddrs
// on the lab's WAN.
func bootArgs(d *netns.Daemon) []string {
	a := d.NS.Addrs()[0]
	return []string{
		"--bootstrap", fmt.Sprintf("/ip4/%s/tcp/%d/p2p/%s", a, netns.Port, d.ID.PeerID),
		"--bootstrap", fmt.Sprintf("/ip4/%s/udp/%d/quic-v1/p2p/%s", a, netns.Port, d.ID.PeerID),
	}
}

// pathKind shortens "relayed via <id>".
func pathKind(p string) string {
	if strings.HasPrefix(p, "relayed") {
		return "relayed"
	}
	return p
}

// peerPath is the path d reports to peer in `myconet peers`.
func peerPath(d *netns.Daemon, peer string) string {
	var ps struct{ Peers []apitype.PeerInfo }
	if err := d.CLIJSON(&ps, "peers"); err != nil {
		return ""
	}
	for _, p := range ps.Peers {
		if p.ID == peer {
			return p.Path
		}
	}
	return ""
}

// startPublic starts a daemon in each of nl's public namespaces, all
// bootstrapping from the first.
func startPublic(nl *netns.NATLab) []*netns.Daemon {
	var pubs []*netns.Daemon
	for i, p := range nl.Public {
		o := netns.DaemonOptions{}
		if i > 0 {
			o.Args = bootArgs(pubs[0])
		}
		pubs = append(pubs, p.StartDaemon(bin, o))
	}
	return pubs
}

// logLines logs the lines of d's log that contain any of words (the last 40).
func logLines(t *testing.T, d *netns.Daemon, words ...string) {
	var keep []string
	for _, line := range strings.Split(d.Proc.Output(), "\n") {
		for _, w := range words {
			if strings.Contains(line, w) {
				keep = append(keep, line)
				break
			}
		}
	}
	t.Logf("%s's log (%s):\n%s", d.NS.Tag, strings.Join(words, ", "), strings.Join(keep[max(0, len(keep)-40):], "\n"))
}

// startPair starts daemons a<n> and b<n> behind NATs of types na and nb,
// both bootstrapping from the public daemon boot only.
func startPair(nl *netns.NATLab, boot *netns.Daemon, n int, na, nb netns.NATType) (da, db *netns.Daemon) {
	ha, _ := nl.Behind(fmt.Sprintf("a%d", n), na)
	hb, _ := nl.Behind(fmt.Sprintf("b%d", n), nb)
	o := netns.DaemonOptions{Args: bootArgs(boot)}
	return ha.StartDaemon(bin, o), hb.StartDaemon(bin, o)
}

// TestNetnsNAT: two nodes behind home routers (nftables masquerade), which
// know only one of four public nodes, reach each other over the overlay
// through a relay, and go direct by hole punching where the NATs allow it.
// MYCONET_NAT_TRIES=N repeats each pair N times and logs the success rate
// and times (the per-pair table of docs/ARCHITECTURE.md);
// MYCONET_NAT_ONLY=symmetric-symmetric runs one pair; MYCONET_NAT_MATRIX=1 adds
// full cone ↔ full cone, full cone ↔ port restricted and port restricted ↔
// symmetric.
func TestNetnsNAT(t *testing.T) {
	if err := netns.NATUsable(); err != nil {
		t.Skip(err)
	}
	if testing.Short() {
		t.Skip("the NAT lab takes a minute; not in -short")
	}
	tries := 1
	if s := os.Getenv("MYCONET_NAT_TRIES"); s != "" {
		tries, _ = strconv.Atoi(s)
	}
	nl := netns.NewNATLab(t, 4)
	pubs := startPublic(nl)
	pairs := []struct {
		a, b   netns.NATType
		direct bool // hole punching can work
	}{
		{netns.PortRestricted, netns.PortRestricted, true},
		{netns.FullCone, netns.Symmetric, true},
		{netns.Symmetric, netns.Symmetric, false},
	}
	if os.Getenv("MYCONET_NAT_MATRIX") != "" { // the other pairs, for the table
		pairs = append(pairs, []struct {
			a, b   netns.NATType
			direct bool
		}{
			{netns.FullCone, netns.FullCone, true},
			{netns.FullCone, netns.PortRestricted, true},
			{netns.PortRestricted, netns.Symmetric, false},
		}...)
	}
	if os.Getenv("MYCONET_NAT_DEBUG") != "" {
		pairs = pairs[:1]
	}
	if only := os.Getenv("MYCONET_NAT_ONLY"); only != "" { // "symmetric-symmetric"
		pairs = slices.DeleteFunc(pairs, func(p struct {
			a, b   netns.NATType
			direct bool
		}) bool {
			return string(p.a)+"-"+string(p.b) != only
		})
	}
	n := 0
	for _, pr := range pairs {
		var ok int
		var times []string
		for range tries {
			n++
			da, db := startPair(nl, pubs[0], n, pr.a, pr.b)
			start := time.Now()
			var last string
			replied := false
			for time.Since(start) < 60*time.Second && !replied {
				out, err := da.CLI("ping", "-c", "1", "-W", "3s", db.ID.Address)
				last = fmt.Sprint(out, err)
				replied = err == nil
			}
			first := time.Since(start)
			if !replied { // record it and go on: one try must not end a long run
				t.Errorf("%s→%s: no ping reply from b within 60 s: %s", pr.a, pr.b, last)
				logLines(t, da, "resolve", "overlay", "relay")
				times = append(times, "no reply in 60 s")
				da.Proc.Stop()
				db.Proc.Stop()
				continue
			}
			deadline := time.Now().Add(30 * time.Second)
			path := ""
			for time.Now().Before(deadline) {
				path = peerPath(da, db.ID.PeerID)
				if path == "direct" || path == "hole-punched" {
					break
				}
				da.CLI("ping", "-c", "1", "-W", "2s", db.ID.Address)
				time.Sleep(500 * time.Millisecond)
			}
			direct := path == "direct" || path == "hole-punched"
			if !direct && pr.direct && os.Getenv("MYCONET_NAT_DEBUG") != "" {
				id, _ := da.CLI("id")
				peers, _ := da.CLI("peers")
				t.Logf("a's id:\n%s\na's peers:\n%s", id, peers)
				idb, _ := db.CLI("id")
				t.Logf("b's id:\n%s", idb)
				for _, d := range []*netns.Daemon{da, db} {
					for _, line := range strings.Split(d.Proc.Output(), "\n") {
						if strings.Contains(line, "hole punch") {
							t.Logf("%s: %s", d.NS.Tag, line)
						}
					}
				}
			}
			took := "-"
			if direct {
				ok++
				took = time.Since(start).Round(100 * time.Millisecond).String()
			}
			times = append(times, fmt.Sprintf("first reply %v, %s after %s", first.Round(100*time.Millisecond), pathKind(path), took))
			if _, err := da.CLI("ping", "-c", "1", "-W", "3s", db.ID.Address); err != nil {
				t.Errorf("%s→%s: no reply after the path settled (%s): %v", pr.a, pr.b, path, err)
			}
			if tries == 1 && !pr.direct && direct {
				t.Errorf("%s→%s: went %s, which these NATs should not allow", pr.a, pr.b, path)
			}
			if tries == 1 && pr.direct && !direct {
				t.Errorf("%s→%s: still %s after 30 s", pr.a, pr.b, path)
			}
			if t.Failed() {
				t.Logf("last ping: %s", last)
			}
			da.Proc.Stop()
			db.Proc.Stop()
		}
		t.Logf("%s → %s: %d of %d direct within 30 s; %s", pr.a, pr.b, ok, tries, strings.Join(times, "; "))
	}
}
