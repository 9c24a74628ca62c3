package retrieval

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node/content"
)

func TestFetchFile(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 2)
	prov := newMem()
	root, data := importFile(t, prov, 1, 5<<20+12345)
	newService(t, hs[0], prov, nil)
	req := newService(t, hs[1], nil, nil)

	sink := newMem()
	var last Progress
	st, err := req.Fetch(context.Background(), root, sink, FetchOptions{
		Providers: []peer.ID{hs[0].ID()},
		Progress:  func(p Progress) { last = p },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := dagBlocks(t, prov, root)
	if sink.Len() != len(want) || st.Blocks != int64(len(want)) {
		t.Fatalf("sink has %d blocks, stats %d, DAG %d", sink.Len(), st.Blocks, len(want))
	}
	if last.Blocks != st.Blocks || last.Bytes != st.Bytes || last.Providers != 1 {
		t.Fatalf("last progress %+v, stats %+v", last, st)
	}
	if !bytes.Equal(readFile(t, sink, root), data) {
		t.Fatal("fetched file differs")
	}
}

func TestFetchDirectory(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 2)
	prov := newMem()
	root, dir := importDir(t, prov, 600)
	newService(t, hs[0], prov, nil)
	req := newService(t, hs[1], nil, nil)

	sink := newMem()
	st, err := req.Fetch(context.Background(), root, sink, FetchOptions{Providers: []peer.ID{hs[0].ID()}})
	if err != nil {
		t.Fatal(err)
	}
	if want := dagBlocks(t, prov, root); sink.Len() != len(want) {
		t.Fatalf("sink has %d blocks, DAG %d", sink.Len(), len(want))
	}
	t.Logf("stats: %d blocks, %d bytes, %d requests", st.Blocks, st.Bytes, st.Requests)
	r := content.NewReader(sink)
	nd, _, err := r.Resolve(context.Background(), root, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := r.WriteTree(context.Background(), nd, out, nil); err != nil {
		t.Fatal(err)
	}
	sameTree(t, dir, out)
}

func TestFetchShallow(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 2)
	prov := newMem()
	root, _ := importFile(t, prov, 2, 3<<20)
	newService(t, hs[0], prov, nil)
	req := newService(t, hs[1], nil, nil)
	sink := newMem()
	st, err := req.Fetch(context.Background(), root, sink, FetchOptions{Providers: []peer.ID{hs[0].ID()}, Shallow: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Blocks != 1 || sink.Len() != 1 {
		t.Fatalf("shallow fetch wrote %d blocks", sink.Len())
	}
	if _, err := sink.Get(root); err != nil {
		t.Fatal(err)
	}
}

func TestFetchParallel(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 4)
	prov := newMem()
	root, data := importFile(t, prov, 3, 24<<20)
	var ids []peer.ID
	for _, h := range hs[:3] {
		newService(t, h, prov.clone(), nil)
		ids = append(ids, h.ID())
	}
	req := newService(t, hs[3], nil, nil)
	sink := newMem()
	st, err := req.Fetch(context.Background(), root, sink, FetchOptions{Providers: ids, Parallel: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("served: %v, requests %d, duplicates %d", st.Served, st.Requests, st.Duplicates)
	if len(st.Served) < 2 {
		t.Fatalf("only %d provider(s) served blocks: %v", len(st.Served), st.Served)
	}
	if !bytes.Equal(readFile(t, sink, root), data) {
		t.Fatal("fetched file differs")
	}
}

// TestFetchSplitLacking: no provider holds the whole DAG; together they do.
func TestFetchSplitLacking(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 3)
	full := newMem()
	root, data := importFile(t, full, 4, 12<<20)
	a, b := halves(full, root)
	newService(t, hs[0], a, nil)
	newService(t, hs[1], b, nil)
	req := newService(t, hs[2], nil, nil)
	sink := newMem()
	st, err := req.Fetch(context.Background(), root, sink, FetchOptions{Providers: []peer.ID{hs[0].ID(), hs[1].ID()}, Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("served %v", st.Served)
	if !bytes.Equal(readFile(t, sink, root), data) {
		t.Fatal("fetched file differs")
	}
}

func TestFetchResume(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 2)
	prov := newMem()
	root, data := importFile(t, prov, 5, 24<<20)
	total := len(dagBlocks(t, prov, root))
	newService(t, hs[0], prov, nil)
	req := newService(t, hs[1], nil, nil)

	sink := newMem()
	ctx, cancel := context.WithCancel(context.Background())
	_, err := req.Fetch(ctx, root, sink, FetchOptions{
		Providers: []peer.ID{hs[0].ID()},
		Progress: func(p Progress) {
			if p.Blocks >= int64(total/2) {
				cancel()
			}
		},
	})
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first fetch: %v, want context.Canceled", err)
	}
	have := sink.Len()
	if have < total/2 || have >= total {
		t.Fatalf("first fetch left %d of %d blocks", have, total)
	}

	has, local := sink.opts()
	st, err := req.Fetch(context.Background(), root, sink, FetchOptions{Providers: []peer.ID{hs[0].ID()}, Have: has, Local: local})
	if err != nil {
		t.Fatal(err)
	}
	// Blocks+Duplicates counts every block frame received.
	if st.Blocks != int64(total-have) || st.Held != int64(have) || st.Duplicates != 0 {
		t.Fatalf("resume fetched %d blocks (held %d, dup %d); want %d fetched, %d held", st.Blocks, st.Held, st.Duplicates, total-have, have)
	}
	if !bytes.Equal(readFile(t, sink, root), data) {
		t.Fatal("fetched file differs")
	}

	// A third fetch has nothing to do and needs no provider.
	st, err = req.Fetch(context.Background(), root, sink, FetchOptions{Have: has, Local: local})
	if err != nil || st.Blocks != 0 || st.Held != int64(total) {
		t.Fatalf("complete fetch: %+v, %v", st, err)
	}
}

// TestFetchResumeDirectory resumes a directory whose held part includes
// inner nodes, so the walk must continue through local blocks.
func TestFetchResumeDirectory(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 2)
	prov := newMem()
	root, dir := importDir(t, prov, 300)
	total := len(dagBlocks(t, prov, root))
	newService(t, hs[0], prov, nil)
	req := newService(t, hs[1], nil, nil)

	sink := newMem()
	ctx, cancel := context.WithCancel(context.Background())
	req.Fetch(ctx, root, sink, FetchOptions{
		Providers: []peer.ID{hs[0].ID()},
		Progress: func(p Progress) {
			if p.Blocks >= int64(total/3) {
				cancel()
			}
		},
	})
	cancel()
	have := sink.Len()
	has, local := sink.opts()
	st, err := req.Fetch(context.Background(), root, sink, FetchOptions{Providers: []peer.ID{hs[0].ID()}, Have: has, Local: local})
	if err != nil {
		t.Fatal(err)
	}
	if st.Blocks != int64(total-have) || st.Duplicates != 0 {
		t.Fatalf("resume fetched %d blocks (dup %d), want %d", st.Blocks, st.Duplicates, total-have)
	}
	r := content.NewReader(sink)
	nd, _, err := r.Resolve(context.Background(), root, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := r.WriteTree(context.Background(), nd, out, nil); err != nil {
		t.Fatal(err)
	}
	sameTree(t, dir, out)
}

func TestFetchNoProviders(t *testing.T) {
	leakcheck.Check(t)
	mn, hs := meshNet(t, 4)
	full := newMem()
	root, _ := importFile(t, full, 6, 2<<20)
	newService(t, hs[0], newMem(), nil) // holds nothing
	newService(t, hs[1], nil, nil)      // serves nothing
	newService(t, hs[2], full, func(c *Config) { c.Allow = func(cid.Cid) bool { return false } })
	req := newService(t, hs[3], nil, func(c *Config) { c.DialTimeout = time.Second })
	stranger, err := mn.GenPeer() // not linked: cannot be dialled
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		providers []peer.ID
		want      []error
	}{
		{"none", nil, []error{ErrNoProviders}},
		{"lacking", []peer.ID{hs[0].ID()}, []error{ErrNotFound}},
		{"refusing", []peer.ID{hs[1].ID()}, []error{ErrNoProviders, ErrRefused}},
		{"withholding", []peer.ID{hs[2].ID()}, []error{ErrNoProviders, ErrWithheld}},
		{"unreachable", []peer.ID{stranger.ID()}, []error{ErrNoProviders}},
		{"all", []peer.ID{stranger.ID(), hs[0].ID(), hs[1].ID(), hs[2].ID()}, []error{ErrNotFound, ErrWithheld, ErrRefused}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := req.Fetch(context.Background(), root, newMem(), FetchOptions{Providers: tc.providers})
			t.Logf("%v after %v", err, time.Since(start))
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("error %v does not wrap %v", err, w)
				}
			}
			if err != nil && !bytes.Contains([]byte(err.Error()), []byte(root.String())) {
				t.Errorf("error does not name the root: %v", err)
			}
		})
	}
}

