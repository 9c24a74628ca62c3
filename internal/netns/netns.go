// Package netns builds small networks of Linux network namespaces for
// end-to-end tests and benchmarks: namespaces joined by veth pairs with
// private addresses, programs (myconet daemons, test helpers, ping, iperf3)
// run inside them with `ip netns exec`, and everything torn down when the
// test ends, whether it passed, failed or panicked.
//
// It needs root and the `ip` command (iproute2); Usable says why not
// otherwise, and tests skip with that one line. Traffic stays inside the
// namespaces a Lab created: nothing is routed to the host or beyond.
package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/myconet/myconet/node/nodetest"
)

// TB is the part of testing.TB a Lab uses; *testing.T fits, and so does
// nodetest.ProgramTB, for benchmark programs.
type TB = nodetest.TB

// Usable returns nil when this process can create network namespaces: it
// runs as root and `ip` is installed. Otherwise the error says what is
// missing, in one line fit for t.Skip.
func Usable() error {
	if os.Geteuid() != 0 {
		return errors.New("network-namespace tests need root (they create namespaces and veth pairs)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("network-namespace tests need the ip command: apt-get install iproute2")
	}
	return nil
}

// cmdTimeout bounds one short command (ip, a CLI call).
const cmdTimeout = 30 * time.Second

// Lab is a set of namespaces and links that live as long as the test.
type Lab struct {
	// Grace is how long Close lets each process end after SIGINT before
	// killing it; 10 s unless set.
	Grace time.Duration

	t      TB
	prefix string // "myco-<pid>-<n>", unique on the machine while we run

	mu    sync.Mutex
	nss   []*NS
	links []*Link
	procs []*Proc
}

var labs struct {
	sync.Mutex
	n int
}

// New returns an empty Lab. Its namespaces are deleted, and every process
// started in them killed, in a Cleanup. Namespaces left by earlier runs of
// this harness whose process has died (killed by a timeout, say) are removed
// first.
func New(t TB) *Lab {
	t.Helper()
	if err := Usable(); err != nil {
		t.Fatalf("netns: %v", err)
	}
	labs.Lock()
	labs.n++
	n := labs.n
	labs.Unlock()
	sweepStale()
	l := &Lab{Grace: 10 * time.Second, t: t, prefix: fmt.Sprintf("myco-%d-%d", os.Getpid(), n)}
	t.Cleanup(l.Close)
	return l
}

// Close kills every process the Lab started and deletes its namespaces
// (which deletes their veth pairs). Safe to call more than once.
func (l *Lab) Close() {
	l.mu.Lock()
	procs, nss := l.procs, l.nss
	l.procs, l.nss = nil, nil
	l.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop(l.Grace)
	}
	for _, ns := range nss {
		ns.killAll()
		if out, err := run(context.Background(), "ip", "netns", "delete", ns.Name); err != nil {
			l.t.Log(fmt.Sprintf("netns: deleting %s: %v %s", ns.Name, err, out))
		}
	}
}

var staleName = regexp.MustCompile(`^myco-(\d+)-\d+-`)

// sweepStale deletes namespaces this harness made in processes that no
// longer exist, after killing what still runs in them.
func sweepStale() {
	out, err := run(context.Background(), "ip", "netns", "list")
	if err != nil {
		return
	}
	for _, line := range strings.Split(out, "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		m := staleName.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue // ours, or its creator still runs
		}
		(&NS{Name: name}).killAll()
		run(context.Background(), "ip", "netns", "delete", name)
	}
}

// NS is one network namespace with lo up.
type NS struct {
	lab  *Lab
	Name string // the full name, for `ip netns exec`
	Tag  string // the short name the test gave it
	nif  int
}

// NS creates a namespace named after tag (a few letters, like "a") and
// brings up its loopback interface.
func (l *Lab) NS(tag string) *NS {
	l.t.Helper()
	ns := &NS{lab: l, Name: l.prefix + "-" + tag, Tag: tag}
	l.must("ip", "netns", "add", ns.Name)
	l.mu.Lock()
	l.nss = append(l.nss, ns)
	l.mu.Unlock()
	l.must("ip", "-n", ns.Name, "link", "set", "lo", "up")
	return ns
}

