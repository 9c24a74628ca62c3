package netns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/myconet/myconet/node/nodetest"
)

func skipUnlessUsable(t *testing.T) {
	t.Helper()
	if err := Usable(); err != nil {
		t.Skip(err)
	}
}

func namespaces(t *testing.T) string {
	t.Helper()
	out, err := run(t.Context(), "ip", "netns", "list")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A chain a–b–c: neighbours reach each other over TCP on their link
// addresses, a and c have no route to each other, and a cut link carries
// nothing more.
func TestChain(t *testing.T) {
	skipUnlessUsable(t)
	tool := Build(t, "internal/netns/nettool")
	lab := New(t)
	a, b, c := lab.NS("a"), lab.NS("b"), lab.NS("c")
	ab, bc := lab.Link(a, b), lab.Link(b, c)
	if got := fmt.Sprint(b.Addrs()); got != "[10.77.1.2 10.77.2.1]" {
		t.Fatalf("b's addresses: %s", got)
	}

	srv := b.Start("serve", tool, "serve", ab.BIP.String()+":9000")
	lab.Eventually(10*time.Second, "the server to listen", func() bool { return strings.HasPrefix(srv.Output(), "ready") })
	if out, err := a.Run(tool, "send", ab.BIP.String()+":9000", "3000000"); err != nil || !strings.Contains(out, `"bytes":3000000`) {
		t.Fatalf("a → b: %q %v", out, err)
	}
	// IPv6 on the link works too (no duplicate address detection to wait for).
	srv6 := b.Start("serve6", tool, "serve", "["+ab.B6IP.String()+"]:9001")
	lab.Eventually(10*time.Second, "the v6 server to listen", func() bool { return strings.HasPrefix(srv6.Output(), "ready") })
	a.MustRun(tool, "send", "["+ab.B6IP.String()+"]:9001", "1000")

	// a has no route to c's network: b does not forward, nobody routes.
	if out, err := a.Run(tool, "send", "-timeout", "1s", bc.BIP.String()+":9000", "1"); err == nil {
		t.Fatalf("a reached c across b: %s", out)
	}
	if out, err := a.Run("ip", "route", "get", bc.BIP.String()); err == nil {
		t.Fatalf("a has a route to c: %s", out)
	}

	ab.Cut()
	if _, err := a.Run(tool, "send", "-timeout", "1s", ab.BIP.String()+":9000", "1"); err == nil {
		t.Fatal("a reached b after the cut")
	}
	if got := fmt.Sprint(b.Addrs()); got != "[10.77.2.1]" {
		t.Fatalf("b's addresses after the cut: %s", got)
	}
	if out := b.MustRun("ip", "-o", "link", "show"); strings.Contains(out, ab.BIf) {
		t.Fatalf("b still has %s after the cut:\n%s", ab.BIf, out)
	}
}

// A Lab whose test fails (Fatalf panics in a ProgramTB, as a failing test
// unwinds) still kills what it started and deletes its namespaces.
func TestCleanupAfterFailure(t *testing.T) {
	skipUnlessUsable(t)
	ptb, err := nodetest.NewProgramTB("netns-test-", false)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var pid int
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Fatal("Fatalf did not panic")
			}
		}()
		lab := New(ptb)
		lab.Grace = time.Second
		x, y := lab.NS("x"), lab.NS("y")
		lab.Link(x, y)
		names = []string{x.Name, y.Name}
		// A process that ignores SIGINT: Stop must still end it.
		p := x.Start("stubborn", "sh", "-c", "trap '' INT; sleep 600")
		pid = p.Pid()
		ptb.Fatalf("the test fails here")
	}()
	list := namespaces(t)
	for _, n := range names {
		if !strings.Contains(list, n) {
			t.Fatalf("%s missing before cleanup:\n%s", n, list)
		}
	}
	start := time.Now()
	ptb.Close()
	t.Logf("cleanup took %v", time.Since(start).Round(time.Millisecond))
	list = namespaces(t)
	for _, n := range names {
		if strings.Contains(list, n) {
			t.Errorf("%s still exists after cleanup", n)
		}
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d still exists after cleanup (kill 0: %v)", pid, err)
	}
}

// Namespaces left behind by a harness process that died are swept by the
// next Lab; namespaces of a live process are not.
func TestSweepStale(t *testing.T) {
	skipUnlessUsable(t)
	// A process that has exited: its pid is free (until reused, which a
	// fresh pid makes unlikely within this test).
	dead := deadPid(t)
	stale := fmt.Sprintf("myco-%d-1-z", dead)
	live := fmt.Sprintf("myco-%d-999-z", os.Getppid())
	for _, n := range []string{stale, live} {
		if out, err := run(t.Context(), "ip", "netns", "add", n); err != nil {
			t.Fatal(err, out)
		}
	}
	t.Cleanup(func() { run(context.Background(), "ip", "netns", "delete", live) })
	New(t)
	list := namespaces(t)
	if strings.Contains(list, stale) {
		t.Errorf("stale namespace %s was not swept", stale)
	}
	if !strings.Contains(list, live) {
		t.Errorf("namespace %s of a live process was swept", live)
	}
}

func deadPid(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return p.Pid
}