func TestCloseAbortsFetch(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 2)
	prov := newMem()
	root, _ := importFile(t, prov, 7, 8<<20)
	newService(t, hs[0], prov, nil)
	req := newService(t, hs[1], nil, nil)
	done := make(chan error, 1)
	started := make(chan struct{})
	var once bool
	go func() {
		_, err := req.Fetch(context.Background(), root, newMem(), FetchOptions{
			Providers: []peer.ID{hs[0].ID()},
			Progress: func(Progress) {
				if !once {
					once = true
					close(started)
					time.Sleep(50 * time.Millisecond) // hold the fetch mid-way
				}
			},
		})
		done <- err
	}()
	<-started
	req.Close()
	req.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("fetch after Close: %v", err)
	}
	if _, err := req.Fetch(context.Background(), root, newMem(), FetchOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("fetch on closed service: %v", err)
	}
}

func TestBusy(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 4)
	prov := newMem()
	root, _ := importFile(t, prov, 8, 1<<20)
	// hs[0] has two slots, at most one per peer.
	ps := newService(t, hs[0], prov, func(c *Config) { c.MaxConcurrentServes = 2; c.MaxServesPerPeer = 1; c.IdleTimeout = time.Minute })
	sessions := func() int {
		ps.mu.Lock()
		defer ps.mu.Unlock()
		n := 0
		for _, k := range ps.serving {
			n += k
		}
		return n
	}
	req := newService(t, hs[1], nil, nil)
	other := newService(t, hs[2], nil, nil)
	third := newService(t, hs[3], nil, nil)
	fetch := func(s *Service) error {
		_, err := s.Fetch(context.Background(), root, newMem(), FetchOptions{Providers: []peer.ID{hs[0].ID()}})
		return err
	}
	// hold opens a session from h, completes one request and then idles,
	// keeping its slot.
	hold := func(h host.Host) {
		str, err := h.NewStream(context.Background(), hs[0].ID(), ProtocolID)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { str.Reset() })
		msg, _ := (&request{Flags: flagShallow, Root: root, Wants: []cid.Cid{root}}).encode()
		if _, err := str.Write(msg); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(str)
		if st, err := br.ReadByte(); err != nil || Status(st) != StatusOK {
			t.Fatalf("hold: status %d, %v", st, err)
		}
		for {
			fr, err := readFrame(br, maxFrameData)
			if err != nil {
				t.Fatal(err)
			}
			if fr.Type == frameEnd {
				return
			}
		}
	}
	// hs[1] holds a session: its own fetches are refused, another peer's
	// are not.
	hold(hs[1])
	if err := fetch(req); !errors.Is(err, ErrBusy) {
		t.Fatalf("second session of a peer: %v, want ErrBusy", err)
	}
	if err := fetch(other); err != nil {
		t.Fatalf("another peer: %v", err)
	}
	// With hs[2] holding the second slot too, everyone is refused.
	waitFor(t, func() bool { return sessions() == 1 }) // other's session has ended
	hold(hs[2])
	if err := fetch(third); !errors.Is(err, ErrBusy) {
		t.Fatalf("all slots taken: %v, want ErrBusy", err)
	}
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWantOutsideRoot: a request cannot name an allowed root and want blocks
// of a withheld DAG.
func TestWantOutsideRoot(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 2)
	prov := newMem()
	allowed, _ := importFile(t, prov, 20, 3<<20)
	banned, _ := importFile(t, prov, 21, 3<<20)
	newService(t, hs[0], prov, func(c *Config) { c.Allow = func(r cid.Cid) bool { return !r.Equals(banned) } })
	var bannedLeaf, allowedLeaf cid.Cid
	for c := range dagBlocks(t, prov, banned) {
		if c.Type() == cid.Raw {
			bannedLeaf = c
		}
	}
	for c := range dagBlocks(t, prov, allowed) {
		if c.Type() == cid.Raw {
			allowedLeaf = c
		}
	}
	// ask returns the status and, when ok, the type of the first frame.
	ask := func(root, want cid.Cid) (Status, byte) {
		str, err := hs[1].NewStream(context.Background(), hs[0].ID(), ProtocolID)
		if err != nil {
			t.Fatal(err)
		}
		defer str.Reset()
		msg, _ := (&request{Root: root, Wants: []cid.Cid{want}}).encode()
		str.Write(msg)
		br := bufio.NewReader(str)
		st, err := br.ReadByte()
		if err != nil {
			t.Fatal(err)
		}
		if Status(st) != StatusOK {
			return Status(st), 0
		}
		fr, err := readFrame(br, maxFrameData)
		if err != nil {
			t.Fatal(err)
		}
		return StatusOK, fr.Type
	}
	if st, _ := ask(banned, banned); st != StatusWithheld {
		t.Errorf("banned root: %v", st)
	}
	if st, ft := ask(allowed, bannedLeaf); st != StatusOK || ft != frameMissing {
		t.Errorf("banned leaf under an allowed root: %v, frame %d", st, ft)
	}
	if st, ft := ask(allowed, allowedLeaf); st != StatusOK || ft != frameBlock {
		t.Errorf("allowed leaf: %v, frame %d", st, ft)
	}
}

