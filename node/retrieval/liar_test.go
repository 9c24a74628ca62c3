package retrieval

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node/content"
)

// A liar is an adversarial provider: a raw stream handler speaking the wire
// format, holding the real DAG, and misbehaving in one way.
type liar func(w *bufio.Writer, bs *memBlocks, req request) error

// serveLiar installs lie as the fetch handler of h.
func serveLiar(h host.Host, bs *memBlocks, lie liar) {
	h.SetStreamHandler(ProtocolID, func(str network.Stream) {
		defer str.Reset()
		br := bufio.NewReader(str)
		bw := bufio.NewWriter(str)
		for {
			req, err := readRequest(br)
			if err != nil {
				return
			}
			if err := lie(bw, bs, req); err != nil {
				return
			}
			if err := bw.Flush(); err != nil {
				return
			}
		}
	})
}

// honest writes what a correct provider would, with edit applied to each
// block before it is sent.
// The caller writes the status.
func honest(w *bufio.Writer, bs *memBlocks, req request, edit func(c cid.Cid, data []byte) []byte) error {
	seen := make(map[cid.Cid]bool)
	var visit func(c cid.Cid) error
	visit = func(c cid.Cid) error {
		if seen[c] {
			return nil
		}
		seen[c] = true
		data, err := bs.Get(c)
		if err != nil {
			return writeMissing(w, c)
		}
		if edit != nil {
			data = edit(c, data)
		}
		if err := writeBlock(w, c, data); err != nil {
			return err
		}
		kids, _ := content.Links(c, data)
		for _, k := range kids {
			if err := visit(k); err != nil {
				return err
			}
		}
		return nil
	}
	for _, c := range req.Wants {
		if err := visit(c); err != nil {
			return err
		}
	}
	return w.WriteByte(frameEnd)
}

func rawBlock(data []byte) cid.Cid {
	c, _ := cid.V1Builder{Codec: cid.Raw, MhType: mh.SHA2_256}.Sum(data)
	return c
}

var liars = map[string]liar{
	// flip changes one byte of every raw leaf.
	"flip": func(w *bufio.Writer, bs *memBlocks, req request) error {
		w.WriteByte(byte(StatusOK))
		return honest(w, bs, req, func(c cid.Cid, data []byte) []byte {
			if c.Type() == cid.Raw && len(data) > 0 {
				data = bytes.Clone(data)
				data[len(data)/2] ^= 1
			}
			return data
		})
	},
	// foreign sends a valid block that belongs to no requested DAG.
	"foreign": func(w *bufio.Writer, bs *memBlocks, req request) error {
		data := []byte("an advertisement nobody asked for")
		w.WriteByte(byte(StatusOK))
		if err := writeBlock(w, rawBlock(data), data); err != nil {
			return err
		}
		return honest(w, bs, req, nil)
	},
	// early sends a block of the DAG before the block that links to it.
	"early": func(w *bufio.Writer, bs *memBlocks, req request) error {
		w.WriteByte(byte(StatusOK))
		kids, _ := content.Links(req.Wants[0], mustGet(bs, req.Wants[0]))
		if len(kids) > 0 {
			last := kids[len(kids)-1]
			if err := writeBlock(w, last, mustGet(bs, last)); err != nil {
				return err
			}
		}
		return honest(w, bs, req, nil)
	},
	// oversized announces a block above the limit and starts sending it.
	"oversized": func(w *bufio.Writer, bs *memBlocks, req request) error {
		w.WriteByte(byte(StatusOK))
		b := append([]byte{frameBlock}, appendCID(nil, req.Wants[0])...)
		b = binary.AppendUvarint(b, content.MaxBlockSize+1)
		w.Write(b)
		_, err := w.Write(make([]byte, content.MaxBlockSize+1))
		return err
	},
	// garbage sends noise after an ok status.
	"garbage": func(w *bufio.Writer, bs *memBlocks, req request) error {
		w.WriteByte(byte(StatusOK))
		_, err := w.Write(randBytes(99, 1<<16))
		return err
	},
	// badstatus sends noise instead of a status.
	"badstatus": func(w *bufio.Writer, bs *memBlocks, req request) error {
		_, err := w.Write(randBytes(98, 100))
		return err
	},
	// dup sends the first block twice.
	"dup": func(w *bufio.Writer, bs *memBlocks, req request) error {
		w.WriteByte(byte(StatusOK))
		c := req.Wants[0]
		writeBlock(w, c, mustGet(bs, c))
		return honest(w, bs, req, nil)
	},
	// idle ends every response without sending anything.
	"idle": func(w *bufio.Writer, bs *memBlocks, req request) error {
		w.WriteByte(byte(StatusOK))
		return w.WriteByte(frameEnd)
	},
	// stall never answers (see serveStall).
	"stall": nil,
	// truncate sends half a block and closes.
	"truncate": func(w *bufio.Writer, bs *memBlocks, req request) error {
		w.WriteByte(byte(StatusOK))
		c := req.Wants[0]
		data := mustGet(bs, c)
		b := append([]byte{frameBlock}, appendCID(nil, c)...)
		b = binary.AppendUvarint(b, uint64(len(data)))
		w.Write(b)
		w.Write(data[:len(data)/2])
		return io.EOF
	},
}

