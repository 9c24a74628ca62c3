package content

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	pathpkg "path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/ipfs/boxo/ipld/merkledag"
	ft "github.com/ipfs/boxo/ipld/unixfs"
	"github.com/ipfs/boxo/ipld/unixfs/importer/balanced"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	mh "github.com/multiformats/go-multihash"

	"github.com/myconet/myconet/internal/bufpool"
	"github.com/myconet/myconet/internal/crc32c"
)

// ChunkSize is the fixed UnixFS chunk size.
const ChunkSize = 1 << 20

// hamtThreshold is the estimated directory size (sum of name and CID bytes) at
// which Kubo 0.39 turns a directory into a HAMT shard.
const hamtThreshold = 256 << 10

// ErrUnreadable reports an input path that does not exist or cannot be read.
var ErrUnreadable = errors.New("cannot read input")

// Progress reports an import or export.
type Progress struct {
	Bytes  int64 // file bytes processed
	Total  int64 // file bytes in all (0 = unknown)
	Files  int64 // files completed
	Blocks int64 // blocks written
}

// Plan is what an import will read, found by walking the input first.
type Plan struct {
	Path  string // absolute
	IsDir bool
	Files int64
	Bytes int64 // sum of file sizes
	Dirs  int64
	// Hidden and NoFollowLinks are the PlanOptions the walk used; Import
	// walks the same way.
	Hidden, NoFollowLinks bool
	// Links is what the import will do with symlinks.
	Links LinkReport
}

// PlanOptions tune PlanPath.
type PlanOptions struct {
	// Hidden includes names starting with "." inside directories (ipfs add -H).
	Hidden bool
	// NoFollowLinks keeps every symlink as a link, even one that leaves the
	// tree (see LinkReport).
	NoFollowLinks bool
}

// ImportOptions tune Import.
type ImportOptions struct {
	// Hidden includes names starting with "." inside directories (ipfs add
	// -H), as Plan.Hidden does.
	Hidden bool
	// Progress, if set, is called after each chunk and file.
	Progress func(Progress)
}

// Result is what Import produced.
type Result struct {
	Root   cid.Cid
	Bytes  int64 // file bytes
	Files  int64
	Blocks int64
}

// PlanPath walks path and checks that everything in it can be read, without
// reading file contents, with hidden names included or not and symlinks
// followed as LinkReport says. Errors name the offending path and wrap
// ErrUnreadable or ErrSymlink.
func PlanPath(path string, hidden bool) (Plan, error) {
	return PlanPathOptions(path, PlanOptions{Hidden: hidden})
}

// PlanPathOptions is PlanPath with every option.
func PlanPathOptions(path string, opts PlanOptions) (Plan, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Plan{}, fmt.Errorf("%w: %s: %v", ErrUnreadable, path, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return Plan{}, fmt.Errorf("%w: %s: %v", ErrUnreadable, path, unwrapPathErr(err))
	}
	p := Plan{Path: abs, IsDir: st.IsDir(), Hidden: opts.Hidden, NoFollowLinks: opts.NoFollowLinks}
	if !st.IsDir() {
		if !st.Mode().IsRegular() {
			return Plan{}, fmt.Errorf("%w: %s: not a regular file or directory", ErrUnreadable, path)
		}
		if err := p.addFile(abs, st); err != nil {
			return Plan{}, err
		}
		return p, nil
	}
	root, err := rootDir(abs)
	if err != nil {
		return Plan{}, err
	}
	return p, p.dir(root, "")
}

// rootDir is the walk state of the added directory abs.
func rootDir(abs string) (walkDir, error) {
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return walkDir{}, fmt.Errorf("%w: %s: %v", ErrUnreadable, abs, unwrapPathErr(err))
	}
	return walkDir{real: real, mount: real, stack: []string{real}}, nil
}

func (p *Plan) addFile(path string, info fs.FileInfo) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnreadable, path, unwrapPathErr(err))
	}
	f.Close()
	p.Files++
	p.Bytes += info.Size()
	return nil
}

