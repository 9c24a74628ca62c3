package retrieval

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node/content"
)

// TestServeMatchesSerialWalk checks that the pipelined serve loop (a loader
// reading ahead while the writer sends) answers byte for byte what a serial
// depth-first walk would, missing blocks included, and that a requester
// resetting the stream mid-answer leaves no loader behind.
func TestServeMatchesSerialWalk(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 2)
	root, part := partialFile(t, 7, 5)
	newService(t, hs[0], part, nil)
	req := request{Root: root, Wants: []cid.Cid{root}}
	var want bytes.Buffer
	ww := bufio.NewWriter(&want)
	ww.WriteByte(byte(StatusOK))
	if err := honest(ww, part, req, nil); err != nil {
		t.Fatal(err)
	}
	ww.Flush()

	str := ask(t, hs[1], hs[0], req)
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(str, got); err != nil {
		t.Fatal(err)
	}
	str.Close()
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("served answer differs from the serial walk (%d bytes)", len(got))
	}

	// A requester that goes away after the first bytes.
	str = ask(t, hs[1], hs[0], req)
	if _, err := io.ReadFull(str, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	str.Reset()
}

// ask opens a stream from one host to the provider on another and sends
// req on it; the caller reads the answer.
func ask(t *testing.T, from, to host.Host, req request) network.Stream {
	t.Helper()
	body, err := req.encode()
	if err != nil {
		t.Fatal(err)
	}
	str, err := from.NewStream(context.Background(), to.ID(), ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := str.Write(body); err != nil {
		t.Fatal(err)
	}
	return str
}

// partialFile imports a 9 MiB file and returns its root and a store that
// lacks about one of its blocks in every (never the root).
func partialFile(t *testing.T, seed uint64, every int) (cid.Cid, *memBlocks) {
	t.Helper()
	full := newMem()
	root, _ := importFile(t, full, seed, 9<<20)
	part := full.clone()
	i := 0
	for c := range full.m {
		if !c.Equals(root) && i%every == 0 {
			delete(part.m, c)
		}
		i++
	}
	return root, part
}

// countedBlocks counts the reads of each block.
type countedBlocks struct {
	*memBlocks
	mu    sync.Mutex
	reads map[cid.Cid]int
}

func (b *countedBlocks) View(c cid.Cid, fn func([]byte) error) error {
	b.mu.Lock()
	b.reads[c]++
	b.mu.Unlock()
	return b.memBlocks.View(c, fn)
}

// serialWalk writes the frames of the serial depth-first walk under the
// limit of maxBytes (the serve loop before it read ahead), and returns the
// blocks it looked up (sent, or answered missing).
func serialWalk(w *bufio.Writer, bs *memBlocks, wants []cid.Cid, maxBytes int64) map[cid.Cid]bool {
	looked := make(map[cid.Cid]bool)
	seen := make(map[cid.Cid]bool)
	stack := slices.Clone(wants)
	slices.Reverse(stack)
	var blocks, n int64
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[c] {
			continue
		}
		seen[c] = true
		if blocks > 0 && n >= maxBytes {
			break
		}
		looked[c] = true
		data, err := bs.Get(c)
		if err != nil {
			writeMissing(w, c)
			continue
		}
		writeBlock(w, c, data)
		blocks++
		n += int64(len(data))
		kids, _ := content.Links(c, data)
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
	w.WriteByte(frameEnd)
	return looked
}

// TestServeLimitsReadNoMore: under a byte budget that cuts the answer
// short, the pipelined serve loop sends what the serial walk sends, and
// looks up in the store no leaf the serial walk does not (a loader reading
// ahead past the budget read up to serveAhead blocks for nothing, every
// request).
func TestServeLimitsReadNoMore(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 2)
	root, part := partialFile(t, 11, 7)
	cb := &countedBlocks{memBlocks: part, reads: make(map[cid.Cid]int)}
	newService(t, hs[0], cb, nil)
	for _, budget := range []int64{1, 1 << 20, 3<<20 + 1, 5 << 20} {
		req := request{Root: root, Wants: []cid.Cid{root}, MaxBytes: uint64(budget)}
		var want bytes.Buffer
		ww := bufio.NewWriter(&want)
		ww.WriteByte(byte(StatusOK))
		looked := serialWalk(ww, part, req.Wants, budget)
		ww.Flush()

		cb.mu.Lock()
		clear(cb.reads)
		cb.mu.Unlock()
		str := ask(t, hs[1], hs[0], req)
		got := make([]byte, want.Len())
		_, err := io.ReadFull(str, got)
		str.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("budget %d: the answer differs from the serial walk's (%d bytes, want %d)", budget, len(got), want.Len())
		}
		cb.mu.Lock()
		for c, n := range cb.reads {
			if c.Type() == cid.Raw && (n != 1 || !looked[c]) {
				t.Errorf("budget %d: leaf %s read %d times; the serial walk looks it up: %v", budget, c, n, looked[c])
			}
		}
		cb.mu.Unlock()
	}
}
