package content

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/myconet/myconet/internal/bufpool"
)

// memBlocks is an in-memory Blocks and Sink that verifies like the store does.
type memBlocks struct {
	mu sync.Mutex
	m  map[cid.Cid][]byte
}

func newMem() *memBlocks { return &memBlocks{m: make(map[cid.Cid][]byte)} }

var errNotFound = errors.New("not found")

func (b *memBlocks) Put(c cid.Cid, data []byte) error {
	if err := VerifyBlock(c, data); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[c] = append([]byte(nil), data...)
	return nil
}

func (b *memBlocks) Get(c cid.Cid) ([]byte, error) {
	b.mu.Lock()
	d, ok := b.m[c]
	b.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: %s", errNotFound, c)
	}
	return append([]byte(nil), d...), nil
}

func (b *memBlocks) View(c cid.Cid, fn func([]byte) error) error {
	d, err := b.Get(c)
	if err != nil {
		return err
	}
	return fn(d)
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]byte, n)
	for i := range out {
		out[i] = byte(r.Uint32())
	}
	return out
}

// importInto imports the directory dir into sink.
func importInto(t *testing.T, sink Sink, dir string) Result {
	t.Helper()
	plan, err := PlanPath(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Import(context.Background(), sink, plan, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func importPath(t *testing.T, bs *memBlocks, path string, hidden bool) Result {
	t.Helper()
	plan, err := PlanPath(path, hidden)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Import(context.Background(), bs, plan, ImportOptions{Hidden: hidden})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestImportFileRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 1000, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3*ChunkSize + 7}
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			data := randBytes(uint64(n), n)
			p := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			bs := newMem()
			res := importPath(t, bs, p, false)
			if res.Bytes != int64(n) || res.Files != 1 {
				t.Fatalf("result %+v", res)
			}
			if n <= ChunkSize && res.Root.Type() != cid.Raw {
				t.Fatalf("single-chunk file should be a raw leaf, got %s", res.Root)
			}
			r := NewReader(bs)
			nd, st, err := r.Resolve(context.Background(), res.Root, nil)
			if err != nil {
				t.Fatal(err)
			}
			if st.Type != TypeFile || st.Size != int64(n) {
				t.Fatalf("stat %+v", st)
			}
			var buf bytes.Buffer
			if err := r.WriteFile(context.Background(), nd, &buf, nil); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), data) {
				t.Fatal("WriteFile returned different bytes")
			}
			f, err := r.Open(context.Background(), nd)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if n > 10 {
				if _, err := f.Seek(int64(n/2), io.SeekStart); err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(f)
				if !bytes.Equal(got, data[n/2:]) {
					t.Fatal("seek+read returned different bytes")
				}
			}
			// Importing again gives the same CID.
			if again := importPath(t, newMem(), p, false); !again.Root.Equals(res.Root) {
				t.Fatalf("not deterministic: %s vs %s", again.Root, res.Root)
			}
		})
	}
}

func writeTree(t *testing.T, root string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestImportDirRoundTrip(t *testing.T) {
	src := filepath.Join(t.TempDir(), "site")
	files := map[string][]byte{
		"index.html":    []byte(`<a href="sub/page.html">page</a>`),
		"css/style.css": []byte("body{}"),
		"sub/page.html": []byte("<p>hi</p>"),
		"big.bin":       randBytes(7, 2*ChunkSize+3),
		"empty":         {},
		".hidden":       []byte("secret"),
		"café/ü.txt":    []byte("unicode"),
	}
	writeTree(t, src, files)
	bs := newMem()
	res := importPath(t, bs, src, false)
	if res.Files != int64(len(files)-1) {
		t.Fatalf("files = %d, want %d (dotfile skipped)", res.Files, len(files)-1)
	}
	r := NewReader(bs)
	ctx := context.Background()
	nd, st, err := r.Resolve(ctx, res.Root, []string{"sub", "page.html"})
	if err != nil || st.Type != TypeFile {
		t.Fatalf("resolve: %v %+v", err, st)
	}
	var buf bytes.Buffer
	if err := r.WriteFile(ctx, nd, &buf, nil); err != nil || buf.String() != "<p>hi</p>" {
		t.Fatalf("page = %q, %v", buf.String(), err)
	}
	if _, _, err := r.Resolve(ctx, res.Root, []string{"nope"}); !errors.Is(err, ErrNoSuchPath) {
		t.Fatalf("missing path: %v", err)
	}
	if _, _, err := r.Resolve(ctx, res.Root, []string{"index.html", "x"}); !errors.Is(err, ErrNotDir) {
		t.Fatalf("path through file: %v", err)
	}
	rootNd, _, _ := r.Resolve(ctx, res.Root, nil)
	ents, err := r.List(ctx, rootNd)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name)
	}
	if fmt.Sprint(names) != "[big.bin café css empty index.html sub]" {
		t.Fatalf("entries %v", names)
	}
	dest := filepath.Join(t.TempDir(), "out")
	if err := r.WriteTree(ctx, rootNd, dest, nil); err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dest, filepath.FromSlash(name)))
		if name == ".hidden" {
			if err == nil {
				t.Fatal("hidden file was imported")
			}
			continue
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s differs: %v", name, err)
		}
	}
	if err := r.WriteTree(ctx, rootNd, dest, nil); err == nil {
		t.Fatal("WriteTree over an existing path succeeded")
	}
	withHidden := importPath(t, newMem(), src, true)
	if withHidden.Root.Equals(res.Root) {
		t.Fatal("--hidden did not change the directory")
	}
}