// dir plans directory d, at rel in the package.
func (p *Plan) dir(d walkDir, rel string) error {
	p.Dirs++
	ents, err := os.ReadDir(d.real)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnreadable, d.real, unwrapPathErr(err))
	}
	for _, e := range ents {
		name := e.Name()
		if !p.Hidden && strings.HasPrefix(name, ".") {
			continue
		}
		q, crel := filepath.Join(d.real, name), pathpkg.Join(rel, name)
		switch {
		case e.IsDir():
			err = p.dir(d.child(name), crel)
		case e.Type()&fs.ModeSymlink != 0:
			var lp linkPlan
			if lp, err = planLink(d, name, crel, !p.NoFollowLinks); err != nil {
				return err
			}
			switch {
			case lp.follow && lp.info.IsDir():
				p.Links.Followed++
				p.Links.note(crel, lp.target, "followed")
				err = p.dir(d.followed(lp.real), crel)
			case lp.follow:
				p.Links.Followed++
				p.Links.note(crel, lp.target, "followed")
				err = p.addFile(lp.real, lp.info)
			default:
				p.Links.Kept++
				p.Files++
				if lp.loose {
					p.Links.Dangling++
					p.Links.note(crel, lp.target, "dangling")
				} else {
					p.Links.note(crel, lp.target, "kept")
				}
			}
		case e.Type().IsRegular():
			var info fs.FileInfo
			if info, err = e.Info(); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrUnreadable, q, unwrapPathErr(err))
			}
			err = p.addFile(q, info)
		default:
			return fmt.Errorf("%w: %s: not a regular file, directory or symlink", ErrUnreadable, q)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Import adds the file or directory plan describes, writing every block to
// sink. On error, blocks already given to sink are the caller's to discard.
func Import(ctx context.Context, sink Sink, plan Plan, opts ImportOptions) (Result, error) {
	im := &importer{ctx: ctx, opts: opts, plan: plan, total: plan.Bytes}
	im.w = newWriter(sink)
	im.ds = newDAGService(nil, im.w.add)
	var root ipld.Node
	var err error
	if plan.IsDir {
		var d walkDir
		if d, err = rootDir(plan.Path); err == nil {
			root, err = im.dir(d, "")
		}
	} else {
		root, err = im.file(plan.Path)
	}
	if werr := im.w.close(); err == nil {
		err = werr
	}
	if err == nil {
		err = ctx.Err() // a cancelled import never yields a root
	}
	if err != nil {
		return Result{}, err
	}
	im.report()
	return Result{Root: root.Cid(), Bytes: im.bytes.Load(), Files: im.files, Blocks: im.w.blocks.Load()}, nil
}

type importer struct {
	ctx   context.Context
	opts  ImportOptions
	plan  Plan
	ds    *dagService
	w     *writer
	total int64
	bytes atomic.Int64
	files int64
}

func (im *importer) report() {
	if im.opts.Progress != nil {
		im.opts.Progress(Progress{Bytes: im.bytes.Load(), Total: im.total, Files: im.files, Blocks: im.w.blocks.Load()})
	}
}

// cidBuilder is CIDv1/sha2-256 as `ipfs add --cid-version=1` uses.
var cidBuilder = cid.V1Builder{Codec: cid.DagProtobuf, MhType: mh.SHA2_256}

func (im *importer) file(path string) (ipld.Node, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreadable, path, unwrapPathErr(err))
	}
	defer f.Close()
	sizeHint := int64(-1)
	if st, err := f.Stat(); err == nil {
		sizeHint = st.Size()
	}
	spl := newPrefetchSplitter(im.ctx, f, sizeHint, func(n int) {
		im.bytes.Add(int64(n))
		im.report()
	}, im.w.sums, im.w.bufs)
	defer spl.stop()
	params := helpers.DagBuilderParams{
		Dagserv:    im.ds,
		RawLeaves:  true,
		Maxlinks:   helpers.DefaultLinksPerBlock,
		CidBuilder: &leafBuilder{Builder: cidBuilder, spl: spl},
	}
	db, err := params.New(spl)
	if err != nil {
		return nil, err
	}
	nd, err := balanced.Layout(db)
	if err != nil {
		if errors.Is(err, ErrUnreadable) || im.ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	im.files++
	im.report()
	return nd, nil
}