func mustGet(bs *memBlocks, c cid.Cid) []byte {
	d, err := bs.Get(c)
	if err != nil {
		panic(err)
	}
	return d
}

func TestLyingProviders(t *testing.T) {
	for name, lie := range liars {
		t.Run(name, func(t *testing.T) {
			leakcheck.Check(t)
			_, hs := meshNet(t, 3)
			full := newMem()
			root, data := importFile(t, full, 10, 6<<20)
			dag := dagBlocks(t, full, root)
			if name == "stall" {
				serveStall(t, hs[0])
			} else {
				serveLiar(hs[0], full, lie)
			}
			newService(t, hs[1], full.clone(), nil)
			req := newService(t, hs[2], nil, func(c *Config) { c.IdleTimeout = time.Second })

			sink := newMem()
			start := time.Now()
			st, err := req.Fetch(context.Background(), root, sink, FetchOptions{
				Providers: []peer.ID{hs[0].ID(), hs[1].ID()},
				Parallel:  1, // the liar goes first
			})
			if err != nil {
				t.Fatalf("fetch: %v", err)
			}
			t.Logf("took %v; dropped %v", time.Since(start), st.Dropped)
			if len(st.Dropped) != 1 {
				t.Fatalf("dropped %d providers, want the liar: %v", len(st.Dropped), st.Dropped)
			}
			var pe *ProviderError
			if !errors.As(st.Dropped[0], &pe) || pe.Peer != hs[0].ID() {
				t.Fatalf("dropped %v, want the liar %s", st.Dropped[0], hs[0].ID())
			}
			if name != "stall" && name != "truncate" && !errors.Is(pe, ErrProtocol) {
				t.Errorf("liar dropped for %v, want a protocol violation", pe)
			}
			if st.Served[hs[0].ID()] > 0 && name != "dup" && name != "early" && name != "foreign" && name != "flip" {
				t.Errorf("liar credited with %d blocks", st.Served[hs[0].ID()])
			}
			checkSink(t, sink, dag)
			if !bytes.Equal(readFile(t, sink, root), data) {
				t.Fatal("fetched file differs")
			}
		})
	}
}

// TestLyingCrowd: every liar at once, with honest providers, in parallel.
func TestLyingCrowd(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, len(liars)+3)
	full := newMem()
	root, data := importFile(t, full, 11, 12<<20)
	var ids []peer.ID
	i := 0
	for name, lie := range liars {
		if name == "stall" {
			serveStall(t, hs[i])
		} else {
			serveLiar(hs[i], full, lie)
		}
		ids = append(ids, hs[i].ID())
		i++
	}
	newService(t, hs[i], full.clone(), nil)
	newService(t, hs[i+1], full.clone(), nil)
	ids = append(ids, hs[i].ID(), hs[i+1].ID())
	req := newService(t, hs[i+2], nil, func(c *Config) { c.IdleTimeout = time.Second })
	sink := newMem()
	st, err := req.Fetch(context.Background(), root, sink, FetchOptions{Providers: ids, Parallel: 6})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("served %v; dropped %d: %v", st.Served, len(st.Dropped), st.Dropped)
	checkSink(t, sink, dagBlocks(t, full, root))
	if !bytes.Equal(readFile(t, sink, root), data) {
		t.Fatal("fetched file differs")
	}
}

// serveStall installs a handler that reads requests and never answers,
// until the requester resets the stream.
func serveStall(t *testing.T, h host.Host) {
	h.SetStreamHandler(ProtocolID, func(str network.Stream) {
		defer str.Reset()
		io.Copy(io.Discard, str)
	})
}

// checkSink fails unless every block in sink verifies and belongs to dag.
func checkSink(t *testing.T, sink *memBlocks, dag map[cid.Cid]int) {
	t.Helper()
	if sink.bad > 0 {
		t.Fatalf("the sink was offered %d bad blocks", sink.bad)
	}
	for c, d := range sink.m {
		if err := content.VerifyBlock(c, d); err != nil {
			t.Fatalf("sink holds a bad block: %v", err)
		}
		if _, ok := dag[c]; !ok {
			t.Fatalf("sink holds %s, which is not in the DAG", c)
		}
	}
	if len(sink.m) != len(dag) {
		t.Fatalf("sink holds %d blocks, DAG has %d", len(sink.m), len(dag))
	}
}
