// Command fetch measures retrieval between two daemons on loopback, as users
// run them: the built binary, daemon A holding the content, daemon B
// connected to A running `myconet site get`. It prints MB/s beside a plain TCP
// copy over loopback measured in the same run, files/s for a directory of
// small files, and the daemons' RSS when idle and B's peak during transfer.
//
// Each round starts a fresh receiver B for each measurement, so nothing is
// held there beforehand: `get -o FILE` of the big file (MB/s, ratio to
// single-core SHA-256 over the same file in the same round, CPU seconds per
// GiB of sender and receiver, B's peak RSS), `get` of the small files
// (files/s), and on a remote file the time to the first byte of `cat` and to
// a 1 MiB Range request at 900 MiB (through the API's /cat), and `site get`
// of the big file on a fresh receiver (the transfer alone, no file written).
// Each round also times the disk floor of `get -o`: the sender's read and
// the receiver's two writes (store and file) of the same bytes, direct and
// at once, which two daemons sharing one disk cannot beat.
// With several -bin binaries, each has its own sender and they take turns in
// every round.
//
//	go run ./bench/fetch [-size 1073741824] [-files 10000] [-rounds 3] [-bin a,b] [-mode get|stream|all]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/myconet/myconet/bench/internal/benchdata"
)

func main() {
	size := flag.Int64("size", 1<<30, "bytes of the large file")
	nfiles := flag.Int("files", 10000, "small files (1–8 KiB)")
	flag.StringVar(&profileDir, "profile", "", "write both daemons' CPU profiles of the large transfer to `DIR` (a.pprof, b.pprof)")
	flag.IntVar(&profileSeconds, "profile-seconds", 3, "length of the -profile window, from the start of the large transfer")
	flag.StringVar(&profileKind, "profile-kind", "profile", "with -profile: `profile` (CPU, a.pprof) or trace (runtime/trace for off-CPU views, a.trace: go tool trace -pprof=sync|net|syscall|sched)")
	flag.IntVar(&rounds, "rounds", 1, "rounds; each round runs every binary in turn")
	flag.StringVar(&senderDir, "sender-dir", "", "put the senders' homes under `DIR` (another disk, or /dev/shm), so that the two daemons do not share one disk as two machines would not (default: beside the receivers')")
	flag.StringVar(&binList, "bin", "", "comma-separated myconet `binaries` to compare, alternately (default: build ./cmd/myconet)")
	flag.StringVar(&mode, "mode", "all", "what to measure: get (the big file and the small files), stream (first byte, Range seek), or all")
	flag.Parse()
	if err := run(*size, *nfiles); err != nil {
		fmt.Fprintln(os.Stderr, "fetch:", err)
		os.Exit(1)
	}
}

type daemon struct {
	home string
	cmd  *exec.Cmd
	bin  string
}

func (d *daemon) run(args ...string) (string, error) {
	cmd := exec.Command(d.bin, args...)
	cmd.Env = append(os.Environ(), "MYCONET_HOME="+d.home)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		return "", fmt.Errorf("myconet %s: %v %s", strings.Join(args, " "), err, stderr)
	}
	return string(out), nil
}

func startDaemon(bin, home, api string) (*daemon, error) {
	d := &daemon{home: home, bin: bin}
	d.cmd = exec.Command(bin, "daemon", "--listen", "/ip4/127.0.0.1/tcp/0", "--api", api, "--gateway", "none", "--no-tun")
	d.cmd.Env = append(os.Environ(), "MYCONET_HOME="+home)
	logFile, err := os.Create(home + ".log") // beside the home, which the daemon creates
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	d.cmd.Stdout, d.cmd.Stderr = logFile, logFile
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(home, "api")); err == nil {
			return d, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("daemon in %s did not start", home)
		}
		time.Sleep(50 * time.Millisecond) // polling for the api file
	}
}

func (d *daemon) stop() {
	d.cmd.Process.Signal(os.Interrupt)
	d.cmd.Wait()
}

