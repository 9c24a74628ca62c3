package retrieval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"

	"github.com/myconet/myconet/node/content"
)

// memBlocks is an in-memory block store that verifies like the store does.
// It serves as provider Blocks, requester Sink, and content.Blocks.
type memBlocks struct {
	mu  sync.Mutex
	m   map[cid.Cid][]byte
	bad int // Puts that failed verification
}

func newMem() *memBlocks { return &memBlocks{m: make(map[cid.Cid][]byte)} }

var errNotFound = errors.New("not found")

func (b *memBlocks) Put(c cid.Cid, data []byte) error {
	if err := content.VerifyBlock(c, data); err != nil {
		b.mu.Lock()
		b.bad++
		b.mu.Unlock()
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[c] = data
	return nil
}

func (b *memBlocks) Get(c cid.Cid) ([]byte, error) {
	b.mu.Lock()
	d, ok := b.m[c]
	b.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: %s", errNotFound, c)
	}
	return bytes.Clone(d), nil
}

func (b *memBlocks) View(c cid.Cid, fn func([]byte) error) error {
	b.mu.Lock()
	d, ok := b.m[c]
	b.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", errNotFound, c)
	}
	return fn(d)
}

func (b *memBlocks) Has(c cid.Cid) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.m[c]
	return ok, nil
}

func (b *memBlocks) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}

func (b *memBlocks) clone() *memBlocks {
	b.mu.Lock()
	defer b.mu.Unlock()
	o := newMem()
	for k, v := range b.m {
		o.m[k] = v
	}
	return o
}

// have and local give FetchOptions.Have/Local over b.
func (b *memBlocks) opts() (func(cid.Cid) (bool, error), func(cid.Cid) ([]byte, error)) {
	return b.Has, b.Get
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			out[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n - n%8; i < n; i++ {
		out[i] = byte(r.Uint32())
	}
	return out
}

func importPath(tb testing.TB, bs *memBlocks, path string) cid.Cid {
	tb.Helper()
	plan, err := content.PlanPath(path, false)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := content.Import(context.Background(), bs, plan, content.ImportOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return res.Root
}

// importFile imports n random bytes and returns the root and the bytes.
func importFile(tb testing.TB, bs *memBlocks, seed uint64, n int) (cid.Cid, []byte) {
	tb.Helper()
	data := randBytes(seed, n)
	p := filepath.Join(tb.TempDir(), "f")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return importPath(tb, bs, p), data
}

// importDir imports a directory of files small files and returns its root
// and path.
func importDir(tb testing.TB, bs *memBlocks, files int) (cid.Cid, string) {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "d")
	for i := range files {
		sub := filepath.Join(dir, fmt.Sprintf("s%02d", i%7))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			tb.Fatal(err)
		}
		data := randBytes(uint64(i+1000), 1024+i%7000)
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%05d.txt", i)), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return importPath(tb, bs, dir), dir
}

// dagBlocks lists every block below root.
func dagBlocks(tb testing.TB, bs *memBlocks, root cid.Cid) map[cid.Cid]int {
	tb.Helper()
	out := make(map[cid.Cid]int)
	err := content.Walk(context.Background(), bs, root, content.Links, func(c cid.Cid, data []byte) error {
		out[c] = len(data)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func readFile(tb testing.TB, bs *memBlocks, root cid.Cid) []byte {
	tb.Helper()
	r := content.NewReader(bs)
	nd, _, err := r.Resolve(context.Background(), root, nil)
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteFile(context.Background(), nd, &buf, nil); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// sameTree fails unless the files under a and b are byte-identical.
func sameTree(tb testing.TB, a, b string) {
	tb.Helper()
	n := 0
	err := filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(a, p)
		want, _ := os.ReadFile(p)
		got, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%s differs", rel)
		}
		n++
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if n == 0 {
		tb.Fatal("no files compared")
	}
}

func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// meshNet returns n connected mocknet hosts, closed on cleanup.
func meshNet(tb testing.TB, n int) (mocknet.Mocknet, []host.Host) {
	tb.Helper()
	mn, err := mocknet.FullMeshConnected(n)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { mn.Close() })
	return mn, mn.Hosts()
}

// newService starts a Service on h serving bs (nil: nothing).
func newService(tb testing.TB, h host.Host, bs Blocks, mod func(*Config)) *Service {
	tb.Helper()
	cfg := Config{Host: h, Blocks: bs, Links: content.Links, IdleTimeout: 2 * time.Second}
	if t, ok := tb.(*testing.T); ok && testing.Verbose() {
		cfg.Logger = testLogger(t)
	}
	if mod != nil {
		mod(&cfg)
	}
	if bs == nil {
		cfg.Blocks = nil
	}
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
