package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/nodetest"

	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"

	"github.com/myconet/myconet/node"
)

// writeRand writes size pseudo-random bytes (from seed) to path.
func writeRand(path string, seed uint64, size int64) error {
	r := rand.New(rand.NewPCG(seed, 7))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for range size {
		w.WriteByte(byte(r.Uint32()))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// addPackage adds a file of size random bytes on nd.
func addPackage(ctx context.Context, tb *nodetest.ProgramTB, nd *node.Node, seed uint64, size int64) (apitype.AddResult, error) {
	path := filepath.Join(tb.TempDir(), fmt.Sprintf("p%d.bin", seed))
	if err := writeRand(path, seed, size); err != nil {
		return apitype.AddResult{}, err
	}
	res, err := nd.Add(ctx, apitype.AddRequest{Path: path, Title: fmt.Sprintf("package %d", seed)}, nil)
	os.Remove(path)
	return res, err
}

// pct returns the p-th percentile (0–100) of sorted xs, nearest rank.
func pct[T any](sorted []T, p float64) T {
	var zero T
	if len(sorted) == 0 {
		return zero
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func sortedDurations(ds []time.Duration) []time.Duration {
	out := slices.Clone(ds)
	slices.Sort(out)
	return out
}

func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	case d < 10*time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	default:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func bytesStr(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.2f MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", b)
	}
}

// memory returns the process's resident set now and at its peak, and the Go
// heap in use, in bytes.
func memory() (rss, peak, heap int64) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	heap = int64(m.HeapInuse)
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0, heap
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return rss, peak, heap
}

func memLine() string {
	rss, peak, heap := memory()
	return fmt.Sprintf("RSS %s (peak %s), Go heap in use %s, goroutines %d",
		bytesStr(float64(rss)), bytesStr(float64(peak)), bytesStr(float64(heap)), runtime.NumGoroutine())
}

// hopsFrom returns every peer's distance in connections from src over the
// mocknet's current connections (-1: unreachable).
func hopsFrom(mn mocknet.Mocknet, ids []peer.ID, src int) []int {
	index := map[peer.ID]int{}
	for i, id := range ids {
		index[id] = i
	}
	dist := make([]int, len(ids))
	for i := range dist {
		dist[i] = -1
	}
	dist[src] = 0
	queue := []int{src}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		n := mn.Net(ids[i])
		if n == nil {
			continue
		}
		for _, p := range n.Peers() {
			j, ok := index[p]
			if ok && dist[j] < 0 {
				dist[j] = dist[i] + 1
				queue = append(queue, j)
			}
		}
	}
	return dist
}

// sleepCtx waits d or until ctx ends (polling loops only).
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func sortedFloats(xs []float64) []float64 {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}
