package retrieval

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/node/content"
)

// Blocks is what a provider serves from.
type Blocks interface {
	// View calls fn with the verified block; data is valid only inside fn
	// and must not be modified. It returns an error when the block is
	// absent or unreadable (the provider then reports it missing). It must
	// be safe for concurrent use.
	View(c cid.Cid, fn func(data []byte) error) error
}

// BlockReader is what Blocks may also do: read a verified block into a
// buffer the caller reuses (the bytes valid until its next call), which
// spares the provider View's copy of every block it serves.
type BlockReader interface {
	GetInto(c cid.Cid, buf *[]byte) ([]byte, error)
}

// Sink is where a requester writes verified blocks (store.Batch implements
// it). Fetch calls Put from one goroutine at a time, with a fresh data slice
// that it never touches again.
type Sink interface {
	Put(c cid.Cid, data []byte) error
}

// SumSink is a Sink that also takes a block's CRC-32C (internal/crc32c), which
// the fetch computes right after the block's hash check, while its bytes
// are in cache: the importer's interface (the store records one for each
// large block).
type SumSink = content.SumSink

// ThenSink is a SumSink that says when it is done with a block's bytes
// (library's fetch sink, over store.Batch.PutSumThen): Fetch then reads
// later blocks into the same buffers (internal/bufpool) instead of fresh
// ones. It must call done exactly once, whatever PutSumThen returns, and
// only when nothing reads data any more.
type ThenSink = content.ThenSink

// LinksFunc returns the CIDs a verified block links to. It must be safe for
// concurrent use and must not keep data.
type LinksFunc func(c cid.Cid, data []byte) ([]cid.Cid, error)

// Config configures a Service. Zero values mean the documented defaults.
type Config struct {
	// Host carries the streams. Required.
	Host host.Host
	// Blocks is what this node serves; nil serves nothing (every request
	// gets StatusNotFound).
	Blocks Blocks
	// Links decodes a block's links, for serving and for verifying.
	// Required.
	Links LinksFunc
	// Allow decides whether this node serves the DAG named root; nil
	// allows everything. It is called once per request.
	Allow func(root cid.Cid) bool
	// Logger receives debug and warning logs; nil discards.
	Logger *slog.Logger

	// MaxConcurrentServes bounds the sessions served at once; a request
	// beyond it gets StatusBusy. Default 32.
	MaxConcurrentServes int
	// MaxServesPerPeer bounds the sessions one peer may hold at once, so
	// that a single peer cannot take every slot. Default 8.
	MaxServesPerPeer int
	// MaxResponseBytes caps the block bytes of one response this node
	// sends, whatever the request asks. Default 64 MiB.
	MaxResponseBytes int64
	// MaxResponseBlocks caps the blocks of one response. Default 65536.
	MaxResponseBlocks int64
	// IdleTimeout resets a stream on which nothing moved for this long, on
	// either side. Default 30 s.
	IdleTimeout time.Duration
	// RequestTimeout resets a stream on which one request (until its end
	// frame) takes longer. Default 5 min.
	RequestTimeout time.Duration
	// DialTimeout bounds opening a stream to a provider. Default 15 s.
	DialTimeout time.Duration
}

const (
	defaultMaxServes      = 32
	defaultMaxPerPeer     = 8
	defaultMaxRespBytes   = 64 << 20
	defaultMaxRespBlocks  = 1 << 16
	defaultIdleTimeout    = 30 * time.Second
	defaultRequestTimeout = 5 * time.Minute
	defaultDialTimeout    = 15 * time.Second
)

// Service serves and fetches DAGs over ProtocolID.
//
// Lifecycle: New registers the stream handler; Close removes it, resets the
// streams of in-flight serves and fetches and waits for them. After Close,
// Fetch returns ErrClosed.
type Service struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	sem    chan struct{} // serve slots

	mu      sync.Mutex
	closed  bool
	wg      sync.WaitGroup  // serves and fetches; Add only under mu while !closed
	serving map[peer.ID]int // sessions per peer; guarded by mu
}