// failSink fails after n blocks.
type failSink struct {
	*memBlocks
	n int
}

var errDiskFull = errors.New("disk full")

func (s *failSink) Put(c cid.Cid, data []byte) error {
	if s.Len() >= s.n {
		return errDiskFull
	}
	return s.memBlocks.Put(c, data)
}

func TestSinkError(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 3)
	prov := newMem()
	root, _ := importFile(t, prov, 30, 10<<20)
	newService(t, hs[0], prov, nil)
	newService(t, hs[1], prov.clone(), nil)
	req := newService(t, hs[2], nil, nil)
	_, err := req.Fetch(context.Background(), root, &failSink{newMem(), 3}, FetchOptions{Providers: []peer.ID{hs[0].ID(), hs[1].ID()}})
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("fetch: %v, want the sink's error", err)
	}
}

// TestProviderLeavesMidFetch: the first provider shuts down half way; its
// work moves to the second.
func TestProviderLeavesMidFetch(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 3)
	prov := newMem()
	root, data := importFile(t, prov, 31, 16<<20)
	first := newService(t, hs[0], prov, nil)
	newService(t, hs[1], prov.clone(), nil)
	req := newService(t, hs[2], nil, nil)
	sink := newMem()
	closed := false
	st, err := req.Fetch(context.Background(), root, sink, FetchOptions{
		Providers: []peer.ID{hs[0].ID(), hs[1].ID()},
		Parallel:  1,
		Progress: func(p Progress) {
			if p.Blocks == 3 && !closed {
				closed = true
				go first.Close() // Close waits for the serve, which waits for us
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("served %v, dropped %v", st.Served, st.Dropped)
	if st.Served[hs[1].ID()] == 0 {
		t.Fatal("the second provider served nothing")
	}
	if !bytes.Equal(readFile(t, sink, root), data) {
		t.Fatal("fetched file differs")
	}
}

// TestSlowSinkKeepsProviders: time the requester spends on its own (a slow
// sink, waiting for work while another provider delivers) is not provider
// silence.
func TestSlowSinkKeepsProviders(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 3)
	prov := newMem()
	root, data := importFile(t, prov, 40, 3<<20)
	newService(t, hs[0], prov, nil)
	newService(t, hs[1], prov.clone(), nil)
	req := newService(t, hs[2], nil, func(c *Config) { c.IdleTimeout = 400 * time.Millisecond })
	sink := newMem()
	st, err := req.Fetch(context.Background(), root, sink, FetchOptions{
		Providers: []peer.ID{hs[0].ID(), hs[1].ID()},
		Parallel:  2,
		Progress:  func(Progress) { time.Sleep(500 * time.Millisecond) }, // a slow disk
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Dropped) > 0 {
		t.Fatalf("honest providers dropped: %v", st.Dropped)
	}
	if !bytes.Equal(readFile(t, sink, root), data) {
		t.Fatal("fetched file differs")
	}
}

// TestFetchLateProviders: the fetch starts with a provider lacking half the
// DAG; the provider holding the rest is found later (MoreProviders) and
// joins it. A MoreProviders never closed does not hold up a fetch that is
// complete.
func TestFetchLateProviders(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 3)
	full := newMem()
	root, data := importFile(t, full, 5, 12<<20)
	a, b := halves(full, root)
	newService(t, hs[0], a, nil)
	newService(t, hs[1], b, nil)
	req := newService(t, hs[2], nil, nil)

	more := make(chan peer.ID, 1)
	sink := &onFirstPut{Sink: newMem(), first: func() { more <- hs[1].ID() }}
	st, err := req.Fetch(context.Background(), root, sink, FetchOptions{Providers: []peer.ID{hs[0].ID()}, MoreProviders: more})
	if err != nil {
		t.Fatalf("fetch with a provider found late: %v", err)
	}
	if st.Served[hs[1].ID()] == 0 {
		t.Fatalf("the late provider served nothing: %v", st.Served)
	}
	if !bytes.Equal(readFile(t, sink.Sink.(*memBlocks), root), data) {
		t.Fatal("fetched file differs")
	}

	open := make(chan peer.ID) // never closed, never sent on
	done := make(chan error, 1)
	go func() {
		_, err := req.Fetch(context.Background(), root, newMem(), FetchOptions{Providers: []peer.ID{hs[0].ID(), hs[1].ID()}, MoreProviders: open})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a complete fetch waited for MoreProviders to close")
	}
}

// halves splits full's blocks below root between two stores (both keep
// root): neither holds the DAG, together they do.
func halves(full *memBlocks, root cid.Cid) (a, b *memBlocks) {
	a, b = full.clone(), full.clone()
	i := 0
	for c := range full.m {
		if c.Equals(root) {
			continue
		}
		if i%2 == 0 {
			delete(a.m, c)
		} else {
			delete(b.m, c)
		}
		i++
	}
	return a, b
}

// onFirstPut calls first once, before the first block reaches the sink.
type onFirstPut struct {
	Sink
	once  sync.Once
	first func()
}

func (s *onFirstPut) Put(c cid.Cid, data []byte) error {
	s.once.Do(s.first)
	return s.Sink.Put(c, data)
}

// TestFetchDepthFirstOrder: blocks reach the sink in the order of a
// depth-first walk of the DAG even when requests are cut short by their
// budget (the first is 4 MiB here, over a tree of 12 MiB), so that a
// reader streaming the files meanwhile finds each next block arriving
// next. A frontier handed out in the order blocks were learned sends the
// later files' subtrees before the rest of the one cut short.
func TestFetchDepthFirstOrder(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 2)
	prov := newMem()
	dir := filepath.Join(t.TempDir(), "d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", i)), randBytes(uint64(i+7), 3<<20), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root := importPath(t, prov, dir)
	var want []cid.Cid
	if err := content.Walk(context.Background(), prov, root, content.Links, func(c cid.Cid, _ []byte) error {
		want = append(want, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	newService(t, hs[0], prov, nil)
	req := newService(t, hs[1], nil, nil)
	sink := &orderSink{Sink: newMem()}
	if _, err := req.Fetch(context.Background(), root, sink, FetchOptions{Providers: []peer.ID{hs[0].ID()}}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sink.order, want) {
		t.Fatalf("blocks arrived out of depth-first order:\n got %v\nwant %v", sink.order, want)
	}
}

// orderSink records the order of Puts.
type orderSink struct {
	Sink
	order []cid.Cid
}

func (s *orderSink) Put(c cid.Cid, data []byte) error {
	s.order = append(s.order, c)
	return s.Sink.Put(c, data)
}

// TestProviderReconnects: the only provider's connection is closed in the
// middle of its answer (a connection manager, a network change); it
// delivered blocks, so it gets a new session and the fetch completes.
func TestProviderReconnects(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 2)
	prov := newMem()
	root, data := importFile(t, prov, 33, 16<<20)
	newService(t, hs[0], prov, nil)
	req := newService(t, hs[1], nil, nil)
	sink := newMem()
	closed := false
	st, err := req.Fetch(context.Background(), root, sink, FetchOptions{
		Providers: []peer.ID{hs[0].ID()},
		Progress: func(p Progress) {
			if p.Blocks == 3 && !closed {
				closed = true
				hs[1].Network().ClosePeer(hs[0].ID())
			}
		},
	})
	if err != nil {
		t.Fatalf("fetch with its provider's connection closed once: %v", err)
	}
	if !closed || len(st.Dropped) != 0 {
		t.Fatalf("closed %v, dropped %v", closed, st.Dropped)
	}
	if !bytes.Equal(readFile(t, sink, root), data) {
		t.Fatal("fetched file differs")
	}
}

// sumMem is a memBlocks that takes CRC-32Cs (SumSink) and records them.
type sumMem struct {
	*memBlocks
	sums map[cid.Cid]uint32 // Fetch calls the sink from one goroutine at a time
}

func (s *sumMem) PutSum(c cid.Cid, data []byte, sum uint32) error {
	s.sums[c] = sum
	return s.memBlocks.Put(c, data)
}

// TestFetchGivesSums: a SumSink gets every block with the CRC-32C of its
// bytes.
func TestFetchGivesSums(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 2)
	prov := newMem()
	root, _ := importFile(t, prov, 3, 3<<20+99)
	newService(t, hs[0], prov, nil)
	req := newService(t, hs[1], nil, nil)
	sink := &sumMem{memBlocks: newMem(), sums: make(map[cid.Cid]uint32)}
	if _, err := req.Fetch(context.Background(), root, sink, FetchOptions{Providers: []peer.ID{hs[0].ID()}}); err != nil {
		t.Fatal(err)
	}
	if len(sink.sums) != sink.Len() || sink.Len() != len(dagBlocks(t, prov, root)) {
		t.Fatalf("%d sums for %d blocks", len(sink.sums), sink.Len())
	}
	for c, d := range sink.m {
		if want := crc32.Checksum(d, crc32.MakeTable(crc32.Castagnoli)); sink.sums[c] != want {
			t.Errorf("block %s: CRC-32C %08x, want %08x", c, sink.sums[c], want)
		}
	}
}
