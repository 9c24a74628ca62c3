package retrieval

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/sys/unix"

	"github.com/myconet/myconet/node/bandwidth"
	"github.com/myconet/myconet/node/content"
	"github.com/myconet/myconet/store"
)

// processCPU returns the CPU time (user + system) of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU seconds the whole process (both hosts) spent per
// GiB moved since start: on a shared machine throughput swings with the
// other load, while CPU per GiB says what each layer costs.
func reportCPU(b *testing.B, start time.Duration, size int64) {
	gib := float64(b.N) * float64(size) / (1 << 30)
	b.ReportMetric((processCPU()-start).Seconds()/gib, "cpu-s/GiB")
}

// BenchmarkFetchLoopback isolates the layers of a fetch between two real
// libp2p hosts on 127.0.0.1 TCP, built as node/p2p builds them (libp2p's
// default transports, security and yamux, the resource manager with the
// default service limits, auto-scaled), with retrieval's streams wrapped in
// the bandwidth quotas (unlimited) as node/network.go wraps them:
//
//	raw    io.Copy of 256 MiB over one stream, 1 MiB buffer
//	fetch  Fetch of a 256 MiB file (1 MiB raw leaves) from memory into a sink that counts
//	store  the same Fetch into a store.Batch (Keep, as a get; NoSync), a fresh store per round
//	serve  the Fetch into the counting sink, served from a store.DB written with fsync as an add
//	       writes it (so its pages left the page cache, as on a daemon after add), made cold
//	       again before each round
//	warm   the same with the store's files in the page cache
//	both   from that store (cold) into a fresh store.Batch: a whole get
//
// Each reports MB/s and the CPU seconds per GiB of the process (sender and
// receiver together); the second is the steadier figure on a shared machine.
//
// Run: go test -run '^$' -bench FetchLoopback -benchtime 3x ./node/retrieval
func BenchmarkFetchLoopback(b *testing.B) {
	if testing.Short() {
		b.Skip("256 MiB over loopback; skipped under -short")
	}
	const size = 256 << 20
	hs := nodeLikeHosts(b, 2)
	b.Run("raw", func(b *testing.B) { benchRawStream(b, hs, size) })

	prov := newMem()
	root, _ := importFile(b, prov, 7, size)
	unlimited := func(h host.Host) host.Host {
		return &bandwidth.Host{Host: h, Up: bandwidth.New(0, nil), Down: bandwidth.New(0, nil)}
	}
	memProv := newService(b, unlimited(hs[0]), prov, nil)
	req := newService(b, unlimited(hs[1]), nil, nil)
	fetch := func(b *testing.B, sink Sink) {
		st, err := req.Fetch(context.Background(), root, sink, FetchOptions{Providers: []peer.ID{hs[0].ID()}})
		if err != nil {
			b.Fatal(err)
		}
		if st.Bytes < size {
			b.Fatalf("fetched %d bytes, want at least %d", st.Bytes, size)
		}
	}
	b.Run("fetch", func(b *testing.B) {
		b.SetBytes(size)
		cpu := processCPU()
		for b.Loop() {
			fetch(b, &countSink{})
		}
		reportCPU(b, cpu, size)
	})
	intoStore := func(b *testing.B) {
		b.SetBytes(size)
		dir := b.TempDir()
		i := 0
		cpu := processCPU()
		for b.Loop() {
			b.StopTimer()
			i++
			db := openBenchStore(b, filepath.Join(dir, fmt.Sprint(i)), true)
			batch, err := db.NewBatch(store.BatchOptions{Keep: true})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			fetch(b, batch)
			b.StopTimer()
			batch.Abort()
			db.Close()
			b.StartTimer()
		}
		reportCPU(b, cpu, size)
	}
	b.Run("store", intoStore)

	// The provider serves from a real store from here on.
	sdir := b.TempDir()
	sdb := openBenchStore(b, sdir, false)
	defer sdb.Close()
	fill(b, sdb, prov, root)
	memProv.Close()
	newService(b, unlimited(hs[0]), sdb, nil)
	cold := func(b *testing.B) {
		b.StopTimer()
		dropCache(b, sdir)
		b.StartTimer()
	}
	b.Run("serve", func(b *testing.B) {
		b.SetBytes(size)
		cpu := processCPU()
		for b.Loop() {
			cold(b)
			fetch(b, &countSink{})
		}
		reportCPU(b, cpu, size)
	})
	b.Run("warm", func(b *testing.B) {
		b.SetBytes(size)
		fetch(b, &countSink{})
		cpu := processCPU()
		for b.Loop() {
			fetch(b, &countSink{})
		}
		reportCPU(b, cpu, size)
	})
	b.Run("both", func(b *testing.B) {
		cold(b)
		intoStore(b)
	})
}

func openBenchStore(b *testing.B, dir string, noSync bool) *store.DB {
	b.Helper()
	db, err := store.Open(store.Config{Path: filepath.Join(dir, "store.db"), Links: content.Links, NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// fill writes the DAG below root from src into db and pins it, as an add does.
func fill(b *testing.B, db *store.DB, src *memBlocks, root cid.Cid) {
	b.Helper()
	batch, err := db.NewBatch(store.BatchOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for c := range dagBlocks(b, src, root) {
		d, _ := src.Get(c)
		if err := batch.Put(c, d); err != nil {
			b.Fatal(err)
		}
	}
	if err := batch.Commit(store.Commit{Pin: store.Pin{Root: root, Reason: store.ReasonLocal}}); err != nil {
		b.Fatal(err)
	}
}

// dropCache asks the kernel to drop the cached pages of the files under dir.
func dropCache(b *testing.B, dir string) {
	b.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := f.Sync(); err != nil {
			return err
		}
		return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	})
	if err != nil {
		b.Fatal(err)
	}
}

const rawProto = "/myconet/bench-raw/1"

// benchRawStream copies size bytes per round over one new stream from hs[0]
// to hs[1].
func benchRawStream(b *testing.B, hs []host.Host, size int64) {
	done := make(chan error, 1)
	hs[1].SetStreamHandler(rawProto, func(s network.Stream) {
		n, err := io.CopyBuffer(io.Discard, s, make([]byte, 1<<20))
		if err == nil && n != size {
			err = io.ErrUnexpectedEOF
		}
		s.Close()
		done <- err
	})
	defer hs[1].RemoveStreamHandler(rawProto)
	buf := make([]byte, 1<<20)
	b.SetBytes(size)
	cpu := processCPU()
	for b.Loop() {
		s, err := hs[0].NewStream(context.Background(), hs[1].ID(), rawProto)
		if err != nil {
			b.Fatal(err)
		}
		for sent := int64(0); sent < size; sent += int64(len(buf)) {
			if _, err := s.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.CloseWrite(); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	reportCPU(b, cpu, size)
}