// rss returns the current and peak resident set of the daemon, in MB.
func (d *daemon) rss() (cur, peak int64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			cur = v >> 10
		case "VmHWM:":
			peak = v >> 10
		}
	}
	return cur, peak
}

func run(size int64, nfiles int) error {
	work, err := os.MkdirTemp("", "myconet-fetchbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bins, err := binaries(work)
	if err != nil {
		return err
	}
	tcp, err := tcpCopy(size)
	if err != nil {
		return err
	}
	fmt.Printf("loopback TCP copy of %d MiB: %.0f MB/s\n", size>>20, tcp/1e6)

	big := filepath.Join(work, "big.bin")
	start := time.Now()
	if err := benchdata.WriteRandom(big, size, 7); err != nil {
		return err
	}
	disk := float64(size) / time.Since(start).Seconds()
	fmt.Printf("writing the %d MiB input file (ChaCha8 + write + fsync, the disk's pace for B's store): %.0f MB/s\n", size>>20, disk/1e6)
	small := filepath.Join(work, "small")
	if err := benchdata.WriteSmall(small, nfiles, rand.New(rand.NewPCG(5, 6)), "f%05d"); err != nil {
		return err
	}

	// One sender per binary, holding both packages for every round.
	senders := make([]*sender, len(bins))
	for i, bin := range bins {
		aHome := filepath.Join(work, fmt.Sprintf("a%d", i))
		if senderDir != "" {
			d, err := os.MkdirTemp(senderDir, "myconet-fetchbench-sender-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(d)
			aHome = filepath.Join(d, "a")
		}
		a, err := startDaemon(bin, aHome, "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer a.stop()
		if _, err := a.run("quota", "set", "disk", "unlimited"); err != nil {
			return err
		}
		s := &sender{daemon: a}
		if s.big, err = a.run("add", big, "--title", "big", "-q"); err != nil {
			return err
		}
		if s.small, err = a.run("add", small, "--title", "small", "-q"); err != nil {
			return err
		}
		s.big, s.small = strings.TrimSpace(s.big), strings.TrimSpace(s.small)
		idJSON, err := a.run("id", "--json")
		if err != nil {
			return err
		}
		var id struct{ Listen []string }
		if err := json.Unmarshal([]byte(idJSON), &id); err != nil || len(id.Listen) == 0 {
			return fmt.Errorf("no listen address for A: %s", idJSON)
		}
		s.addr = id.Listen[0]
		senders[i] = s
	}
	time.Sleep(2 * time.Second) // let the senders settle before reading idle RSS
	for i, s := range senders {
		cur, _ := s.rss()
		fmt.Printf("[%s] idle sender RSS holding %d MiB: %d MB\n", label(bins, i), size>>20, cur)
	}

	for round := 1; round <= rounds; round++ {
		for i, bin := range bins {
			s := senders[i]
			tag := fmt.Sprintf("[%s] round %d", label(bins, i), round)
			sha, err := benchdata.SHA256File(big)
			if err != nil {
				return err
			}
			// What the previous measurement left dirty in the page cache
			// (a file written buffered) would be written back during this
			// one: write it out first.
			syscall.Sync()
			floor, err := diskFloor(big, work, size)
			if err != nil {
				return err
			}
			fmt.Printf("%s disk floor of get -o: reading %d MiB and writing it twice, direct, at once: %.2f s (%.0f MB/s of file, %.2f× SHA-256)\n",
				tag, size>>20, floor.Seconds(), float64(size)/floor.Seconds()/1e6, float64(size)/floor.Seconds()/sha)
			if mode == "all" || mode == "stream" {
				if err := streamRound(tag, bin, work, s, size); err != nil {
					fmt.Printf("%s stream: FAILED: %v\n", tag, err)
				}
			}
			if mode == "all" || mode == "get" {
				if err := getRound(tag, bin, work, s, size, nfiles, sha, tcp); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Flags of the rounds.
var (
	rounds    int
	binList   string
	mode      string
	senderDir string
)

// binaries returns the myconet binaries to compare: -bin's, or one built
// from ./cmd/myconet.
func binaries(work string) ([]string, error) {
	if binList != "" {
		return strings.Split(binList, ","), nil
	}
	bin := filepath.Join(work, "myconet")
	build := exec.Command("go", "build", "-o", bin, "./cmd/myconet")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	return []string{bin}, nil
}

func label(bins []string, i int) string {
	if len(bins) == 1 {
		return "myconet"
	}
	return filepath.Base(bins[i])
}

// sender is a daemon holding the big file and the small files.
type sender struct {
	*daemon
	addr, big, small string
}

// receiver starts a fresh daemon connected to s.
func receiver(bin, work string, s *sender) (*daemon, error) {
	home, err := os.MkdirTemp(work, "b")
	if err != nil {
		return nil, err
	}
	b, err := startDaemon(bin, home, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"quota", "set", "disk", "unlimited"},
		// B must not take A's packages as replicas on its own (R=3 makes
		// it responsible for them): this measures the fetch a user asks for.
		{"quota", "set", "replicas", "1B"},
		{"connect", s.addr},
	} {
		if _, err := b.run(args...); err != nil {
			b.stop()
			return nil, err
		}
	}
	return b, nil
}

// getRound measures `get -o FILE` of the big file and of the small files on
// a fresh receiver.
func getRound(tag, bin, work string, s *sender, size int64, nfiles int, sha, tcp float64) error {
	b, err := receiver(bin, work, s)
	if err != nil {
		return err
	}
	defer b.stop()
	out := filepath.Join(b.home, "big.out")
	syscall.Sync() // as before the disk floor
	stopProfiles := profile(s.daemon, b)
	aCPU, bCPU := s.cpu(), b.cpu()
	aWait, bWait, pressure := s.runDelay(), b.runDelay(), cpuPressure()
	scanned, stalls := reclaimScanned(), compactStalls()
	start := time.Now()
	cli, err := b.timed("get", s.big, "-o", out)
	if err != nil {
		return err
	}
	el := time.Since(start)
	stopProfiles()
	aCPU, bCPU = s.cpu()-aCPU, b.cpu()-bCPU
	aWait, bWait, pressure = s.runDelay()-aWait, b.runDelay()-bWait, cpuPressure()-pressure
	_, peak := b.rss()
	gib := float64(size) / (1 << 30)
	rate := float64(size) / el.Seconds()
	fmt.Printf("%s get %d MiB A→B -o FILE: %.2f s, %.0f MB/s, %.2f× SHA-256 (%.0f MB/s), %.3f× loopback TCP; CPU-s/GiB: sender %.2f, receiver %.2f + CLI %.2f; receiver peak RSS %d MB\n",
		tag, size>>20, el.Seconds(), rate/1e6, rate/sha, sha/1e6, rate/tcp, aCPU/gib, bCPU/gib, cli/gib, peak)
	// Runnable but not running: how long each daemon's threads waited for
	// a CPU (summed over threads), and for what share of the transfer some
	// task on the machine did (/proc/pressure/cpu "some"): on a shared
	// machine this is most of what looks like an off-CPU wait.
	fmt.Printf("%s   run-queue wait during it: sender %.2f s, receiver %.2f s; machine CPU pressure %.0f%% of the time; CLI system time %.2f s; pages scanned in direct reclaim %d, compaction stalls %d\n",
		tag, aWait, bWait, 100*pressure/el.Seconds(), lastSys, reclaimScanned()-scanned, compactStalls()-stalls)
	os.Remove(out)

	// The same again, now that B holds the package: what reading it out of
	// B's store and writing the file costs, apart from the transfer.
	start = time.Now()
	if _, err := b.timed("get", s.big, "-o", out); err != nil {
		return err
	}
	el = time.Since(start)
	fmt.Printf("%s get %d MiB again, now held by B: %.2f s, %.0f MB/s\n", tag, size>>20, el.Seconds(), float64(size)/el.Seconds()/1e6)
	os.Remove(out)

	start = time.Now()
	if _, err := b.run("get", s.small, "-o", filepath.Join(b.home, "small.out")); err != nil {
		return err
	}
	el = time.Since(start)
	fmt.Printf("%s get %d small files A→B: %.2f s, %.0f files/s\n", tag, nfiles, el.Seconds(), float64(nfiles)/el.Seconds())
	b.stop() // else it is a second provider of the big file
	return fetchOnly(tag, bin, work, s, size, sha)
}

// fetchOnly measures, on a fresh receiver, `site get` of the big file: the
// transfer into B's store without writing a file, so without the CLI's
// page-cache writes, whose system time swings with the machine's memory
// (1 GiB cost 0.5-4.7 s of it on a virtual machine, copying into page-cache
// pages first touched).
func fetchOnly(tag, bin, work string, s *sender, size int64, sha float64) error {
	b, err := receiver(bin, work, s)
	if err != nil {
		return err
	}
	defer b.stop()
	syscall.Sync() // as before the disk floor
	aCPU, bCPU := s.cpu(), b.cpu()
	start := time.Now()
	if _, err := b.run("site", "get", s.big); err != nil {
		return err
	}
	el := time.Since(start)
	aCPU, bCPU = s.cpu()-aCPU, b.cpu()-bCPU
	gib := float64(size) / (1 << 30)
	rate := float64(size) / el.Seconds()
	fmt.Printf("%s fetch only (site get) %d MiB A→B: %.2f s, %.0f MB/s, %.2f× SHA-256; CPU-s/GiB: sender %.2f, receiver %.2f\n",
		tag, size>>20, el.Seconds(), rate/1e6, rate/sha, aCPU/gib, bCPU/gib)
	return nil
}

// streamRound measures, each on a fresh receiver holding nothing, the time
// to the first byte of `cat` of the big file and the time to answer a Range
// request of 1 MiB at 900/1024 of it.
func streamRound(tag, bin, work string, s *sender, size int64) error {
	b, err := receiver(bin, work, s)
	if err != nil {
		return err
	}
	off := size / 1024 * 900
	seek, err := b.catTimed(s.big, fmt.Sprintf("bytes=%d-%d", off, off+1<<20-1), 1<<20)
	b.stop()
	if err != nil {
		return fmt.Errorf("%w\nreceiver's warnings:\n%s\nsender's warnings:\n%s", err, b.warnings(), s.warnings())
	}
	b, err = receiver(bin, work, s)
	if err != nil {
		return err
	}
	first, err := b.catTimed(s.big, "", 1)
	b.stop()
	if err != nil {
		return fmt.Errorf("%w\nreceiver's warnings:\n%s\nsender's warnings:\n%s", err, b.warnings(), s.warnings())
	}
	fmt.Printf("%s remote %d MiB file: first byte of cat %.3f s; Range of 1 MiB at %d MiB answered in %.3f s\n",
		tag, size>>20, first.Seconds(), off>>20, seek.Seconds())
	return nil
}

// warnings returns the last warnings and errors in the daemon's log.
func (d *daemon) warnings() string {
	data, err := os.ReadFile(d.home + ".log")
	if err != nil {
		return "  (no log: " + err.Error() + ")"
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			out = append(out, "  "+l)
		}
	}
	return strings.Join(out[max(0, len(out)-15):], "\n")
}

// catTimed asks the daemon's API for the file ref names (with a Range
// header if rng is not empty) and returns the time until want bytes of the
// body arrived.
func (d *daemon) catTimed(ref, rng string, want int64) (time.Duration, error) {
	addr, err := os.ReadFile(filepath.Join(d.home, "api"))
	if err != nil {
		return 0, err
	}
	token, err := os.ReadFile(filepath.Join(d.home, "api.token"))
	if err != nil {
		return 0, err
	}
	u := fmt.Sprintf("http://%s/api/v1/cat?ref=%s", strings.TrimSpace(string(addr)), url.QueryEscape(ref))
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return 0, fmt.Errorf("cat %s: %s", ref, resp.Status)
	}
	if _, err := io.CopyN(io.Discard, resp.Body, want); err != nil {
		return 0, fmt.Errorf("cat %s: %w", ref, err)
	}
	return time.Since(start), nil
}

// timed runs a CLI command and returns its CPU seconds.
func (d *daemon) timed(args ...string) (float64, error) {
	cmd := exec.Command(d.bin, args...)
	cmd.Env = append(os.Environ(), "MYCONET_HOME="+d.home)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("myconet %s: %v", strings.Join(args, " "), err)
	}
	lastSys = cmd.ProcessState.SystemTime().Seconds()
	return (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds(), nil
}

// lastSys is the system CPU seconds of the last timed command.
var lastSys float64

// reclaimScanned returns the pages the kernel has scanned in direct
// reclaim so far (/proc/vmstat): allocations that had to free memory
// first, whose cost lands as system time on whoever allocated (a page
// cache filling up with a big file written or read).
func reclaimScanned() int64 { return vmstat("pgscan_direct") }

// compactStalls returns how often an allocation so far waited for memory
// compaction (/proc/vmstat compact_stall): large page-cache folios of a
// big file need contiguous memory, and compacting costs the allocator
// system time.
func compactStalls() int64 { return vmstat("compact_stall") }

// vmstat sums the /proc/vmstat counters whose names start with prefix.
func vmstat(prefix string) int64 {
	data, err := os.ReadFile("/proc/vmstat")
	if err != nil {
		return 0
	}
	var n int64
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && strings.HasPrefix(f[0], prefix) {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			n += v
		}
	}
	return n
}

// cpu returns the daemon's CPU seconds so far (user + system).
func (d *daemon) cpu() float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100 // USER_HZ
}

// runDelay returns the seconds the daemon's threads (those alive now) have
// spent runnable on a run queue, waiting for a CPU (/proc/PID/task/*/schedstat).
func (d *daemon) runDelay() float64 {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", d.cmd.Process.Pid))
	var ns float64
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if f := strings.Fields(string(data)); err == nil && len(f) >= 2 {
			v, _ := strconv.ParseFloat(f[1], 64)
			ns += v
		}
	}
	return ns / 1e9
}

// cpuPressure returns the seconds during which some task on the machine
// waited for a CPU (the "some" total of /proc/pressure/cpu); 0 without PSI.
func cpuPressure() float64 {
	data, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	_, total, ok := strings.Cut(line, "total=")
	if !ok {
		return 0
	}
	us, _ := strconv.ParseFloat(strings.TrimSpace(total), 64)
	return us / 1e6
}

// tcpCopy measures copying n bytes over one loopback TCP connection.
func tcpCopy(n int64) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_, err = io.Copy(io.Discard, c)
		done <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	start := time.Now()
	for sent := int64(0); sent < n; sent += int64(len(buf)) {
		if _, err := c.Write(buf); err != nil {
			return 0, err
		}
	}
	c.Close()
	if err := <-done; err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// With -profile, profileDir is where CPU profiles go, profileSeconds their
// length.
var (
	profileDir     string
	profileSeconds int
	profileKind    string // "profile" or "trace": the /debug/pprof endpoint
)

// profile starts CPU profiles of the daemons through their API's
// /debug/pprof/profile (profileSeconds long, from now) and returns a function
// that waits for them.
func profile(ds ...*daemon) (wait func()) {
	if profileDir == "" {
		return func() {}
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ext := ".pprof"
			if profileKind == "trace" {
				ext = ".trace"
			}
			out := filepath.Join(profileDir, string(rune('a'+i))+ext)
			if err := d.fetchProfile(ctx, out); err != nil {
				fmt.Fprintf(os.Stderr, "profile %s: %v\n", out, err)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond) // let both profiles begin
	return wg.Wait
}

func (d *daemon) fetchProfile(ctx context.Context, out string) error {
	addr, err := os.ReadFile(filepath.Join(d.home, "api"))
	if err != nil {
		return err
	}
	token, err := os.ReadFile(filepath.Join(d.home, "api.token"))
	if err != nil {
		return err
	}
	url := fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", strings.TrimSpace(string(addr)), profileKind, profileSeconds)
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}
