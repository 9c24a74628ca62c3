// Package benchdata makes the inputs the benchmarks measure on, and the
// single-core SHA-256 rate they compare with.
package benchdata

import (
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// WriteRandom writes size pseudo-random bytes (ChaCha8 from seed) to path,
// and fsyncs it so that its writeback does not fall into a measurement.
func WriteRandom(path string, size int64, seed byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err = io.CopyN(f, rand.NewChaCha8([32]byte{seed}), size); err != nil {
		return err
	}
	return f.Sync()
}

// WriteSmall writes n files of 1–8 KiB of bytes from rng into 100
// directories d00…d99 of dir, named by the format name ("f%05d.txt").
func WriteSmall(dir string, n int, rng *rand.Rand, name string) error {
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i%100))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		data := make([]byte, 1024+rng.IntN(7*1024+1))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf(name, i)), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// SHA256File measures single-core SHA-256 over the file at path, in bytes
// per second (from the page cache after the first read).
func SHA256File(path string) (float64, error) {
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
