// Command overlay measures the IPv6 overlay between myconet daemons in
// network namespaces, beside the raw veth path of the same run: iperf3 TCP
// throughput (one stream and four) and ping RTT, between two linked nodes
// and between two nodes that meet only through a relay.
//
//	go build -o /tmp/overlay ./bench/overlay && sudo /tmp/overlay [-t 5s] [-profile DIR]
//
// It needs root, iproute2, iperf3 and ping (apt-get install iproute2 iperf3
// iputils-ping). Every namespace, link and process it makes is removed at
// the end, also on failure. It also prints the CPU time each daemon spent
// per GB carried: with 2 cores, that says how close to the CPU limit the
// overlay runs.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/myconet/myconet/internal/netns"
	"github.com/myconet/myconet/node/nodetest"
)

func main() {
	dur := flag.Duration("t", 5*time.Second, "duration of each iperf3 run")
	verbose := flag.Bool("v", false, "log progress to stderr")
	tcp := flag.Bool("tcp", false, "daemons listen on TCP only (default: TCP and QUIC, and libp2p prefers QUIC)")
	profDir := flag.String("profile", "", "write each daemon's CPU profile (MYCONET_CPUPROFILE) into `DIR` and print the top functions of each")
	flag.Parse()
	if err := check(); err != nil {
		fmt.Fprintln(os.Stderr, "overlay:", err)
		os.Exit(1)
	}
	tb, err := nodetest.NewProgramTB("myconet-bench-overlay-", *verbose)
	if err != nil {
		fmt.Fprintln(os.Stderr, "overlay:", err)
		os.Exit(1)
	}
	code := 0
	func() {
		defer tb.Close()
		defer func() {
			if r := recover(); r != nil {
				fe, ok := r.(nodetest.FatalError)
				if !ok {
					panic(r)
				}
				fmt.Fprintln(os.Stderr, "overlay:", fe.Msg)
				code = 1
			}
		}()
		run(tb, *dur, *tcp, *profDir)
	}()
	os.Exit(code)
}

func check() error {
	if err := netns.Usable(); err != nil {
		return err
	}
	for _, prog := range []struct{ name, pkg string }{{"iperf3", "iperf3"}, {"ping", "iputils-ping"}} {
		if _, err := exec.LookPath(prog.name); err != nil {
			return fmt.Errorf("%s is missing: apt-get install -y %s", prog.name, prog.pkg)
		}
	}
	return nil
}

// figures are one path's measurements.
type figures struct {
	single, four float64 // bit/s
	rtt          float64 // ms, average
	cpu          []cpuUse
}

type cpuUse struct {
	who     string
	secPerG float64 // CPU seconds per GB received by the iperf3 server (single stream run)
}

