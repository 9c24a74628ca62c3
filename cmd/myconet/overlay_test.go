package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/myconet/myconet/node/apitype"
)

// overlayAPI answers the overlay calls, recording them.
type overlayAPI struct {
	fakeAPI
	pings []apitype.PingOptions
	rules []string
	lost  bool // pings get no reply
}

func (f *overlayAPI) Ping(ctx context.Context, addr string, opts apitype.PingOptions) (apitype.PingResult, error) {
	if !strings.HasPrefix(addr, "fd6d:7963:") {
		return apitype.PingResult{}, fmt.Errorf("%w: %q is not an overlay address (fd6d:7963::/32)", apitype.ErrInvalid, addr)
	}
	f.pings = append(f.pings, opts)
	res := apitype.PingResult{Addr: addr, Peer: "12D3KooWpeer", Path: "relayed via 12D3KooWrelay"}
	for i := range opts.Count {
		res.Sent++
		r := apitype.PingReply{Seq: opts.Seq + i, Bytes: 64, RTT: 1.5}
		if f.lost {
			r = apitype.PingReply{Seq: opts.Seq + i, Error: "timeout"}
		} else {
			res.Received++
		}
		res.Replies = append(res.Replies, r)
	}
	return res, nil
}

func (f *overlayAPI) Routes(ctx context.Context) ([]apitype.RouteInfo, error) {
	return []apitype.RouteInfo{{Addr: "fd6d:7963::1", Peer: "12D3KooWpeer", State: "unreachable", Path: "not connected", Error: "no record"}}, nil
}

func (f *overlayAPI) Firewall(ctx context.Context) (apitype.FirewallInfo, error) {
	return apitype.FirewallInfo{Rules: f.rules}, nil
}

func (f *overlayAPI) FirewallAdd(ctx context.Context, rule string) (apitype.FirewallInfo, error) {
	f.rules = append(f.rules, rule)
	return apitype.FirewallInfo{Rules: f.rules}, nil
}

func (f *overlayAPI) FirewallRemove(ctx context.Context, rule string) (apitype.FirewallInfo, error) {
	f.rules = append(f.rules, "removed: "+rule)
	return apitype.FirewallInfo{Rules: f.rules}, nil
}

func TestPingCommand(t *testing.T) {
	api := &overlayAPI{}
	c, stdout, stderr := testCLI(t, api)
	if st := c.run([]string{"--home", t.TempDir(), "ping", "fd6d:7963::1", "-c", "2", "-i", "1ms"}); st != exitOK {
		t.Fatalf("status %d, stderr %q", st, stderr)
	}
	out := stdout.String()
	for _, want := range []string{
		"PING fd6d:7963::1: 56 data bytes",
		"64 bytes from fd6d:7963::1: seq=0 time=1.500 ms (relayed via 12D3KooWrelay)",
		"seq=1 time=1.500 ms",
		"2 sent, 2 received, 0% loss, peer 12D3KooWpeer",
		"rtt min/avg/max = 1.500/1.500/1.500 ms",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if len(api.pings) != 2 || api.pings[1].Seq != 1 || api.pings[1].Count != 1 {
		t.Errorf("pings asked: %+v", api.pings)
	}

	api = &overlayAPI{lost: true}
	c, stdout, stderr = testCLI(t, api)
	if st := c.run([]string{"--home", t.TempDir(), "ping", "fd6d:7963::1", "-c", "1", "--json"}); st != exitError {
		t.Fatalf("no reply: status %d, want %d", st, exitError)
	}
	if !strings.Contains(stdout.String(), `"error": "timeout"`) || !strings.Contains(stderr.String(), "no reply from fd6d:7963::1") {
		t.Errorf("stdout %q stderr %q", stdout, stderr)
	}

	for _, args := range [][]string{{"ping"}, {"ping", "fd6d:7963::1", "-c", "0"}, {"ping", "a", "b"}} {
		c, _, _ := testCLI(t, &overlayAPI{})
		if st := c.run(append([]string{"--home", t.TempDir()}, args...)); st != exitUsage {
			t.Errorf("%q: status %d, want usage", args, st)
		}
	}
	c, stdout, stderr = testCLI(t, &overlayAPI{})
	if st := c.run([]string{"--home", t.TempDir(), "ping", "10.0.0.1"}); st == exitOK || stdout.Len() != 0 || !strings.Contains(stderr.String(), "not an overlay address") {
		t.Errorf("bad address: status %d stdout %q stderr %q", st, stdout, stderr)
	}
}

func TestRoutesAndFirewallCommands(t *testing.T) {
	api := &overlayAPI{}
	c, stdout, stderr := testCLI(t, api)
	if st := c.run([]string{"--home", t.TempDir(), "routes"}); st != exitOK {
		t.Fatalf("routes: %d %q", st, stderr)
	}
	if out := stdout.String(); !strings.Contains(out, "ADDRESS") || !strings.Contains(out, "unreachable: no record") {
		t.Errorf("routes output:\n%s", out)
	}
	home := t.TempDir()
	for _, args := range [][]string{
		{"firewall", "allow", "tcp", "22", "--from", "fd6d:7963::/32"},
		{"firewall", "deny", "udp", "53"},
		{"firewall", "rm", "tcp", "22", "--from", "fd6d:7963::/32"},
	} {
		c, _, stderr := testCLI(t, api)
		if st := c.run(append([]string{"--home", home}, args...)); st != exitOK {
			t.Fatalf("%q: %d %q", args, st, stderr)
		}
	}
	want := []string{"allow tcp 22 from fd6d:7963::/32", "deny udp 53", "removed: deny tcp 22 from fd6d:7963::/32"}
	if strings.Join(api.rules, "|") != strings.Join(want, "|") {
		t.Errorf("rules sent %q, want %q", api.rules, want)
	}
	c, stdout, _ = testCLI(t, &overlayAPI{})
	if st := c.run([]string{"--home", home, "firewall", "ls"}); st != exitOK || !strings.Contains(stdout.String(), "no rules") {
		t.Errorf("empty firewall ls: %d %q", st, stdout)
	}
	c, _, _ = testCLI(t, api)
	if st := c.run([]string{"--home", home, "firewall", "allow", "tcp"}); st != exitUsage {
		t.Errorf("firewall allow without a port: %d", st)
	}
}
