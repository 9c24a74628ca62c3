package main_test

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/myconet/myconet/internal/netns"
)

// routeInfo is one row of `myconet routes --json`.
type routeInfo struct {
	Addr, Peer, State, Path string
}

func pathTo(t *testing.T, d *netns.Daemon, addr string) string {
	t.Helper()
	var rs struct{ Routes []routeInfo }
	if err := d.CLIJSON(&rs, "routes"); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs.Routes {
		if r.Addr == addr {
			return r.Path
		}
	}
	return "(no route)"
}

var pingReply = regexp.MustCompile(`^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)`)

// pingReplies returns the receive times of the replies in the output of
// `ping -D`.
func pingReplies(out string) []time.Time {
	var ts []time.Time
	for _, line := range strings.Split(out, "\n") {
		m := pingReply.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		f, _ := strconv.ParseFloat(m[1], 64)
		ts = append(ts, time.Unix(0, int64(f*1e9)))
	}
	return ts
}

// The overlay across namespaces: a–b–c, so that a and c meet only through
// b; then a second path a–d–c, and cutting a–b moves the traffic to d.
//
//	a ── b ── c
//	 ╲       ╱
//	  ╲─ d ─╱     (a–d down until the failover part)
func TestNetnsOverlay(t *testing.T) {
	needNetns(t)
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("the overlay e2e test needs ping: apt-get install iputils-ping")
	}
	tool := netns.Build(t, "internal/netns/nettool")
	lab := netns.New(t)
	a, b, c, d := lab.NS("a"), lab.NS("b"), lab.NS("c"), lab.NS("d")
	ab := lab.Link(a, b)
	lab.Link(b, c)
	lab.Link(c, d)
	ad := lab.Link(a, d)
	ad.SetUp(false)

	// b listens on TCP only: when a–b is cut, a's connection to b dies
	// silently (a QUIC one would fail at once), so a must notice by itself.
	db := b.StartDaemon(bin, netns.DaemonOptions{TUN: true, TCPOnly: true})
	dc := c.StartDaemon(bin, netns.DaemonOptions{TUN: true, Bootstrap: []*netns.Daemon{db}})
	dd := d.StartDaemon(bin, netns.DaemonOptions{TUN: true, Bootstrap: []*netns.Daemon{dc}})
	da := a.StartDaemon(bin, netns.DaemonOptions{TUN: true, Bootstrap: []*netns.Daemon{db}})
	cAddr := dc.ID.Address

	// Every daemon brought up myco0 with its overlay address and the route
	// for the overlay prefix.
	for _, dm := range []*netns.Daemon{da, db, dc, dd} {
		lab.Eventually(10*time.Second, dm.NS.Tag+"'s myco0", func() bool {
			addr, _ := dm.NS.Run("ip", "-6", "addr", "show", "dev", "myco0")
			route, _ := dm.NS.Run("ip", "-6", "route", "show", "dev", "myco0")
			return strings.Contains(addr, dm.ID.Address+"/") && strings.Contains(route, "fd6d:7963::/32")
		})
	}

	// ping -6 over myco0, a to c; the first one waits for resolution.
	start := time.Now()
	var lastPing string
	defer func() {
		if !t.Failed() {
			return
		}
		t.Logf("last ping: %s", lastPing)
		routes, err := da.CLI("routes")
		t.Logf("a's routes: %v\n%s", err, routes)
		peers, err := da.CLI("peers")
		t.Logf("a's peers: %v\n%s", err, peers)
		for _, dm := range []*netns.Daemon{da, db, dc, dd} {
			t.Logf("%s's log:\n%s", dm.NS.Tag, dm.Proc.Output())
		}
	}()
	lab.Eventually(30*time.Second, "a to ping c over the overlay", func() bool {
		out, err := a.Run("ping", "-6", "-c", "1", "-W", "2", cAddr)
		lastPing = fmt.Sprint(out, err)
		return err == nil
	})
	t.Logf("first ping a → c answered %v after start", time.Since(start).Round(time.Millisecond))
	out := a.MustRun("ping", "-6", "-c", "5", "-i", "0.2", "-q", cAddr)
	t.Logf("ping a → c: %s", lastLine(out))
	if p := pathTo(t, da, cAddr); p != "relayed via "+db.ID.PeerID {
		t.Errorf("a's path to c is %q, want relayed via b (%s)", p, db.ID.PeerID)
	}
	// The same through the daemon, without the TUN: `myconet ping`.
	var pr struct {
		Sent, Received int
		Path           string
		Avg            float64 `json:"avg_ms"`
	}
	if err := da.CLIJSON(&pr, "ping", "-c", "3", "-i", "100ms", cAddr); err != nil || pr.Received != 3 || pr.Path != "relayed via "+db.ID.PeerID {
		t.Errorf("myconet ping in a: %+v %v", pr, err)
	}

	// TCP: servers on two ports in c; the firewall opens neither by default.
	for _, port := range []string{"7000", "7001"} {
		srv := c.Start("serve-"+port, tool, "serve", "["+cAddr+"]:"+port)
		lab.Eventually(10*time.Second, "c's server on "+port, func() bool { return strings.HasPrefix(srv.Output(), "ready") })
	}
	send := func(port string, n int) error {
		_, err := a.Run(tool, "send", "-timeout", "3s", "["+cAddr+"]:"+port, strconv.Itoa(n))
		return err
	}
	if err := send("7000", 1000); err == nil {
		t.Fatal("a reached c's port 7000 before c opened it")
	}
	dc.MustCLI("firewall", "allow", "tcp", "7000")
	var sendErr error
	lab.Eventually(10*time.Second, "port 7000 to open", func() bool { sendErr = send("7000", 1000); return sendErr == nil })
	start = time.Now()
	const size = 8 << 20
	if err := send("7000", size); err != nil {
		t.Fatalf("a → c, %d bytes over TCP: %v", size, err)
	}
	t.Logf("a → c: %d bytes over TCP in %v", size, time.Since(start).Round(time.Millisecond))
	// A rule for another source does not open 7001 to a.
	dc.MustCLI("firewall", "allow", "tcp", "7001", "--from", db.ID.Address)
	if out := dc.MustCLI("firewall", "ls"); !strings.Contains(out, "7000") || !strings.Contains(out, db.ID.Address) {
		t.Errorf("c's firewall ls:\n%s", out)
	}
	if err := send("7001", 1000); err == nil {
		t.Fatal("a reached c's port 7001, which c opened to b only")
	}

	// A second path: a–d comes up and a connects to d. Then a–b is cut,
	// with a ping running every 100 ms: the replies must come back via d.
	ad.SetUp(true)
	var connErr error
	lab.Eventually(20*time.Second, "a to connect to d", func() bool {
		for _, addr := range dd.AddrsFrom(a) {
			if _, connErr = da.CLI("connect", addr); connErr == nil {
				return true
			}
		}
		return false
	})
	pinger := a.Start("ping", "ping", "-6", "-D", "-i", "0.1", cAddr)
	lab.Eventually(10*time.Second, "the running ping to get replies", func() bool { return len(pingReplies(pinger.Output())) >= 3 })
	cut := time.Now()
	ab.Cut()
	var resumed time.Time
	lab.Eventually(30*time.Second, "ping replies after cutting a–b", func() bool {
		for _, ts := range pingReplies(pinger.Output()) {
			if ts.After(cut.Add(50 * time.Millisecond)) {
				resumed = ts
				return true
			}
		}
		return false
	})
	t.Logf("after cutting a–b, replies resumed in %v", resumed.Sub(cut).Round(time.Millisecond))
	for _, line := range strings.Split(da.Proc.Output(), "\n") {
		if strings.Contains(line, "level=INFO") && strings.Contains(line, "overlay") {
			t.Logf("a: %s", line)
		}
	}
	t.Logf("(the cut was at %s)", cut.UTC().Format("15:04:05.000"))
	if p := pathTo(t, da, cAddr); p != "relayed via "+dd.ID.PeerID {
		t.Errorf("a's path to c after the cut is %q, want relayed via d (%s)", p, dd.ID.PeerID)
	}
	if err := send("7000", 1<<20); err != nil {
		t.Fatalf("a → c over TCP after the cut: %v", err)
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}
