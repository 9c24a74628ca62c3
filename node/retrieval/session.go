package retrieval

import (
	"bufio"
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/internal/bufpool"
	"github.com/myconet/myconet/internal/crc32c"
	"github.com/myconet/myconet/node/content"
)

// sessionConn is one stream of a session, with its timers.
type sessionConn struct {
	f        *fetch
	str      network.Stream
	br       *bufio.Reader
	bw       *bufio.Writer
	wd       *watchdog
	stop     func() bool
	timedOut atomic.Pointer[error] // why a timer reset the stream, if one did
}

func (f *fetch) dial(p peer.ID) (*sessionConn, error) {
	ctx, cancel := context.WithTimeout(f.ctx, f.s.cfg.DialTimeout)
	defer cancel()
	str, err := f.s.cfg.Host.NewStream(ctx, p, ProtocolID)
	if err != nil {
		return nil, fmt.Errorf("open stream: %w", err)
	}
	sc := &sessionConn{f: f, str: str}
	sc.wd = newWatchdog(f.s.cfg.IdleTimeout, func() {
		sc.timeout(fmt.Errorf("%w: silent for %v", ErrTimeout, f.s.cfg.IdleTimeout))
	})
	sc.wd.stop() // armed only while waiting on the stream (kickReader, kickWriter)
	sc.stop = context.AfterFunc(f.ctx, func() { str.Reset() })
	sc.br = bufio.NewReaderSize(kickReader{str, sc.wd}, 256<<10)
	sc.bw = bufio.NewWriterSize(kickWriter{str, sc.wd}, 8<<10)
	return sc, nil
}

func (sc *sessionConn) timeout(err error) {
	sc.timedOut.CompareAndSwap(nil, &err)
	sc.str.Reset()
}

// exchange runs one request on the stream. started reports that the
// provider answered with a status.
func (sc *sessionConn) exchange(ex *exchange) (started bool, err error) {
	rt := time.AfterFunc(sc.f.s.cfg.RequestTimeout, func() {
		sc.timeout(fmt.Errorf("%w: one request took over %v", ErrTimeout, sc.f.s.cfg.RequestTimeout))
	})
	started, err = ex.run(sc.br, sc.bw)
	rt.Stop()
	sc.wd.stop()
	if err != nil {
		if cause := sc.timedOut.Load(); cause != nil {
			err = *cause
		}
	}
	return started, err
}

// close ends the stream: gracefully after a clean session, else by reset.
func (sc *sessionConn) close(clean bool) {
	sc.wd.stop()
	sc.stop()
	if clean {
		sc.str.Close()
	} else {
		sc.str.Reset()
	}
}

// exchange is one request and its response.
type exchange struct {
	f       *fetch
	p       peer.ID
	budget  int64
	wants   []cid.Cid
	owned   []cid.Cid        // wants and links learned here that it must deliver; guarded by f.mu after take
	allowed map[cid.Cid]bool // wants and links of blocks verified here; false once received
	missing map[cid.Cid]bool // reported missing by p
}

// run sends the request and checks every frame of the response.
func (ex *exchange) run(br *bufio.Reader, bw *bufio.Writer) (started bool, err error) {
	f := ex.f
	req := request{MaxBytes: uint64(ex.budget), Root: f.root, Wants: ex.wants}
	if f.opts.Shallow {
		req.Flags |= flagShallow
	}
	msg, err := req.encode()
	if err != nil {
		return false, err
	}
	if _, err := bw.Write(msg); err != nil {
		return false, err
	}
	if err := bw.Flush(); err != nil {
		return false, err
	}
	st, err := br.ReadByte()
	if err != nil {
		return false, fmt.Errorf("status: %w", noEOF(err))
	}
	switch Status(st) {
	case StatusOK:
	case StatusNotFound, StatusWithheld, StatusBusy, StatusBadRequest:
		return true, &StatusError{Status: Status(st)}
	default:
		return true, protoErr("unknown status %d", st)
	}
	first := ex.wants[0]
	for {
		fr, err := readFrame(br, maxFrameData)
		if err != nil {
			return true, err
		}
		switch fr.Type {
		case frameEnd:
			// Each response settles at least its first want.
			if ex.allowed[first] && !ex.missing[first] {
				return true, protoErr("response ended without settling %s", first)
			}
			return true, nil
		case frameMissing:
			if !ex.allowed[fr.CID] || ex.missing[fr.CID] {
				return true, protoErr("missing frame for %s, which was not requested", fr.CID)
			}
			if ex.missing == nil {
				ex.missing = make(map[cid.Cid]bool)
			}
			ex.missing[fr.CID] = true
		case frameBlock:
			if err := ex.block(fr.CID, fr.Data, fr.Pooled); err != nil {
				return true, err
			}
		}
	}
}