// killAll kills, by process ID, whatever still runs in the namespace.
func (ns *NS) killAll() {
	out, err := run(context.Background(), "ip", "netns", "pids", ns.Name)
	if err != nil {
		return
	}
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// Link is a veth pair between two namespaces, with an IPv4 /24 of its own.
type Link struct {
	lab        *Lab
	A, B       *NS
	AIf, BIf   string     // interface names inside A and B
	AIP, BIP   netip.Addr // their IPv4 addresses
	A6IP, B6IP netip.Addr // and their IPv6 (ULA) addresses
	cut        bool
}

// Link joins a and b with a veth pair. The k-th link of the Lab gets
// 10.77.k.1/24 on a's side and 10.77.k.2/24 on b's, and fd77:0:0:k::1/64
// and ::2/64; neither namespace routes for the other, so two namespaces
// without a Link between them cannot reach each other.
func (l *Lab) Link(a, b *NS) *Link {
	l.t.Helper()
	l.mu.Lock()
	k := len(l.links) + 1
	l.mu.Unlock()
	return l.link(a, b, netip.AddrFrom4([4]byte{10, 77, byte(k), 1}), netip.AddrFrom4([4]byte{10, 77, byte(k), 2}), 24,
		netip.MustParseAddr(fmt.Sprintf("fd77:0:0:%x::1", k)), netip.MustParseAddr(fmt.Sprintf("fd77:0:0:%x::2", k)))
}

// LinkAddrs joins a and b like Link, with the IPv4 addresses given (in one
// subnet of bits bits) and no IPv6: for labs that route between links
// (nat.go).
func (l *Lab) LinkAddrs(a, b *NS, aIP, bIP netip.Addr, bits int) *Link {
	l.t.Helper()
	return l.link(a, b, aIP, bIP, bits, netip.Addr{}, netip.Addr{})
}

func (l *Lab) link(a, b *NS, aIP, bIP netip.Addr, bits int, a6, b6 netip.Addr) *Link {
	l.t.Helper()
	l.mu.Lock()
	k := len(l.links) + 1
	a.nif++
	b.nif++
	lk := &Link{lab: l, A: a, B: b,
		AIf: fmt.Sprintf("v%s%d", b.Tag, a.nif), BIf: fmt.Sprintf("v%s%d", a.Tag, b.nif),
		AIP: aIP, BIP: bIP, A6IP: a6, B6IP: b6,
	}
	l.links = append(l.links, lk)
	l.mu.Unlock()
	if k > 250 {
		l.t.Fatalf("netns: too many links")
	}
	l.must("ip", "link", "add", lk.AIf, "netns", a.Name, "type", "veth", "peer", "name", lk.BIf, "netns", b.Name)
	for _, side := range []struct {
		ns     *NS
		dev    string
		v4, v6 netip.Addr
	}{{a, lk.AIf, lk.AIP, lk.A6IP}, {b, lk.BIf, lk.BIP, lk.B6IP}} {
		l.must("ip", "-n", side.ns.Name, "addr", "add", fmt.Sprintf("%s/%d", side.v4, bits), "dev", side.dev)
		if side.v6.IsValid() {
			// nodad: usable at once, not after a second of duplicate detection.
			l.must("ip", "-n", side.ns.Name, "addr", "add", side.v6.String()+"/64", "dev", side.dev, "nodad")
		}
		l.must("ip", "-n", side.ns.Name, "link", "set", side.dev, "up")
	}
	return lk
}

// Cut deletes the veth pair, as if the cable were pulled: both ends vanish
// at once and packets in flight are lost.
func (lk *Link) Cut() {
	lk.lab.t.Helper()
	if lk.cut {
		return
	}
	lk.cut = true
	lk.lab.must("ip", "-n", lk.A.Name, "link", "del", lk.AIf)
}

// SetUp brings both ends of the link up or down. Addresses stay, so
// programs may listen on them while the link is down.
func (lk *Link) SetUp(up bool) {
	lk.lab.t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	lk.lab.must("ip", "-n", lk.A.Name, "link", "set", lk.AIf, state)
	lk.lab.must("ip", "-n", lk.B.Name, "link", "set", lk.BIf, state)
}

// Addrs returns this namespace's IPv4 addresses on its links, in link order.
func (ns *NS) Addrs() []netip.Addr {
	ns.lab.mu.Lock()
	defer ns.lab.mu.Unlock()
	var out []netip.Addr
	for _, lk := range ns.lab.links {
		switch {
		case lk.cut:
		case lk.A == ns:
			out = append(out, lk.AIP)
		case lk.B == ns:
			out = append(out, lk.BIP)
		}
	}
	return out
}

// Command returns an exec.Cmd running prog with args inside the namespace.
// `ip netns exec` execs prog in place, so the process is prog itself.
func (ns *NS) Command(ctx context.Context, prog string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, prog}, args...)...)
	// If the test process dies without cleaning up (SIGKILL), so do its
	// children; sweepStale removes the namespaces on the next run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Run runs prog inside the namespace and returns its stdout; the error