// New validates cfg, applies defaults and registers the stream handler.
func New(cfg Config) (*Service, error) {
	if cfg.Host == nil {
		return nil, errors.New("retrieval: Config.Host is required")
	}
	if cfg.Links == nil {
		return nil, errors.New("retrieval: Config.Links is required")
	}
	if cfg.MaxConcurrentServes <= 0 {
		cfg.MaxConcurrentServes = defaultMaxServes
	}
	if cfg.MaxServesPerPeer <= 0 {
		cfg.MaxServesPerPeer = defaultMaxPerPeer
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = defaultMaxRespBytes
	}
	if cfg.MaxResponseBlocks <= 0 {
		cfg.MaxResponseBlocks = defaultMaxRespBlocks
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = defaultIdleTimeout
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = defaultRequestTimeout
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = defaultDialTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg:     cfg,
		log:     log.With("component", "retrieval"),
		sem:     make(chan struct{}, cfg.MaxConcurrentServes),
		serving: make(map[peer.ID]int),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	cfg.Host.SetStreamHandler(ProtocolID, s.handle)
	return s, nil
}

// Close stops serving, aborts in-flight serves and fetches (they return
// ErrClosed) and waits for them. It is idempotent, and every call waits. It
// must not be called from a Fetch callback.
func (s *Service) Close() error {
	s.mu.Lock()
	first := !s.closed
	s.closed = true
	s.mu.Unlock()
	if first {
		s.cfg.Host.RemoveStreamHandler(ProtocolID)
		s.cancel()
	}
	s.wg.Wait()
	return nil
}

// begin registers a serve or fetch; it fails after Close.
func (s *Service) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// watchdog resets a stream when it is not kicked for a while.
type watchdog struct {
	t *time.Timer
	d time.Duration
}

func newWatchdog(d time.Duration, fire func()) *watchdog {
	return &watchdog{t: time.AfterFunc(d, fire), d: d}
}

func (w *watchdog) kick() { w.t.Reset(w.d) }
func (w *watchdog) stop() { w.t.Stop() }

// kickReader arms a watchdog only while it waits in Read, so that the
// watchdog measures the peer's silence: neither a large block arriving
// steadily on a slow link nor our own slowness between reads counts.
type kickReader struct {
	r  io.Reader
	wd *watchdog
}

func (k kickReader) Read(p []byte) (int, error) {
	k.wd.kick()
	n, err := k.r.Read(p)
	k.wd.stop()
	return n, err
}

// kickWriter arms a watchdog only while it waits in Write (for the peer to
// accept bytes).
type kickWriter struct {
	w  io.Writer
	wd *watchdog
}

func (k kickWriter) Write(p []byte) (int, error) {
	k.wd.kick()
	n, err := k.w.Write(p)
	k.wd.stop()
	return n, err
}

// handle serves one inbound session.
func (s *Service) handle(str network.Stream) {
	if !s.begin() {
		str.Reset()
		return
	}
	defer s.wg.Done()
	p := str.Conn().RemotePeer()
	log := s.log.With("peer", p)
	if !s.acquire(p) {
		log.Debug("busy: refusing a session")
		s.refuse(str, StatusBusy)
		return
	}
	defer s.release(p)
	reset := func() { str.Reset() }
	stop := context.AfterFunc(s.ctx, reset)
	defer stop()
	wd := newWatchdog(s.cfg.IdleTimeout, reset)
	defer wd.stop()

	br := bufio.NewReaderSize(kickReader{str, wd}, 8<<10)
	bw := bufio.NewWriterSize(kickWriter{str, wd}, 256<<10)
	sv := &server{s: s, w: bw}
	for {
		req, err := readRequest(br)
		if err == io.EOF {
			str.Close()
			return
		}
		if err != nil {
			log.Debug("bad request", "err", err)
			s.refuse(str, StatusBadRequest)
			return
		}
		status := StatusOK
		switch {
		case s.cfg.Blocks == nil:
			status = StatusNotFound
		case s.cfg.Allow != nil && !s.cfg.Allow(req.Root):
			status = StatusWithheld
		}
		if status != StatusOK {
			log.Debug("refusing", "root", req.Root, "status", status)
			s.refuse(str, status)
			return
		}
		rt := time.AfterFunc(s.cfg.RequestTimeout, reset)
		err = sv.serve(req)
		rt.Stop()
		if err != nil {
			log.Debug("serve failed", "root", req.Root, "err", err)
			str.Reset()
			return
		}
	}
}

// acquire takes a serve slot for p, if one is free.
func (s *Service) acquire(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serving[p] >= s.cfg.MaxServesPerPeer {
		return false
	}
	select {
	case s.sem <- struct{}{}:
	default:
		return false
	}
	s.serving[p]++
	return true
}

func (s *Service) release(p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	<-s.sem
	if s.serving[p]--; s.serving[p] <= 0 {
		delete(s.serving, p)
	}
}

// refuse sends a non-ok status and closes the stream.
func (s *Service) refuse(str network.Stream, st Status) {
	str.SetWriteDeadline(time.Now().Add(s.cfg.IdleTimeout))
	if _, err := str.Write([]byte{byte(st)}); err != nil {
		str.Reset()
		return
	}
	str.Close()
}

// server answers the requests of one session.
type server struct {
	s     *Service
	w     *bufio.Writer
	free  chan *slot // block buffers the loader may fill, reused
	reach reach
}

// maxReach bounds the CIDs a session explores to check that wants lie below
// their root.
const maxReach = 1 << 20

// reach answers "is c in the DAG below root?" for the wants of a session,
// so that a request cannot name an allowed root and want blocks of a DAG the
// policy withholds. It explores the DAG breadth first, reading only inner
// (non-raw) blocks, and keeps what it learned for the session's next
// requests. Requests for the root alone cost nothing.
type reach struct {
	root  cid.Cid
	known map[cid.Cid]struct{} // reachable CIDs seen so far
	queue []cid.Cid            // known inner blocks not yet expanded
}

func (r *reach) has(root, c cid.Cid, links func(cid.Cid) ([]cid.Cid, error)) bool {
	if c.Equals(root) {
		return true
	}
	if !r.root.Equals(root) || r.known == nil {
		*r = reach{root: root, known: map[cid.Cid]struct{}{root: {}}, queue: []cid.Cid{root}}
	}
	for {
		if _, ok := r.known[c]; ok {
			return true
		}
		if len(r.queue) == 0 || len(r.known) > maxReach {
			return false
		}
		next := r.queue[0]
		r.queue = r.queue[1:]
		kids, err := links(next)
		if err != nil {
			continue // a block the provider lacks hides nothing it could send
		}
		for _, k := range kids {
			if _, ok := r.known[k]; ok {
				continue
			}
			r.known[k] = struct{}{}
			if k.Type() != cid.Raw {
				r.queue = append(r.queue, k)
			}
		}
	}
}

// loadLinks reads the links of a block this node holds.
func (s *Service) loadLinks(c cid.Cid) ([]cid.Cid, error) {
	var kids []cid.Cid
	err := s.cfg.Blocks.View(c, func(data []byte) error {
		var err error
		kids, err = s.cfg.Links(c, data)
		return err
	})
	return kids, err
}

// serveAhead is how many blocks the loader of a session may read ahead of
// the writer, at once: a direct read waits on the disk (at queue depth one
// the reads, not the network, bounded a loopback transfer), so reads of the
// next leaves overlap each other and the writing and encrypting of the
// current ones.
const serveAhead = 4

// slot is a block buffer of a session's loader, reused.
type slot struct {
	data    []byte // the block
	scratch []byte // what a BlockReader reads into
}

// loaded is one answer the loader prepared for the writer, in the walk's
// order: a block in slot or, when slot is nil, a missing frame. A leaf's
// read may still be under way (rd not nil).
type loaded struct {
	c    cid.Cid
	slot *slot
	rd   *read
}

// read is a leaf being read into its slot: done is closed when it is over,
// err and size then say how. (The loader counts size, not the slot's bytes:
// by then the writer may have handed the slot back and the loader reused
// it.)
type read struct {
	done chan struct{}
	err  error
	size int
}

// wait waits for f's read, if one is under way, and makes a failed read a
// missing frame (its slot back in free).
func (f *loaded) wait(free chan<- *slot) {
	if f.rd == nil {
		return
	}
	<-f.rd.done
	if f.rd.err != nil {
		free <- f.slot
		f.slot = nil
	}
	f.rd = nil
}

// serve answers one request: status, frames, end frame. A loader goroutine
// walks the DAG and reads blocks ahead into a few rotating buffers, leaves
// several at once, while this goroutine writes them in the walk's order:
// the frames, their order and the limits are those of a plain serial walk,
// and no block is read that the serial walk would not send.
func (sv *server) serve(req request) error {
	maxBytes, maxBlocks := sv.s.cfg.MaxResponseBytes, sv.s.cfg.MaxResponseBlocks
	if req.MaxBytes > 0 && req.MaxBytes < uint64(maxBytes) {
		maxBytes = int64(req.MaxBytes)
	}
	if req.MaxBlocks > 0 && req.MaxBlocks < uint64(maxBlocks) {
		maxBlocks = int64(req.MaxBlocks)
	}
	if err := sv.w.WriteByte(byte(StatusOK)); err != nil {
		return err
	}
	// Wants not below the root are answered as missing: this node will not
	// serve them under this root.
	outside := make(map[cid.Cid]bool)
	for _, w := range req.Wants {
		if !sv.reach.has(req.Root, w, sv.s.loadLinks) {
			sv.s.log.Debug("want outside its root", "root", req.Root, "want", w)
			outside[w] = true
		}
	}
	if sv.free == nil {
		sv.free = make(chan *slot, serveAhead+1)
		for range serveAhead + 1 {
			sv.free <- new(slot)
		}
	}
	out := make(chan loaded, serveAhead)
	done := make(chan struct{})
	go sv.walk(req, outside, maxBytes, maxBlocks, out, done)
	for f := range out {
		f.wait(sv.free)
		var err error
		if f.slot == nil {
			err = writeMissing(sv.w, f.c)
		} else {
			err = writeBlock(sv.w, f.c, f.slot.data)
			sv.free <- f.slot
		}
		if err != nil {
			close(done)
			for f := range out { // wait for the loader and its reads to stop
				if f.wait(sv.free); f.slot != nil {
					sv.free <- f.slot
				}
			}
			return err
		}
	}
	if err := sv.w.WriteByte(frameEnd); err != nil {
		return err
	}
	return sv.w.Flush()
}

// walk is the loader of serve: it walks the DAG depth first from the wants
// and sends each block on out as it starts reading it (an inner block is
// read before the walk goes on, as its links decide where), until the walk
// ends, a limit is reached or done is closed; then it closes out.
//
// The limits are the serial walk's: stop before a block once a block was
// sent and the blocks or bytes sent reach theirs. Sizes of leaves still
// being read are not known yet; while even blocks of the largest size
// (maxFrameData) could not reach the limit the walk goes on, else it waits
// for those reads and decides on the exact figures.
func (sv *server) walk(req request, outside map[cid.Cid]bool, maxBytes, maxBlocks int64, out chan<- loaded, done <-chan struct{}) {
	defer close(out)
	var (
		blocks, bytes int64   // of the blocks read
		reading       []*read // leaves being read
	)
	// settle counts the reads that are over, all of them if wait is set.
	settle := func(wait bool) {
		kept := 0
		for _, rd := range reading {
			if wait {
				<-rd.done
			}
			select {
			case <-rd.done:
				if rd.err == nil {
					blocks++
					bytes += int64(rd.size)
				}
			default:
				reading[kept] = rd
				kept++
			}
		}
		clear(reading[kept:])
		reading = reading[:kept]
	}
	reached := func() bool { return blocks > 0 && (blocks >= maxBlocks || bytes >= maxBytes) }
	send := func(f loaded) bool {
		select {
		case out <- f:
			return true
		case <-done:
			if f.wait(sv.free); f.slot != nil {
				sv.free <- f.slot
			}
			return false
		}
	}
	shallow := req.Flags&flagShallow != 0
	seen := make(map[cid.Cid]struct{})
	stack := make([]cid.Cid, 0, len(req.Wants))
	for i := len(req.Wants) - 1; i >= 0; i-- {
		stack = append(stack, req.Wants[i])
	}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := seen[c]; ok {
			continue
		}
		seen[c] = struct{}{}
		settle(false)
		if n := int64(len(reading)); n > 0 && (blocks+n >= maxBlocks || bytes+n*maxFrameData >= maxBytes) {
			settle(true)
		}
		if len(reading) == 0 && reached() {
			return
		}
		if outside[c] {
			if !send(loaded{c: c}) {
				return
			}
			continue
		}
		var sl *slot
		select {
		case sl = <-sv.free:
		case <-done:
			return
		}
		if c.Type() == cid.Raw { // no links: read it beside the others
			rd := &read{done: make(chan struct{})}
			go func() {
				_, rd.err = sv.load(c, sl, false)
				rd.size = len(sl.data)
				close(rd.done)
			}()
			reading = append(reading, rd)
			if !send(loaded{c: c, slot: sl, rd: rd}) {
				return
			}
			continue
		}
		kids, err := sv.load(c, sl, !shallow)
		if err != nil {
			sv.free <- sl
			if !send(loaded{c: c}) {
				return
			}
			continue
		}
		blocks++
		bytes += int64(len(sl.data))
		if !send(loaded{c: c, slot: sl}) {
			return
		}
		for i := len(kids) - 1; i >= 0; i-- {
			if _, ok := seen[kids[i]]; !ok {
				stack = append(stack, kids[i])
			}
		}
	}
}

// load reads block c into sl (so that no store transaction stays open while
// the network is slow) and returns its links when descend is set.
func (sv *server) load(c cid.Cid, sl *slot, descend bool) ([]cid.Cid, error) {
	var err error
	if br, ok := sv.s.cfg.Blocks.(BlockReader); ok {
		sl.data, err = br.GetInto(c, &sl.scratch)
	} else {
		err = sv.s.cfg.Blocks.View(c, func(data []byte) error {
			sl.data = append(sl.scratch[:0], data...)
			sl.scratch = sl.data
			return nil
		})
	}
	if err == nil && len(sl.data) > maxFrameData {
		err = fmt.Errorf("block %s: %d bytes exceeds the limit", c, len(sl.data))
	}
	if err != nil {
		return nil, err
	}
	if !descend || c.Type() == cid.Raw {
		return nil, nil
	}
	kids, err := sv.s.cfg.Links(c, sl.data)
	if err != nil {
		// The block is served; the requester's own check will fail.
		sv.s.log.Warn("cannot decode links of a served block", "cid", c, "err", err)
		return nil, nil
	}
	return kids, nil
}
