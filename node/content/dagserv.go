// Package content turns files and directories into UnixFS DAGs and back, on top
// of any block source and sink. It uses boxo's importer, directory builder and
// DAG reader, so that Myconet's CIDs equal what `ipfs add --cid-version=1
// --raw-leaves --chunker=size-1048576` gives for the same bytes.
//
// It owns no storage: Blocks reads verified blocks, Sink writes them.
package content

import (
	"context"
	"fmt"
	"sync"

	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	mh "github.com/multiformats/go-multihash"
)

// Blocks is where content reads blocks from. Implementations verify that the
// bytes match the CID (the store does) or say so.
type Blocks interface {
	// Get returns a verified copy of the block, or an error that wraps the
	// source's not-found or corruption error.
	Get(c cid.Cid) ([]byte, error)
	// View calls fn with the verified block; data is valid only inside fn.
	View(c cid.Cid, fn func(data []byte) error) error
}

// LendingBlocks is Blocks that can also lend a block's bytes: release (nil
// when there is nothing to release) says they are read no more, so that
// their buffer may be reused. A reader that writes each block out and
// drops it uses GetThen instead of Get.
type LendingBlocks interface {
	GetThen(c cid.Cid) (data []byte, release func(), err error)
}

// Sink receives the blocks of an import. Put may keep data until the sink's
// next flush; callers must not modify data after Put.
type Sink interface {
	Put(c cid.Cid, data []byte) error
}

// SumSink is a Sink that also takes, with a block, the CRC-32C
// (Castagnoli, internal/crc32c) of its bytes: the store records one for each large block and
// checks it on reads. The importer computes it for raw leaves where it
// hashes them, while the bytes are in that core's cache; computed later by
// the store, on bytes gone cold, it was 12% of add's CPU.
type SumSink interface {
	Sink
	PutSum(c cid.Cid, data []byte, crc32c uint32) error
}

// ThenSink is a SumSink that says when it is done with a block's bytes
// (store.Batch.PutSumThen): the importer then reads its next chunks into
// the same buffers. Fresh 1 MiB buffers for every chunk made the garbage
// collector run ~70 times per GiB added and cost ~0.25 CPU-s per GiB with
// the zeroing of the new buffers (GODEBUG=gctrace=1; GOGC=400 took add from
// 1.03–1.07 s to 0.88–0.92 s).
type ThenSink interface {
	SumSink
	PutSumThen(c cid.Cid, data []byte, crc32c uint32, done func()) error
}

// leafSums holds the CRC-32C of the chunks the splitters hashed, by their
// multihash, until the writer hands their blocks to the sink. Keyed by
// content, an entry is right for any block with those bytes.
type leafSums struct {
	mu sync.Mutex
	m  map[string]uint32
}

func (l *leafSums) add(h mh.Multihash, sum uint32) {
	l.mu.Lock()
	l.m[string(h)] = sum
	l.mu.Unlock()
}

func (l *leafSums) take(h mh.Multihash) (uint32, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	sum, ok := l.m[string(h)]
	if ok {
		delete(l.m, string(h))
	}
	return sum, ok
}

// dagService adapts Blocks (and optionally a Sink) to boxo's ipld.DAGService.
// Nodes added during an import are remembered when they are not raw leaves,
// so that boxo's directory code can read back what it wrote before the sink
// has flushed it.
type dagService struct {
	bs     Blocks
	add    func(ipld.Node) error // nil: read-only
	mu     sync.Mutex
	recent map[cid.Cid]ipld.Node // guarded by mu
}

var _ ipld.DAGService = (*dagService)(nil)

func newDAGService(bs Blocks, add func(ipld.Node) error) *dagService {
	return &dagService{bs: bs, add: add, recent: make(map[cid.Cid]ipld.Node)}
}

// Get implements ipld.NodeGetter.
func (d *dagService) Get(ctx context.Context, c cid.Cid) (ipld.Node, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	nd, ok := d.recent[c]
	d.mu.Unlock()
	if ok {
		return nd, nil
	}
	if d.bs == nil {
		return nil, ipld.ErrNotFound{Cid: c}
	}
	data, err := d.bs.Get(c)
	if err != nil {
		return nil, err
	}
	return DecodeNode(c, data)
}

// GetMany implements ipld.NodeGetter.
//
// Each node is sent as soon as it is read, a few at a time: boxo's file
// reader preloads the next children of a node through GetMany, and when a
// read of Blocks fetches from the network, the first of them must not wait
// for the rest.
func (d *dagService) GetMany(ctx context.Context, cs []cid.Cid) <-chan *ipld.NodeOption {
	out := make(chan *ipld.NodeOption, len(cs)) // senders never block
	next := make(chan cid.Cid, len(cs))
	for _, c := range cs {
		next <- c
	}
	close(next)
	var wg sync.WaitGroup
	for range min(len(cs), getManyParallel) {
		wg.Go(func() {
			for c := range next {
				nd, err := d.Get(ctx, c)
				out <- &ipld.NodeOption{Node: nd, Err: err}
			}
		})
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return out
}

// getManyParallel is how many nodes GetMany reads at once.
const getManyParallel = 4

// Add implements ipld.NodeAdder.
func (d *dagService) Add(ctx context.Context, nd ipld.Node) error {
	if d.add == nil {
		return fmt.Errorf("content: read-only DAG service")
	}
	if nd.Cid().Type() != cid.Raw {
		d.mu.Lock()
		d.recent[nd.Cid()] = nd
		d.mu.Unlock()
	}
	return d.add(nd)
}

// AddMany implements ipld.NodeAdder.
func (d *dagService) AddMany(ctx context.Context, nds []ipld.Node) error {
	for _, nd := range nds {
		if err := d.Add(ctx, nd); err != nil {
			return err
		}
	}
	return nil
}

// Remove implements ipld.DAGService; imports never remove.
func (d *dagService) Remove(context.Context, cid.Cid) error { return nil }

// RemoveMany implements ipld.DAGService; imports never remove.
func (d *dagService) RemoveMany(context.Context, []cid.Cid) error { return nil }

// DecodeNode decodes a verified block into a boxo node (raw or dag-pb).
func DecodeNode(c cid.Cid, data []byte) (ipld.Node, error) {
	blk, err := blocks.NewBlockWithCid(data, c)
	if err != nil {
		return nil, err
	}
	switch c.Type() {
	case cid.Raw:
		return merkledag.DecodeRawBlock(blk)
	case cid.DagProtobuf:
		nd, err := merkledag.DecodeProtobufBlock(blk)
		if err != nil {
			return nil, fmt.Errorf("content: block %s: %w", c, err)
		}
		return nd, nil
	default:
		return nil, fmt.Errorf("content: block %s: codec 0x%x is not UnixFS", c, c.Type())
	}
}

// Links returns the CIDs a raw or dag-pb block links to (none for raw).
func Links(c cid.Cid, data []byte) ([]cid.Cid, error) {
	switch c.Type() {
	case cid.Raw:
		return nil, nil
	case cid.DagProtobuf:
		nd, err := merkledag.DecodeProtobuf(data)
		if err != nil {
			return nil, fmt.Errorf("content: block %s: %w", c, err)
		}
		ls := nd.Links()
		out := make([]cid.Cid, len(ls))
		for i, l := range ls {
			out[i] = l.Cid
		}
		return out, nil
	}
	return nil, fmt.Errorf("content: block %s: codec 0x%x is not UnixFS", c, c.Type())
}
