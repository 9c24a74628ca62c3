// Command fetch measures retrieval between two daemons on loopback, as users
// run them: the built binary, daemon A holding the content, daemon B
// connected to A running `myconet site get`. It prints MB/s beside a plain TCP
// copy over loopback measured in the same run, files/s for a directory of
// small files, and the daemons' RSS when idle and B's peak during transfer.
//
//	go run ./bench/fetch [-size 1GiB] [-files 10000]
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
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	size := flag.Int64("size", 1<<30, "bytes of the large file")
	nfiles := flag.Int("files", 10000, "small files (1–8 KiB)")
	flag.StringVar(&profileDir, "profile", "", "write both daemons' CPU profiles of the large transfer to `DIR` (a.pprof, b.pprof)")
	flag.IntVar(&profileSeconds, "profile-seconds", 3, "length of the -profile window, from the start of the large transfer")
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

// written returns the bytes the daemon has written with write(2) and
// pwrite(2) so far (/proc/PID/io wchar), or 0 when unreadable.
func (d *daemon) written() int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", d.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "wchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
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
	bin := filepath.Join(work, "myconet")
	build := exec.Command("go", "build", "-o", bin, "./cmd/myconet")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	tcp, err := tcpCopy(size)
	if err != nil {
		return err
	}
	fmt.Printf("loopback TCP copy of %d MiB: %.0f MB/s\n", size>>20, tcp/1e6)

	big := filepath.Join(work, "big.bin")
	start := time.Now()
	if err := writeRandom(big, size); err != nil {
		return err
	}
	disk := float64(size) / time.Since(start).Seconds()
	fmt.Printf("writing the %d MiB input file (ChaCha8 + write + fsync, the disk's pace for B's store): %.0f MB/s\n", size>>20, disk/1e6)
	small := filepath.Join(work, "small")
	if err := writeSmall(small, nfiles); err != nil {
		return err
	}
	a, err := startDaemon(bin, filepath.Join(work, "a"), "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer a.stop()
	b, err := startDaemon(bin, filepath.Join(work, "b"), "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer b.stop()
	for _, d := range []*daemon{a, b} {
		if _, err := d.run("quota", "set", "disk", "unlimited"); err != nil {
			return err
		}
	}
	// B must not take A's packages as replicas on its own (R=3 makes it
	// responsible for them): this measures the fetch a user asks for.
	if _, err := b.run("quota", "set", "replicas", "1B"); err != nil {
		return err
	}
	time.Sleep(3 * time.Second) // let both settle before reading idle RSS
	ca, _ := a.rss()
	cb, _ := b.rss()
	fmt.Printf("idle daemon RSS: %d MB, %d MB\n", ca, cb)

	idJSON, err := a.run("id", "--json")
	if err != nil {
		return err
	}
	var id struct{ Listen []string }
	if err := json.Unmarshal([]byte(idJSON), &id); err != nil || len(id.Listen) == 0 {
		return fmt.Errorf("no listen address for A: %s", idJSON)
	}
	if _, err := b.run("connect", id.Listen[0]); err != nil {
		return err
	}

	bigMRI, err := a.run("add", big, "--title", "big", "-q")
	if err != nil {
		return err
	}
	smallMRI, err := a.run("add", small, "--title", "small", "-q")
	if err != nil {
		return err
	}
	stopProfiles := profile(a, b)
	wrote := b.written()
	start = time.Now()
	if _, err := b.run("site", "get", strings.TrimSpace(bigMRI)); err != nil {
		return err
	}
	el := time.Since(start)
	stopProfiles()
	wrote = b.written() - wrote
	_, peak := b.rss()
	rate := float64(size) / el.Seconds()
	fmt.Printf("retrieve %d MiB A→B: %.2f s, %.0f MB/s, %.2f× loopback TCP, %.2f× the file write; B peak RSS %d MB; B wrote %.2f× the bytes fetched\n",
		size>>20, el.Seconds(), rate/1e6, rate/tcp, rate/disk, peak, float64(wrote)/float64(size))

	start = time.Now()
	if _, err := b.run("site", "get", strings.TrimSpace(smallMRI)); err != nil {
		return err
	}
	el = time.Since(start)
	fmt.Printf("retrieve %d small files A→B: %.2f s, %.0f files/s\n", nfiles, el.Seconds(), float64(nfiles)/el.Seconds())
	return nil
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

func writeRandom(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err = io.CopyN(f, rand.NewChaCha8([32]byte{7}), size); err != nil {
		return err
	}
	return f.Sync()
}

func writeSmall(dir string, n int) error {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i%100))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		data := make([]byte, 1024+rng.IntN(7*1024+1))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%05d", i)), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// With -profile, profileDir is where CPU profiles go, profileSeconds their
// length.
var (
	profileDir     string
	profileSeconds int
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
			out := filepath.Join(profileDir, string(rune('a'+i))+".pprof")
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
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", strings.TrimSpace(string(addr)), profileSeconds)
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