func TestCARRoundTrip(t *testing.T) {
	src := filepath.Join(t.TempDir(), "d")
	writeTree(t, src, map[string][]byte{"a": randBytes(1, 3*ChunkSize), "b/c": []byte("c")})
	bs := newMem()
	res := importPath(t, bs, src, false)
	var car bytes.Buffer
	if err := WriteCAR(context.Background(), bs, []cid.Cid{res.Root}, Links, &car); err != nil {
		t.Fatal(err)
	}
	bs2 := newMem()
	roots, err := ReadCAR(context.Background(), bytes.NewReader(car.Bytes()), bs2.Put)
	if err != nil {
		t.Fatal(err)
	}
	if len(roots) != 1 || !roots[0].Equals(res.Root) || len(bs2.m) != len(bs.m) {
		t.Fatalf("roots %v, blocks %d vs %d", roots, len(bs2.m), len(bs.m))
	}
	// A flipped byte in a block is refused.
	bad := bytes.Clone(car.Bytes())
	bad[len(bad)-10] ^= 1
	if _, err := ReadCAR(context.Background(), bytes.NewReader(bad), newMem().Put); !errors.Is(err, ErrBadCAR) {
		t.Fatalf("corrupt CAR: %v", err)
	}
}

func FuzzReadCAR(f *testing.F) {
	bs := newMem()
	dir := f.TempDir()
	p := filepath.Join(dir, "x")
	os.WriteFile(p, randBytes(3, 5000), 0o644)
	plan, _ := PlanPath(p, false)
	res, _ := Import(context.Background(), bs, plan, ImportOptions{})
	var car bytes.Buffer
	WriteCAR(context.Background(), bs, []cid.Cid{res.Root}, Links, &car)
	f.Add(car.Bytes())
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0xa1, 0x67})
	f.Fuzz(func(t *testing.T, data []byte) {
		sink := newMem()
		_, err := ReadCAR(context.Background(), bytes.NewReader(data), func(c cid.Cid, d []byte) error {
			if err := VerifyBlock(c, d); err != nil {
				t.Fatalf("ReadCAR passed an unverified block: %v", err)
			}
			return sink.Put(c, d)
		})
		if err != nil && !errors.Is(err, ErrBadCAR) {
			t.Fatalf("error not ErrBadCAR: %v", err)
		}
	})
}

func TestImportCancelledYieldsNoRoot(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(p, randBytes(9, 20*ChunkSize), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, err := PlanPath(p, false)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 { // the race between cancel and the reader differs per run
		ctx, cancel := context.WithCancel(context.Background())
		res, err := Import(ctx, newMem(), plan, ImportOptions{Progress: func(pr Progress) {
			if pr.Bytes >= 2*ChunkSize {
				cancel()
			}
		}})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled import: root %v, err %v", res.Root, err)
		}
	}
}

func TestReadChunkSizeHints(t *testing.T) {
	data := randBytes(11, 3*ChunkSize+5)
	for _, hint := range []int64{-1, 0, 10, int64(len(data)), int64(len(data)) - 7, int64(len(data)) + 100} {
		r := bytes.NewReader(data)
		var got []byte
		for left := hint; ; {
			buf, n, err := readChunk(r, left)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatal(err)
			}
			if err == nil && n != ChunkSize {
				t.Fatalf("hint %d: full read of %d bytes is not a whole chunk", hint, n)
			}
			got = append(got, buf[:n]...)
			left -= int64(n)
			if err != nil {
				break
			}
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("hint %d: chunks do not reassemble the input", hint)
		}
	}
}

// sumSink is a memBlocks that records the CRC-32C PutSum brings.
type sumSink struct {
	*memBlocks
	mu   sync.Mutex
	sums map[cid.Cid]uint32
}

func (s *sumSink) PutSum(c cid.Cid, data []byte, sum uint32) error {
	s.mu.Lock()
	s.sums[c] = sum
	s.mu.Unlock()
	return s.memBlocks.Put(c, data)
}