func run(tb *nodetest.ProgramTB, dur time.Duration, tcp bool, profDir string) {
	bin := netns.Build(tb, "cmd/myconet")
	transport := "QUIC and TCP"
	if tcp {
		transport = "TCP only"
	}
	fmt.Printf("bench/overlay: iperf3 -t %v, daemons on %s, %s, load average %s\n", dur, transport, cpus(), loadavg())

	// Two linked nodes.
	lab := netns.New(tb)
	a, b := lab.NS("a"), lab.NS("b")
	ab := lab.Link(a, b)
	b.Start("iperf3-server", "iperf3", "-s")
	b.WaitTCPListen(5201, 10*time.Second)
	rawDirect := measure(tb, a, ab.BIP.String(), dur, nil)
	opts := func(tag string, bootstrap ...*netns.Daemon) netns.DaemonOptions {
		o := netns.DaemonOptions{TUN: true, Bootstrap: bootstrap, TCPOnly: tcp}
		if profDir != "" {
			o.Env = []string{"MYCONET_CPUPROFILE=" + filepath.Join(profDir, tag+".pprof")}
		}
		return o
	}
	if profDir != "" {
		if err := os.MkdirAll(profDir, 0o755); err != nil {
			tb.Fatalf("%v", err)
		}
	}
	da := a.StartDaemon(bin, opts("direct-a"))
	db := b.StartDaemon(bin, opts("direct-b", da))
	db.MustCLI("firewall", "allow", "tcp", "5201")
	waitPing(lab, a, db.ID.Address)
	ovDirect := measure(tb, a, db.ID.Address, dur, []daemonProc{{"a (sender)", da.Proc}, {"b (receiver)", db.Proc}})
	lab.Close()

	// Two nodes that meet only through a relay r. The raw figure routes IP
	// through r (forwarding on) before the daemons start; then r stops
	// forwarding and the routes go, so that the overlay must relay.
	lab = netns.New(tb)
	x, r, y := lab.NS("x"), lab.NS("r"), lab.NS("y")
	xr, ry := lab.Link(x, r), lab.Link(r, y)
	y.Start("iperf3-server", "iperf3", "-s")
	y.WaitTCPListen(5201, 10*time.Second)
	forward(tb, r, true)
	toY, toX := subnet(ry.BIP), subnet(xr.AIP)
	x.MustRun("ip", "route", "add", toY, "via", xr.BIP.String())
	y.MustRun("ip", "route", "add", toX, "via", ry.AIP.String())
	rawRouted := measure(tb, x, ry.BIP.String(), dur, nil)
	forward(tb, r, false)
	x.MustRun("ip", "route", "del", toY)
	y.MustRun("ip", "route", "del", toX)
	dr := r.StartDaemon(bin, opts("relay-r"))
	dx := x.StartDaemon(bin, opts("relay-x", dr))
	dy := y.StartDaemon(bin, opts("relay-y", dr))
	dy.MustCLI("firewall", "allow", "tcp", "5201")
	waitPing(lab, x, dy.ID.Address)
	var path struct{ Routes []struct{ Addr, Path string } }
	if err := dx.CLIJSON(&path, "routes"); err == nil {
		for _, p := range path.Routes {
			if p.Addr == dy.ID.Address {
				fmt.Printf("relay case: x's path to y: %s (r is %s)\n", p.Path, dr.ID.PeerID)
			}
		}
	}
	ovRelay := measure(tb, x, dy.ID.Address, dur, []daemonProc{{"x (sender)", dx.Proc}, {"r (relay)", dr.Proc}, {"y (receiver)", dy.Proc}})
	lab.Close()

	fmt.Println()
	fmt.Printf("%-34s %14s %14s %10s\n", "path", "1 stream", "4 streams", "RTT")
	row := func(name string, f, ref figures) {
		ratio := ""
		if ref.single > 0 {
			ratio = fmt.Sprintf("   (%.2f / %.2f / %.1fx of raw)", f.single/ref.single, f.four/ref.four, f.rtt/ref.rtt)
		}
		fmt.Printf("%-34s %14s %14s %8.3f ms%s\n", name, gbit(f.single), gbit(f.four), f.rtt, ratio)
	}
	row("raw veth a–b", rawDirect, figures{})
	row("overlay a–b (direct)", ovDirect, rawDirect)
	row("raw veth x–r–y (r forwards IP)", rawRouted, figures{})
	row("overlay x–r–y (r relays)", ovRelay, rawRouted)
	fmt.Println()
	fmt.Println("reference, 2 cores: Yggdrasil 0.5.14 0.95 Gbit/s single stream (0.64 across one relay, RTT 0.85 ms);")
	fmt.Println("                    wireguard-go 1.5 Gbit/s (RTT 0.78 ms)")
	fmt.Println()
	fmt.Println("daemon CPU during the single-stream runs (CPU seconds per GB carried; 1 core = 1 s/s):")
	for _, f := range []struct {
		name string
		f    figures
	}{{"a–b", ovDirect}, {"x–r–y", ovRelay}} {
		for _, c := range f.f.cpu {
			fmt.Printf("  %-6s %-14s %6.2f s/GB\n", f.name, c.who, c.secPerG)
		}
	}
	if profDir != "" {
		// Lab.Close stopped the daemons with SIGINT: their profiles are written.
		for _, tag := range []string{"direct-a", "direct-b", "relay-x", "relay-r", "relay-y"} {
			path := filepath.Join(profDir, tag+".pprof")
			out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=25", bin, path).CombinedOutput()
			if err != nil {
				fmt.Printf("profile %s: %v\n", path, err)
			}
			fmt.Printf("== CPU profile of %s (%s)\n%s\n", tag, path, out)
		}
	}
}