// dir imports directory d, at rel in the package.
func (im *importer) dir(wd walkDir, rel string) (ipld.Node, error) {
	if err := im.ctx.Err(); err != nil {
		return nil, err
	}
	path := wd.real
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreadable, path, unwrapPathErr(err))
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	d, err := uio.NewDirectory(im.ds, uio.WithCidBuilder(cidBuilder))
	if err != nil {
		return nil, err
	}
	// Kubo 0.39 (boxo 0.35) shards a directory once its estimated size
	// reaches 256 KiB; boxo 0.41 only above it. Match Kubo's CIDs
	// (vector HAMTEdge4096) without touching boxo's global.
	d.SetHAMTShardingSize(hamtThreshold - 1)
	for _, e := range ents {
		name := e.Name()
		if !im.plan.Hidden && !im.opts.Hidden && strings.HasPrefix(name, ".") {
			continue
		}
		p, crel := filepath.Join(path, name), pathpkg.Join(rel, name)
		var child ipld.Node
		switch {
		case e.IsDir():
			child, err = im.dir(wd.child(name), crel)
		case e.Type()&fs.ModeSymlink != 0:
			var lp linkPlan
			if lp, err = planLink(wd, name, crel, !im.plan.NoFollowLinks); err != nil {
				return nil, err
			}
			switch {
			case lp.follow && lp.info.IsDir():
				child, err = im.dir(wd.followed(lp.real), crel)
			case lp.follow:
				child, err = im.file(lp.real)
			default:
				child, err = im.symlink(p)
			}
		default:
			child, err = im.file(p)
		}
		if err != nil {
			return nil, err
		}
		if err := d.AddChild(im.ctx, name, child); err != nil {
			return nil, fmt.Errorf("import %s: %w", p, err)
		}
	}
	nd, err := d.GetNode()
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	if err := im.ds.Add(im.ctx, nd); err != nil {
		return nil, err
	}
	return nd, nil
}

func (im *importer) symlink(path string) (ipld.Node, error) {
	target, err := os.Readlink(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreadable, path, unwrapPathErr(err))
	}
	data, err := ft.SymlinkData(target)
	if err != nil {
		return nil, err
	}
	nd := merkledag.NodeWithData(data)
	if err := nd.SetCidBuilder(cidBuilder); err != nil {
		return nil, err
	}
	if err := im.ds.Add(im.ctx, nd); err != nil {
		return nil, err
	}
	im.files++
	return nd, nil
}

// writer moves blocks from the importer to the sink on its own goroutine, so
// that hashing and storing overlap.
type writer struct {
	sink   Sink
	sums   *leafSums  // nil unless sink is a SumSink
	bufs   *chunkBufs // nil unless sink is a ThenSink
	ch     chan ipld.Node
	done   chan struct{}
	errMu  sync.Mutex
	err    error
	blocks atomic.Int64
}

func newWriter(sink Sink) *writer {
	w := &writer{sink: sink, ch: make(chan ipld.Node, 8), done: make(chan struct{})}
	if _, ok := sink.(SumSink); ok {
		w.sums = &leafSums{m: make(map[string]uint32)}
	}
	if _, ok := sink.(ThenSink); ok {
		w.bufs = &chunkBufs{m: make(map[*byte]struct{})}
	}
	go w.run()
	return w
}