// block verifies one received block and delivers it. If pooled, data is a
// bufpool buffer: it goes back to the pool when the block is not kept, and
// a ThenSink gives it back when done with it.
func (ex *exchange) block(c cid.Cid, data []byte, pooled bool) error {
	f := ex.f
	if pooled {
		defer func() {
			if pooled { // not handed to a ThenSink
				bufpool.Put(data)
			}
		}()
	}
	if ok, known := ex.allowed[c]; !ok || ex.missing[c] {
		if known {
			return protoErr("block %s sent twice", c)
		}
		return protoErr("block %s was not requested", c)
	}
	if err := content.VerifyBlock(c, data); err != nil {
		return protoErr("block: %v", err)
	}
	ex.allowed[c] = false // received
	var kids []cid.Cid
	if !f.opts.Shallow && c.Type() != cid.Raw {
		var err error
		kids, err = f.s.cfg.Links(c, data)
		if err != nil {
			// The bytes match the CID: the DAG itself is broken.
			f.mu.Lock()
			f.failLocked(fmt.Errorf("%w: block %s: %v", ErrBadDAG, c, err))
			f.mu.Unlock()
			return fmt.Errorf("%w: block %s", ErrBadDAG, c)
		}
		for _, k := range kids {
			if _, ok := ex.allowed[k]; !ok {
				ex.allowed[k] = true
			}
		}
	}

	// Which links are new to the fetch?
	f.mu.Lock()
	var unknown []cid.Cid
	for _, k := range kids {
		if f.items[k] == nil {
			unknown = append(unknown, k)
		}
	}
	f.mu.Unlock()
	held, missing, err := f.expand(unknown, true)
	if err != nil {
		f.mu.Lock()
		f.failLocked(err)
		f.mu.Unlock()
		return err
	}

	f.mu.Lock()
	it := f.items[c]
	if it == nil { // cannot happen: every allowed CID is known
		it = &item{}
		f.items[c] = it
	}
	put := !it.done
	it.done = true
	if !put {
		f.stats.Duplicates++
	}
	for _, k := range held {
		if f.items[k] == nil {
			f.items[k] = &item{done: true}
			f.stats.Held++
		}
	}
	for i, k := range missing {
		if f.items[k] == nil {
			f.items[k] = &item{owner: ex, pos: childPos(it.pos, i)}
			ex.owned = append(ex.owned, k)
		}
	}
	f.mu.Unlock()
	if !put {
		return nil
	}

	ss, withSum := f.sink.(SumSink)
	var sum uint32
	if withSum {
		sum = crc32c.Sum(data) // just hashed: in cache
	}
	f.sinkMu.Lock()
	defer f.sinkMu.Unlock()
	ts, then := f.sink.(ThenSink)
	lend := pooled && then
	// From here the sink has data: a ThenSink gives the buffer back; any
	// other sink may keep it, so it is left to the garbage collector.
	pooled = false
	switch {
	case lend:
		err = ts.PutSumThen(c, data, sum, func() { bufpool.Put(data) })
	case withSum:
		err = ss.PutSum(c, data, sum)
	default:
		err = f.sink.Put(c, data)
	}
	if err != nil {
		f.mu.Lock()
		f.failLocked(fmt.Errorf("write block %s: %w", c, err))
		f.mu.Unlock()
		return err
	}
	f.mu.Lock()
	f.stats.Bytes += int64(len(data))
	f.stats.Blocks++
	f.stats.Served[ex.p]++
	pr := Progress{Bytes: f.stats.Bytes, Blocks: f.stats.Blocks, Providers: len(f.stats.Served)}
	f.mu.Unlock()
	if f.opts.Progress != nil {
		f.opts.Progress(pr)
	}
	return nil
}