// daemonProc names a daemon whose CPU time measure samples.
type daemonProc struct {
	who string
	p   *netns.Proc
}

// measure runs iperf3 (one stream, then four) and ping from ns to addr.
// daemons, if given, are sampled for CPU time during the single-stream run.
func measure(tb *nodetest.ProgramTB, ns *netns.NS, addr string, dur time.Duration, daemons []daemonProc) figures {
	var f figures
	before := make([]float64, len(daemons))
	for i, d := range daemons {
		before[i] = cpuSeconds(tb, d.p.Pid())
	}
	var bytes float64
	f.single, bytes = iperf(tb, ns, addr, dur, 1)
	for i, d := range daemons {
		used := cpuSeconds(tb, d.p.Pid()) - before[i]
		f.cpu = append(f.cpu, cpuUse{who: d.who, secPerG: used / (bytes / 1e9)})
	}
	f.four, _ = iperf(tb, ns, addr, dur, 4)
	f.rtt = pingRTT(tb, ns, addr)
	tb.Log(fmt.Sprintf("%s: %s, %s (-P 4), %.3f ms", addr, gbit(f.single), gbit(f.four), f.rtt))
	return f
}

// iperf returns the receiver's bit rate and the bytes it received.
func iperf(tb *nodetest.ProgramTB, ns *netns.NS, addr string, dur time.Duration, streams int) (float64, float64) {
	ctx, cancel := context.WithTimeout(context.Background(), dur+60*time.Second)
	defer cancel()
	args := []string{"-c", addr, "-t", strconv.Itoa(int(dur.Seconds())), "-P", strconv.Itoa(streams), "-J"}
	out, err := ns.Command(ctx, "iperf3", args...).Output()
	var res struct {
		End struct {
			SumReceived struct {
				Bytes         float64 `json:"bytes"`
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if jerr := json.Unmarshal(out, &res); jerr != nil || res.Error != "" || err != nil {
		tb.Fatalf("iperf3 %s in %s: %v %s %v", strings.Join(args, " "), ns.Tag, err, res.Error, jerr)
	}
	return res.End.SumReceived.BitsPerSecond, res.End.SumReceived.Bytes
}

var rttLine = regexp.MustCompile(`= [\d.]+/([\d.]+)/`)

// pingRTT returns the average RTT of 50 pings, 20 ms apart, in ms.
func pingRTT(tb *nodetest.ProgramTB, ns *netns.NS, addr string) float64 {
	out, err := ns.Run("ping", "-c", "50", "-i", "0.02", "-q", addr)
	m := rttLine.FindStringSubmatch(out)
	if err != nil || m == nil {
		tb.Fatalf("ping %s in %s: %v %s", addr, ns.Tag, err, out)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func waitPing(lab *netns.Lab, ns *netns.NS, addr string) {
	lab.Eventually(30*time.Second, "ping "+addr+" over the overlay", func() bool {
		_, err := ns.Run("ping", "-c", "1", "-W", "2", addr)
		return err == nil
	})
}

func forward(tb *nodetest.ProgramTB, ns *netns.NS, on bool) {
	v := "0"
	if on {
		v = "1"
	}
	ns.MustRun("sh", "-c", "echo "+v+" > /proc/sys/net/ipv4/ip_forward")
}

// cpuSeconds is the user+system CPU time of a process, from /proc.
func cpuSeconds(tb *nodetest.ProgramTB, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatalf("cpu time of %d: %v", pid, err)
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

func subnet(a netip.Addr) string { return netip.PrefixFrom(a, 24).Masked().String() }

func gbit(bps float64) string { return fmt.Sprintf("%.2f Gbit/s", bps/1e9) }

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func cpus() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	n := strings.Count(string(b), "\nprocessor") + 1
	model := ""
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			_, model, _ = strings.Cut(line, ": ")
			break
		}
	}
	return fmt.Sprintf("%d CPUs (%s)", n, model)
}