// put hands one block to the sink, with its CRC-32C when a splitter
// computed it.
func (w *writer) put(c cid.Cid, data []byte) error {
	if w.sums != nil {
		if sum, ok := w.sums.take(c.Hash()); ok {
			if w.bufs.take(data) {
				return w.sink.(ThenSink).PutSumThen(c, data, sum, func() { bufpool.Put(data) })
			}
			return w.sink.(SumSink).PutSum(c, data, sum)
		}
	}
	return w.sink.Put(c, data)
}

func (w *writer) run() {
	defer close(w.done)
	for nd := range w.ch {
		if w.failed() != nil {
			continue // drain
		}
		if err := w.put(nd.Cid(), nd.RawData()); err != nil {
			w.errMu.Lock()
			w.err = err
			w.errMu.Unlock()
			continue
		}
		w.blocks.Add(1)
	}
}

func (w *writer) failed() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

func (w *writer) add(nd ipld.Node) error {
	if err := w.failed(); err != nil {
		return err
	}
	w.ch <- nd
	return nil
}

// close waits for every queued block to reach the sink.
func (w *writer) close() error {
	close(w.ch)
	<-w.done
	return w.failed()
}

// prefetchSplitter is a chunker.Splitter that reads fixed-size chunks ahead on
// one goroutine and hashes them on all cores, so that the importer's own
// goroutine only builds nodes. Chunks come out exactly as boxo's size
// splitter makes them.
type prefetchSplitter struct {
	ctx    context.Context
	r      io.Reader
	out    chan *chunk
	cancel context.CancelFunc
	wg     sync.WaitGroup
	onRead func(int)
	sums   *leafSums  // where the hashing workers leave each chunk's CRC-32C; nil: none
	bufs   *chunkBufs // where full chunks are recorded as reusable; nil: none
	err    error

	mu     sync.Mutex
	hashes map[*byte]mh.Multihash // chunk data pointer → its sha2-256 multihash
}

type chunk struct {
	data []byte
	err  error
	sum  mh.Multihash
	done chan struct{}
}

// readChunk reads the next chunk: ChunkSize bytes, or fewer only at the end
// of r. remaining is how many bytes r is expected to still hold (negative if
// unknown); it sizes the buffer so that a small file costs a small allocation,
// and a file that turns out longer still yields full chunks. Errors are
// io.ReadFull's.
func readChunk(r io.Reader, remaining int64) ([]byte, int, error) {
	want := int64(ChunkSize)
	if remaining >= 0 && remaining+1 < want {
		want = remaining + 1 // one more byte tells "ends here" from "grew"
	}
	var buf []byte
	if want == ChunkSize {
		buf = bufpool.Get()
	} else {
		buf = make([]byte, want)
	}
	n, err := io.ReadFull(r, buf)
	if err != nil || want == ChunkSize {
		return buf, n, err
	}
	full := bufpool.Get() // longer than expected: make a full chunk
	copy(full, buf)
	m, err := io.ReadFull(r, full[n:])
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF // n > 0 bytes were read: a short final chunk
	}
	return full, n + m, err
}

func newPrefetchSplitter(ctx context.Context, r io.Reader, sizeHint int64, onRead func(int), sums *leafSums, bufs *chunkBufs) *prefetchSplitter {
	ctx, cancel := context.WithCancel(ctx)
	s := &prefetchSplitter{ctx: ctx, r: r, out: make(chan *chunk, 4), cancel: cancel, onRead: onRead, sums: sums, bufs: bufs, hashes: make(map[*byte]mh.Multihash)}
	workers := runtime.GOMAXPROCS(0)
	work := make(chan *chunk, workers)
	s.wg.Add(1 + workers)
	for range workers {
		go func() {
			defer s.wg.Done()
			for c := range work {
				sum := sha256.Sum256(c.data)
				c.sum, _ = mh.Encode(sum[:], mh.SHA2_256)
				if s.sums != nil { // while the bytes are in this core's cache
					s.sums.add(c.sum, crc32c.Sum(c.data))
				}
				close(c.done)
			}
		}()
	}
	go func() {
		defer s.wg.Done()
		defer close(work)
		defer close(s.out)
		var offset int64
		for {
			buf, n, err := readChunk(r, sizeHint-offset)
			offset += int64(n)
			c := &chunk{done: make(chan struct{})}
			switch {
			case err == nil:
				c.data = buf
				s.bufs.own(buf)
			case errors.Is(err, io.ErrUnexpectedEOF):
				c.data = buf[:n:n]
			case errors.Is(err, io.EOF):
				return
			default:
				c.err = fmt.Errorf("%w: %v", ErrUnreadable, err)
				close(c.done)
			}
			if c.err == nil {
				select {
				case work <- c:
				case <-ctx.Done():
					return
				}
			}
			select {
			case s.out <- c:
			case <-ctx.Done():
				return
			}
			if c.err != nil || len(c.data) < ChunkSize {
				return
			}
		}
	}()
	return s
}

