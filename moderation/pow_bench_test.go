package moderation

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"testing"
)

// BenchmarkWorkHash measures one proof-of-work attempt (midstate restart,
// nonce, finalisation): its rate is what DefaultDifficulty is chosen from.
func BenchmarkWorkHash(b *testing.B) {
	for _, n := range []int{102, 390} { // prefix of a vote with an empty and a 280-byte reason
		b.Run(byteCount(n), func(b *testing.B) {
			w, err := newWorkHasher(make([]byte, n))
			if err != nil {
				b.Fatal(err)
			}
			c0 := cpuTime()
			for i := 0; b.Loop(); i++ {
				w.work(uint64(i))
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mhash/s")
			if cpu := cpuTime() - c0; cpu > 0 {
				b.ReportMetric(float64(b.N)/cpu.Seconds()/1e6, "Mhash/cpu-s")
			}
		})
	}
}

// BenchmarkWorkHashFull is the naive attempt (hash the whole input) for
// comparison.
func BenchmarkWorkHashFull(b *testing.B) {
	for _, n := range []int{102, 390} {
		b.Run(byteCount(n), func(b *testing.B) {
			buf := make([]byte, n+8)
			for i := 0; b.Loop(); i++ {
				binary.BigEndian.PutUint64(buf[n:], uint64(i))
				sha256.Sum256(buf)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mhash/s")
		})
	}
}

func byteCount(n int) string {
	return strconv.Itoa(n) + "B"
}
