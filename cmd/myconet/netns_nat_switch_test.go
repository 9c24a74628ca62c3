package main_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/myconet/myconet/internal/netns"
)

// TestNetnsNATSwitch: over the overlay's TUN, between two hosts behind NATs
// that know only one public node, (1) a TCP connection opened while the path
// is relayed keeps running, every byte in order and no reset, while hole
// punching moves the overlay's stream to the direct connection; (2) bulk TCP
// throughput direct and relayed (behind symmetric NATs on both sides, where
// punching cannot work) is logged, not asserted.
func TestNetnsNATSwitch(t *testing.T) {
	if err := netns.NATUsable(); err != nil {
		t.Skip(err)
	}
	if testing.Short() {
		t.Skip("the NAT lab takes a minute; not in -short")
	}
	tool := netns.Build(t, "internal/netns/nettool")
	nl := netns.NewNATLab(t, 4)
	pubs := startPublic(nl)
	const port = "7000"
	// pair starts a and b behind NATs of the given types with the TUN up,
	// a server in b, and waits for a's first overlay ping reply from b.
	// With block, the WAN drops packets between the two routers until
	// unblock is called: a and b can meet through a relay only.
	pair := func(tag string, ta, tb netns.NATType, block bool) (da, db *netns.Daemon, send func(rate, size int64) (float64, error), unblock func()) {
		ha, pa := nl.Behind("a"+tag, ta)
		hb, pb := nl.Behind("b"+tag, tb)
		unblock = func() {}
		if block {
			nft := func(args ...string) { nl.WAN.MustRun("nft", args...) }
			nft("add", "table", "ip", "myco_block")
			nft("add", "chain", "ip", "myco_block", "hold", "{", "type", "filter", "hook", "forward", "priority", "filter", ";", "policy", "accept", ";", "}")
			nft("add", "rule", "ip", "myco_block", "hold", "ip", "saddr", pa.String(), "ip", "daddr", pb.String(), "drop")
			nft("add", "rule", "ip", "myco_block", "hold", "ip", "saddr", pb.String(), "ip", "daddr", pa.String(), "drop")
			unblock = func() { nft("delete", "table", "ip", "myco_block") }
		}
		o := netns.DaemonOptions{TUN: true, Args: bootArgs(pubs[0])}
		da, db = ha.StartDaemon(bin, o), hb.StartDaemon(bin, o)
		bAddr := db.ID.Address
		for _, d := range []*netns.Daemon{da, db} {
			nl.Eventually(10*time.Second, d.NS.Tag+"'s myco0", func() bool {
				addr, _ := d.NS.Run("ip", "-6", "addr", "show", "dev", "myco0")
				return strings.Contains(addr, d.ID.Address+"/")
			})
		}
		srv := hb.Start("serve", tool, "serve", "["+bAddr+"]:"+port)
		nl.Eventually(10*time.Second, "b's server", func() bool { return strings.HasPrefix(srv.Output(), "ready") })
		db.MustCLI("firewall", "allow", "tcp", port)
		nl.Eventually(60*time.Second, fmt.Sprintf("%s→%s: a ping reply from b", ta, tb), func() bool {
			_, err := da.CLI("ping", "-c", "1", "-W", "3s", bAddr)
			return err == nil
		})
		send = func(rate, size int64) (float64, error) {
			out, err := ha.Run(tool, "send", "-timeout", "10s", "-rate", strconv.FormatInt(rate, 10), "["+bAddr+"]:"+port, strconv.FormatInt(size, 10))
			if err != nil {
				return 0, fmt.Errorf("%v: %s", err, strings.TrimSpace(out))
			}
			var r struct{ Bytes, Seconds float64 }
			if err := json.Unmarshal([]byte(lastLine(out)), &r); err != nil {
				return 0, fmt.Errorf("send's answer %q: %v", out, err)
			}
			return r.Bytes / r.Seconds / 1e6, nil
		}
		return da, db, send, unblock
	}
	isDirect := func(p string) bool { return p == "direct" || p == "hole-punched" }
	const size = 16 << 20

	// (1) One connection across the switch: 48 KiB/s for 20 s, opened
	// while the routers cannot reach each other, so the path is relayed;
	// 2 s later the WAN lets them, and the node's hole punching retry
	// (5 s after the relayed link appeared, then 10 s) goes direct.
	da, db, send, unblock := pair("1", netns.PortRestricted, netns.PortRestricted, true)
	before := peerPath(da, db.ID.PeerID)
	if !strings.HasPrefix(before, "relayed") {
		t.Fatalf("a's path to b is %q while the WAN drops packets between their routers, want relayed", before)
	}
	type result struct {
		mbps float64
		err  error
	}
	done := make(chan result, 1)
	go func() {
		mbps, err := send(48<<10, 20*48<<10)
		done <- result{mbps, err}
	}()
	var after string
	var switched time.Duration
	start := time.Now()
	time.AfterFunc(2*time.Second, unblock)
	var r result
wait:
	for {
		select {
		case r = <-done:
			break wait
		case <-time.After(200 * time.Millisecond):
			if p := peerPath(da, db.ID.PeerID); p != after {
				after = p
				if isDirect(p) && switched == 0 {
					switched = time.Since(start)
				}
			}
		}
	}
	if r.err != nil {
		t.Errorf("the TCP connection across the switch (path %s at the start, %s at the end): %v", before, after, r.err)
	}
	if !isDirect(after) {
		t.Errorf("the path stayed %s during the 20 s transfer", after)
	} else if r.err == nil {
		t.Logf("one TCP connection, 960 KiB at 48 KiB/s, every byte in order: path %s at the start, %s %v later", pathKind(before), after, switched.Round(100*time.Millisecond))
	}
	directPath := after
	direct, err := send(0, size)
	if err != nil {
		t.Errorf("direct transfer: %v", err)
	}

	// (2) Relayed throughput: behind symmetric NATs on both sides the relay
	// keeps carrying the overlay.
	da2, db2, send2, _ := pair("2", netns.Symmetric, netns.Symmetric, false)
	relayed, err := send2(0, size)
	if err != nil {
		t.Errorf("relayed transfer: %v", err)
	}
	if p := peerPath(da2, db2.ID.PeerID); !strings.HasPrefix(p, "relayed") {
		t.Errorf("behind two symmetric NATs the path is %q, want relayed", p)
	}
	t.Logf("TCP over the overlay, %d MiB: %s %.1f MB/s, relayed %.1f MB/s", size>>20, directPath, direct, relayed)
}