// Reader implements chunker.Splitter.
func (s *prefetchSplitter) Reader() io.Reader { return s.r }

// NextBytes implements chunker.Splitter.
func (s *prefetchSplitter) NextBytes() ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	c, ok := <-s.out
	if !ok {
		// The reader stops early only when cancelled: never mistake that
		// for the end of the file, or a cut-short DAG would be committed.
		if err := s.ctx.Err(); err != nil {
			s.err = err
			return nil, err
		}
		s.err = io.EOF
		return nil, io.EOF
	}
	<-c.done
	if c.err != nil {
		s.err = c.err
		return nil, c.err
	}
	if len(c.data) > 0 {
		s.mu.Lock()
		s.hashes[unsafe.SliceData(c.data)] = c.sum
		s.mu.Unlock()
	}
	if s.onRead != nil {
		s.onRead(len(c.data))
	}
	return c.data, nil
}

// take returns the precomputed multihash of data if data is a chunk this
// splitter handed out.
func (s *prefetchSplitter) take(data []byte) (mh.Multihash, bool) {
	if len(data) == 0 {
		return nil, false
	}
	p := unsafe.SliceData(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	sum, ok := s.hashes[p]
	if ok {
		delete(s.hashes, p)
	}
	return sum, ok
}

func (s *prefetchSplitter) stop() {
	s.cancel()
	for range s.out { //nolint:revive // drain so the reader can exit
	}
	s.wg.Wait()
}

// leafBuilder is a cid.Builder that, for raw leaves, uses the digest the
// splitter already computed for exactly those bytes; everything else it
// hashes as usual. The resulting CIDs are identical, only computed earlier.
type leafBuilder struct {
	cid.Builder
	spl *prefetchSplitter
}

func (b *leafBuilder) Sum(data []byte) (cid.Cid, error) {
	if b.Builder.GetCodec() == cid.Raw {
		if sum, ok := b.spl.take(data); ok {
			return cid.NewCidV1(cid.Raw, sum), nil
		}
	}
	return b.Builder.Sum(data)
}

func (b *leafBuilder) WithCodec(c uint64) cid.Builder {
	return &leafBuilder{Builder: b.Builder.WithCodec(c), spl: b.spl}
}

// chunkBufs records the full chunks a splitter read into buffers of its
// own (from bufpool.Get), so that the writer hands exactly those, once, to a
// ThenSink for reuse. Methods are no-ops on a nil *chunkBufs.
type chunkBufs struct {
	mu sync.Mutex
	m  map[*byte]struct{}
}

func (c *chunkBufs) own(b []byte) {
	if c == nil || len(b) != ChunkSize || cap(b) != ChunkSize {
		return
	}
	c.mu.Lock()
	c.m[unsafe.SliceData(b)] = struct{}{}
	c.mu.Unlock()
}

// take reports whether b is a recorded chunk, and forgets it.
func (c *chunkBufs) take(b []byte) bool {
	if c == nil || len(b) != ChunkSize || cap(b) != ChunkSize {
		return false
	}
	p := unsafe.SliceData(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[p]
	delete(c.m, p)
	return ok
}
