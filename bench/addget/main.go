// Command addget measures `myconet add` and `myconet get` as a user runs them:
// the built binary, a fresh home, a large file and a directory of many small
// files. It prints wall time, MB/s, peak RSS of the myconet process, and the
// ratio to single-core SHA-256 throughput measured in the same run.
//
//	go run ./bench/addget [-size 1GiB] [-files 10000] [-keep]
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	size := flag.Int64("size", 1<<30, "bytes of the large file")
	nfiles := flag.Int("files", 10000, "number of small files (1–8 KiB)")
	keep := flag.Bool("keep", false, "keep the work directory")
	flag.Parse()
	if err := run(*size, *nfiles, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "addget:", err)
		os.Exit(1)
	}
}

func run(size int64, nfiles int, keep bool) error {
	work, err := os.MkdirTemp("", "myconet-bench-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(work)
	}
	bin := filepath.Join(work, "myconet")
	build := exec.Command("go", "build", "-o", bin, "./cmd/myconet")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	big := filepath.Join(work, "big.bin")
	if err := writeRandom(big, size); err != nil {
		return err
	}
	small := filepath.Join(work, "small")
	if err := writeSmallFiles(small, nfiles); err != nil {
		return err
	}

	shaMem := sha256Memory()
	shaFile, err := sha256File(big)
	if err != nil {
		return err
	}
	fmt.Printf("machine: %d cores; SHA-256 one core: %.0f MB/s in memory, %.0f MB/s reading %s\n",
		cores(), shaMem/1e6, shaFile/1e6, human(size))

	home := filepath.Join(work, "home")
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
	mri := strings.TrimSpace(r.out)
	rate := float64(size) / r.wall.Seconds()
	fmt.Printf("add %s file:   %6.2f s  %7.0f MB/s  %.2f× SHA-256 (file)  peak RSS %d MB\n",
		human(size), r.wall.Seconds(), rate/1e6, rate/shaFile, r.maxRSS>>20)

	out := filepath.Join(work, "big.out")
	r, err = myco(bin, env, "get", mri, "-o", out)
	if err != nil {
		return err
	}
	rate = float64(size) / r.wall.Seconds()
	fmt.Printf("get %s file:   %6.2f s  %7.0f MB/s  %.2f× SHA-256 (memory)  peak RSS %d MB\n",
		human(size), r.wall.Seconds(), rate/1e6, rate/shaMem, r.maxRSS>>20)
	os.Remove(out)

	r, err = myco(bin, env, "add", small, "--title", "small files", "-q")
	if err != nil {
		return err
	}
	fmt.Printf("add %d small files: %6.2f s  %7.0f files/s  peak RSS %d MB\n",
		nfiles, r.wall.Seconds(), float64(nfiles)/r.wall.Seconds(), r.maxRSS>>20)
	smri := strings.TrimSpace(r.out)
	r, err = myco(bin, env, "get", smri, "-o", filepath.Join(work, "small.out"))
	if err != nil {
		return err
	}
	fmt.Printf("get %d small files: %6.2f s  %7.0f files/s  peak RSS %d MB\n",
		nfiles, r.wall.Seconds(), float64(nfiles)/r.wall.Seconds(), r.maxRSS>>20)
	return nil
}

type result struct {
	out    string
	wall   time.Duration
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
	}
	if err != nil {
		return r, fmt.Errorf("myconet %s: %w", strings.Join(args, " "), err)
	}
	return r, nil
}

func writeRandom(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{1})
	_, err = io.CopyN(f, rng, size)
	return err
}

func writeSmallFiles(dir string, n int) error {
	rng := rand.New(rand.NewPCG(2, 3))
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i%100))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		data := make([]byte, 1024+rng.IntN(7*1024+1))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%05d.txt", i)), data, 0o644); err != nil {
			return err
		}
	}
	return nil
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

func sha256File(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := sha256.New()
	start := time.Now()
	n, err := io.CopyBuffer(h, f, make([]byte, 1<<20))
	if err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
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