// TestImportGivesLeafSums: importing into a SumSink hands every raw leaf
// over with the CRC-32C of its bytes (computed where it was hashed), and
// the tree still reads back.
func TestImportGivesLeafSums(t *testing.T) {
	dir := t.TempDir()
	data := randBytes(9, 3*ChunkSize+7)
	writeTree(t, dir, map[string][]byte{"a.bin": data, "b/a-again.bin": data, "b/small.txt": []byte("hi")})
	s := &sumSink{memBlocks: newMem(), sums: make(map[cid.Cid]uint32)}
	res := importInto(t, s, dir)
	leaves := 0
	for c, d := range s.m {
		if c.Type() != cid.Raw || len(d) < ChunkSize/2 {
			continue
		}
		leaves++
		sum, ok := s.sums[c]
		if !ok {
			t.Errorf("leaf %s came without its CRC-32C", c)
		} else if want := crc32.Checksum(d, crc32.MakeTable(crc32.Castagnoli)); sum != want {
			t.Errorf("leaf %s: CRC-32C %08x, want %08x", c, sum, want)
		}
	}
	if leaves != 3 {
		t.Fatalf("%d full leaves stored, want 3", leaves)
	}
	r := NewReader(s.memBlocks)
	nd, _, err := r.Resolve(context.Background(), res.Root, []string{"b", "a-again.bin"})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := r.WriteFile(context.Background(), nd, &got, nil); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("the file does not read back: %v", err)
	}
}

// thenSink is a sumSink that, like the store writing in the background,
// keeps the bytes of up to hold blocks given with PutSumThen unread, and
// only verifies and stores each one, and then calls its done, when more
// come (or at flush). A buffer the importer reused before its done would
// no longer hash to its CID.
type thenSink struct {
	*sumSink
	hold    int
	mu      sync.Mutex
	waiting []heldBlock
	bufs    map[*byte]bool // the distinct buffers full leaves came in
	leaves  int
}

type heldBlock struct {
	c    cid.Cid
	data []byte
	sum  uint32
	done func()
}

func (s *thenSink) PutSumThen(c cid.Cid, data []byte, sum uint32, done func()) error {
	s.mu.Lock()
	s.waiting = append(s.waiting, heldBlock{c, data, sum, done})
	s.bufs[&data[0]] = true
	s.leaves++
	var out []heldBlock
	if len(s.waiting) > s.hold {
		out = s.waiting[:1:1]
		s.waiting = s.waiting[1:]
	}
	s.mu.Unlock()
	return s.store(out)
}

func (s *thenSink) store(bs []heldBlock) error {
	for _, b := range bs {
		err := s.PutSum(b.c, b.data, b.sum) // verifies
		b.done()
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *thenSink) flush() error {
	s.mu.Lock()
	out := s.waiting
	s.waiting = nil
	s.mu.Unlock()
	return s.store(out)
}

// TestImportReusesChunks: importing into a ThenSink reads chunks into the
// buffers the sink is done with, never into one it still holds (freed
// buffers are overwritten, so one reused too early would store bytes that
// do not match their CID), and every file reads back.
func TestImportReusesChunks(t *testing.T) {
	bufpool.Poison = true
	defer func() { bufpool.Poison = false }()
	dir := t.TempDir()
	files := map[string][]byte{
		"big.bin":        randBytes(21, 24*ChunkSize+5),
		"big-again.bin":  randBytes(21, 24*ChunkSize+5), // the same leaves again
		"one.bin":        randBytes(22, ChunkSize),
		"one-plus.bin":   randBytes(23, ChunkSize+1),
		"small.txt":      []byte("hi"),
		"d/repeated.bin": bytes.Repeat(randBytes(24, ChunkSize), 6), // one leaf six times
	}
	writeTree(t, dir, files)
	s := &thenSink{sumSink: &sumSink{memBlocks: newMem(), sums: make(map[cid.Cid]uint32)}, hold: 3, bufs: make(map[*byte]bool)}
	res := importInto(t, s, dir)
	if err := s.flush(); err != nil {
		t.Fatal(err)
	}
	// Under -race, sync.Pool drops a quarter of the buffers given back (and
	// the slower run lets the GC empty it), so how often one comes back
	// says nothing there; the bytes read back below still must be right.
	if len(s.bufs) >= s.leaves/2 && !raceEnabled {
		t.Errorf("%d full leaves came in %d distinct buffers: chunk buffers are not reused", s.leaves, len(s.bufs))
	}
	r := NewReader(s.memBlocks)
	for name, want := range files {
		nd, _, err := r.Resolve(context.Background(), res.Root, strings.Split(name, "/"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got bytes.Buffer
		if err := r.WriteFile(context.Background(), nd, &got, nil); err != nil || !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("%s does not read back: %v", name, err)
		}
	}
}
