// Command addget measures `myconet add` and `myconet get` as a user runs them:
// the built binary, a fresh home, a large file and a directory of many small
// files. It prints wall time, MB/s, CPU seconds per GiB and peak RSS of the
// myconet process, and the ratio to single-core SHA-256 over the same file
// measured right before, in the same round. Several -bin binaries (before and
// after a change) and Kubo (-ipfs, offline, a fresh IPFS_PATH in the work
// directory) take turns in every round.
//
//	go run ./bench/addget [-size 1073741824] [-files 10000] [-rounds 3] [-bin a,b] [-ipfs PATH] [-keep]
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/myconet/myconet/bench/internal/benchdata"
)

func main() {
	size := flag.Int64("size", 1<<30, "bytes of the large file")
	nfiles := flag.Int("files", 10000, "number of small files (1–8 KiB)")
	keep := flag.Bool("keep", false, "keep the work directory")
	flag.IntVar(&rounds, "rounds", 3, "rounds; each round runs every binary in turn")
	flag.StringVar(&binList, "bin", "", "comma-separated myconet `binaries` to compare (default: build ./cmd/myconet)")
	flag.StringVar(&ipfsBin, "ipfs", "", "an `ipfs` (Kubo) binary to run alternately, with ipfs add --cid-version=1 --raw-leaves --chunker=size-1048576")
	flag.Parse()
	if err := run(*size, *nfiles, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "addget:", err)
		os.Exit(1)
	}
}

var (
	rounds           int
	binList, ipfsBin string
)

func run(size int64, nfiles int, keep bool) error {
	work, err := os.MkdirTemp("", "myconet-bench-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(work)
	}
	var bins []string
	if binList != "" {
		bins = strings.Split(binList, ",")
	} else {
		bin := filepath.Join(work, "myconet")
		build := exec.Command("go", "build", "-o", bin, "./cmd/myconet")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build: %w", err)
		}
		bins = []string{bin}
	}
	big := filepath.Join(work, "big.bin")
	if err := benchdata.WriteRandom(big, size, 1); err != nil {
		return err
	}
	small := filepath.Join(work, "small")
	if err := benchdata.WriteSmall(small, nfiles, rand.New(rand.NewPCG(2, 3)), "f%05d.txt"); err != nil {
		return err
	}
	fmt.Printf("machine: %d cores; SHA-256 one core in memory: %.0f MB/s\n", cores(), sha256Memory()/1e6)

	for round := 1; round <= rounds; round++ {
		for i, bin := range bins {
			// SHA-256 over the same file right before each add: the ratio
			// is taken under the same load.
			sha, err := benchdata.SHA256File(big)
			if err != nil {
				return err
			}
			tag := fmt.Sprintf("[%s] round %d", filepath.Base(bin), round)
			if err := myconetRound(tag, bin, filepath.Join(work, fmt.Sprintf("home-%d-%d", round, i)), big, small, size, nfiles, sha); err != nil {
				return err
			}
		}
		if ipfsBin != "" {
			sha, err := benchdata.SHA256File(big)
			if err != nil {
				return err
			}
			if err := ipfsRound(fmt.Sprintf("[kubo] round %d", round), filepath.Join(work, fmt.Sprintf("ipfs-%d", round)), big, small, size, nfiles, sha); err != nil {
				return err
			}
		}
	}
	return nil
}

func myconetRound(tag, bin, home, big, small string, size int64, nfiles int, sha float64) error {
	defer os.RemoveAll(home)
	env := append(os.Environ(), "MYCONET_HOME="+home)
	if _, err := myco(bin, env, "init"); err != nil {
		return err
	}
	if _, err := myco(bin, env, "quota", "set", "disk", "unlimited"); err != nil {
		return err
	}
	r, err := myco(bin, env, "add", big, "--title", "bench", "-q")
	if err != nil {
		return err
	}
	report(tag, "add", size, r, sha)
	mri := strings.TrimSpace(r.out)
	out := filepath.Join(home, "big.out")
	if r, err = myco(bin, env, "get", mri, "-o", out); err != nil {
		return err
	}
	report(tag, "get (local)", size, r, sha)
	os.Remove(out)

	if r, err = myco(bin, env, "add", small, "--title", "small files", "-q"); err != nil {
		return err
	}
	fmt.Printf("%s add %d small files: %6.2f s  %7.0f files/s  peak RSS %d MB\n",
		tag, nfiles, r.wall.Seconds(), float64(nfiles)/r.wall.Seconds(), r.maxRSS>>20)
	smri := strings.TrimSpace(r.out)
	if r, err = myco(bin, env, "get", smri, "-o", filepath.Join(home, "small.out")); err != nil {
		return err
	}
	fmt.Printf("%s get %d small files (local): %6.2f s  %7.0f files/s  peak RSS %d MB\n",
		tag, nfiles, r.wall.Seconds(), float64(nfiles)/r.wall.Seconds(), r.maxRSS>>20)
	return nil
}

// ipfsRound runs Kubo's add on a fresh repository, offline.
func ipfsRound(tag, repo, big, small string, size int64, nfiles int, sha float64) error {
	defer os.RemoveAll(repo)
	env := append(os.Environ(), "IPFS_PATH="+repo)
	if _, err := myco(ipfsBin, env, "init", "--profile=test", "-e"); err != nil {
		return err
	}
	flags := []string{"--offline", "--cid-version=1", "--raw-leaves", "--chunker=size-1048576", "-Q"}
	r, err := myco(ipfsBin, env, append([]string{"add"}, append(flags, big)...)...)
	if err != nil {
		return err
	}
	report(tag, "add", size, r, sha)
	c := strings.TrimSpace(r.out)
	out := filepath.Join(repo, "big.out")
	if r, err = myco(ipfsBin, env, "get", "--offline", "--progress=false", c, "-o", out); err != nil {
		return err
	}
	report(tag, "get (local)", size, r, sha)
	if r, err = myco(ipfsBin, env, append([]string{"add", "-r"}, append(flags, small)...)...); err != nil {
		return err
	}
	fmt.Printf("%s add %d small files: %6.2f s  %7.0f files/s  peak RSS %d MB\n",
		tag, nfiles, r.wall.Seconds(), float64(nfiles)/r.wall.Seconds(), r.maxRSS>>20)
	return nil
}

// report prints one large-file measurement.
func report(tag, what string, size int64, r result, sha float64) {
	rate := float64(size) / r.wall.Seconds()
	fmt.Printf("%s %s %s: %6.2f s  %5.0f MB/s  %.2f× SHA-256 (%.0f MB/s)  CPU %.2f s/GiB  peak RSS %d MB\n",
		tag, what, human(size), r.wall.Seconds(), rate/1e6, rate/sha, sha/1e6, r.cpu/(float64(size)/(1<<30)), r.maxRSS>>20)
}

type result struct {
	out    string
	wall   time.Duration
	cpu    float64 // user + system seconds
	maxRSS int64
}

func myco(bin string, env []string, args ...string) (result, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	start := time.Now()
	err := cmd.Run()
	r := result{out: out.String(), wall: time.Since(start)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss << 10 // Linux reports KiB
		r.cpu = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	}
	if err != nil {
		return r, fmt.Errorf("myconet %s: %w", strings.Join(args, " "), err)
	}
	return r, nil
}

func sha256Memory() float64 {
	buf := make([]byte, 1<<20)
	start := time.Now()
	n := 0
	for time.Since(start) < time.Second {
		sha256.Sum256(buf)
		n++
	}
	return float64(n) * float64(len(buf)) / time.Since(start).Seconds()
}

func cores() int {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(data), "processor\t:")
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d B", n)
}