// carries its stderr.
func (ns *NS) Run(prog string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	return output(ns.Command(ctx, prog, args...))
}

// MustRun is Run that fails the test on error.
func (ns *NS) MustRun(prog string, args ...string) string {
	ns.lab.t.Helper()
	out, err := ns.Run(prog, args...)
	if err != nil {
		ns.lab.t.Fatalf("netns %s: %v", ns.Tag, err)
	}
	return out
}

// WaitTCPListen waits up to d for something in the namespace to listen on
// TCP port (as `ss` shows it).
func (ns *NS) WaitTCPListen(port int, d time.Duration) {
	ns.lab.t.Helper()
	ns.lab.Eventually(d, fmt.Sprintf("a TCP listener on port %d in %s", port, ns.Tag), func() bool {
		out, err := ns.Run("ss", "-Hltn", fmt.Sprintf("sport = :%d", port))
		return err == nil && strings.TrimSpace(out) != ""
	})
}

// Proc is a long-running process inside a namespace. Its output goes to a
// file that Output reads (and that Stop leaves in the test's temp dir).
type Proc struct {
	Name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error // set before done closes
	once    sync.Once
}

// Start starts prog in the namespace; the Lab stops it at cleanup. name
// labels it in messages.
func (ns *NS) Start(name, prog string, args ...string) *Proc {
	ns.lab.t.Helper()
	return ns.StartEnv(name, nil, prog, args...)
}

// StartEnv is Start with more environment variables ("KEY=value").
func (ns *NS) StartEnv(name string, env []string, prog string, args ...string) *Proc {
	ns.lab.t.Helper()
	logf, err := os.CreateTemp(ns.lab.t.TempDir(), name+"-*.log")
	if err != nil {
		ns.lab.t.Fatalf("netns: %v", err)
	}
	defer logf.Close()
	p := &Proc{Name: name, logPath: logf.Name(), done: make(chan struct{})}
	p.cmd = ns.Command(context.Background(), prog, args...)
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		ns.lab.t.Fatalf("netns %s: starting %s: %v", ns.Tag, name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	ns.lab.mu.Lock()
	ns.lab.procs = append(ns.lab.procs, p)
	ns.lab.mu.Unlock()
	return p
}

// Pid is the process ID.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Output returns what the process has written so far.
func (p *Proc) Output() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// Exited reports whether the process has ended, and how.
func (p *Proc) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Wait waits up to d for the process to end by itself.
func (p *Proc) Wait(d time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		return fmt.Errorf("%s still running after %v", p.Name, d)
	}
}

// Stop asks the process to end (SIGINT), and kills it after 10 s.
func (p *Proc) Stop() { p.stop(10 * time.Second) }

func (p *Proc) stop(grace time.Duration) {
	p.once.Do(func() {
		p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(grace):
			p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// Kill ends the process at once (SIGKILL), like a crash.
func (p *Proc) Kill() {
	p.once.Do(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
}

func (l *Lab) must(prog string, args ...string) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	if out, err := run(ctx, prog, args...); err != nil {
		l.t.Fatalf("netns: %s %s: %v %s", prog, strings.Join(args, " "), err, out)
	}
}

func run(ctx context.Context, prog string, args ...string) (string, error) {
	return output(exec.CommandContext(ctx, prog, args...))
}

// output runs cmd and returns its stdout, or an error with its stderr.
func output(cmd *exec.Cmd) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return stdout.String(), fmt.Errorf("%s: %v: %s", strings.Join(cmd.Args, " "), err, msg)
	}
	return stdout.String(), nil
}
