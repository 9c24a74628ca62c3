package netns

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/nodetest"
)

// Build builds the command in the module directory pkg ("cmd/myconet",
// "internal/netns/nettool") into a temporary directory of t and returns the
// binary's path.
func Build(t TB, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/myconet/myconet/"+pkg)
	cmd.Dir = moduleRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// moduleRoot is the source tree this package was built from, so that a
// benchmark binary run from anywhere can build myconet; "" (the working
// directory) when that tree is not there (a -trimpath build).
func moduleRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return ""
	}
	return root
}

// Port is the libp2p port (TCP and QUIC) daemons listen on, on each of
// their namespace's link addresses.
const Port = 4809

// Daemon is `myconet daemon` running in a namespace, with its own home. Its
// API and gateway listen on the namespace's loopback (the defaults), so
// only commands run in the same namespace (Daemon.CLI) reach them.
type Daemon struct {
	NS   *NS
	Bin  string
	Home string
	Proc *Proc
	ID   apitype.IDInfo // as `myconet status --json` reported it once ready
}

// DaemonOptions configure StartDaemon.
type DaemonOptions struct {
	// Bootstrap lists running daemons to join through; each is given as its
	// addresses on the links this namespace shares with it.
	Bootstrap []*Daemon
	// TUN brings up the overlay TUN; without it the daemon gets --no-tun.
	TUN bool
	// TCPOnly listens on TCP only (no QUIC). A TCP connection whose link
	// vanishes dies silently (the kernel retransmits for minutes), where a
	// QUIC one fails at the next send: the harder case for failover.
	TCPOnly bool
	// Env adds environment variables ("MYCONET_CPUPROFILE=/tmp/a.pprof").
	Env []string
	// Args are more daemon flags.
	Args []string
	// Config sets keys (`myconet config set KEY VALUE`) before the start.
	Config map[string]string
}

// StartDaemon initialises a home and starts a daemon listening on this
// namespace's link addresses (libp2p port Port, TCP and QUIC), then waits
// until its API answers. It fails the test if the daemon exits or is not
// ready within 30 s, showing its output.
func (ns *NS) StartDaemon(bin string, o DaemonOptions) *Daemon {
	t := ns.lab.t
	t.Helper()
	d := &Daemon{NS: ns, Bin: bin, Home: filepath.Join(t.TempDir(), "home-"+ns.Tag)}
	d.MustCLI("init")
	for k, v := range o.Config {
		d.MustCLI("config", "set", k, v)
	}
	args := []string{"--home", d.Home, "daemon", "--log-level", "debug"}
	for _, a := range ns.Addrs() {
		args = append(args, "--listen", fmt.Sprintf("/ip4/%s/tcp/%d", a, Port))
		if !o.TCPOnly {
			args = append(args, "--listen", fmt.Sprintf("/ip4/%s/udp/%d/quic-v1", a, Port))
		}
	}
	for _, b := range o.Bootstrap {
		addrs := b.AddrsFrom(ns)
		if len(addrs) == 0 {
			t.Fatalf("netns: %s shares no link with bootstrap peer %s", ns.Tag, b.NS.Tag)
		}
		for _, a := range addrs {
			args = append(args, "--bootstrap", a)
		}
	}
	if !o.TUN {
		args = append(args, "--no-tun")
	}
	args = append(args, o.Args...)
	d.Proc = ns.StartEnv("daemon-"+ns.Tag, o.Env, bin, args...)
	nodetest.Eventually(t, 30*time.Second, "daemon in "+ns.Tag+" to answer", func() bool {
		if done, err := d.Proc.Exited(); done {
			t.Fatalf("netns: daemon in %s exited (%v):\n%s", ns.Tag, err, d.Proc.Output())
		}
		var st apitype.Status
		if d.CLIJSON(&st, "status") != nil || len(st.ID.Listen) == 0 {
			return false
		}
		d.ID = st.ID
		return true
	})
	return d
}

// AddrsFrom returns d's listen multiaddrs (with /p2p/) that other can
// reach: those on a link between the two namespaces.
func (d *Daemon) AddrsFrom(other *NS) []string {
	shared := map[netip.Addr]bool{}
	lab := d.NS.lab
	lab.mu.Lock()
	for _, lk := range lab.links {
		switch {
		case lk.cut:
		case lk.A == d.NS && lk.B == other:
			shared[lk.AIP] = true
		case lk.B == d.NS && lk.A == other:
			shared[lk.BIP] = true
		}
	}
	lab.mu.Unlock()
	var out []string
	for _, s := range d.ID.Listen {
		m, err := ma.NewMultiaddr(s)
		if err != nil {
			continue
		}
		ip, err := m.ValueForProtocol(ma.P_IP4)
		if err != nil {
			continue
		}
		if a, err := netip.ParseAddr(ip); err == nil && shared[a] {
			out = append(out, s)
		}
	}
	return out
}

// CLI runs `myconet --home HOME ARGS...` in the daemon's namespace and
// returns its stdout; the error carries the exit status and stderr.
func (d *Daemon) CLI(args ...string) (string, error) {
	return d.NS.Run(d.Bin, append([]string{"--home", d.Home}, args...)...)
}

// MustCLI is CLI that fails the test on error.
func (d *Daemon) MustCLI(args ...string) string {
	d.NS.lab.t.Helper()
	out, err := d.CLI(args...)
	if err != nil {
		d.NS.lab.t.Fatalf("netns %s: %v", d.NS.Tag, err)
	}
	return out
}

// CLIJSON runs a command with --json and decodes its output into v.
func (d *Daemon) CLIJSON(v any, args ...string) error {
	out, err := d.CLI(append(args, "--json")...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("myconet %s --json: %v: %q", strings.Join(args, " "), err, out)
	}
	return nil
}

// Peers returns the peer IDs d is connected to, with whether the
// connection is relayed.
func (d *Daemon) Peers() (map[string]bool, error) {
	var ps struct{ Peers []apitype.PeerInfo }
	if err := d.CLIJSON(&ps, "peers"); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, p := range ps.Peers {
		out[p.ID] = out[p.ID] || p.Relayed
	}
	return out, nil
}

// Eventually polls cond under a deadline; see nodetest.Eventually.
func (l *Lab) Eventually(d time.Duration, what string, cond func() bool) {
	l.t.Helper()
	nodetest.Eventually(l.t, d, what, cond)
}
