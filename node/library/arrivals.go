package library

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
)

// Arrivals tuning.
const (
	// arrivalsMax bounds the bytes kept for readers (1 MiB leaves: 16).
	arrivalsMax = 16 << 20
	// interestTTL is how long a reader's last look keeps blocks being kept.
	interestTTL = 2 * time.Second
	// arrivalWait is how long a reader following the fetch waits for a
	// block it lacks, while the fetch brings nothing, before fetching it on
	// its own; arrivalMaxWait bounds the wait while the fetch brings others.
	arrivalWait    = 500 * time.Millisecond
	arrivalMaxWait = 2 * time.Second
	// stallWait is how long the fetch holds back, with arrivalsMax kept,
	// for a following reader that stopped reading.
	stallWait = time.Second
	// roomWait is how often a held-back fetch looks again.
	roomWait = 100 * time.Millisecond
)

// arrivals holds the blocks a whole fetch of one root has just verified,
// for readers streaming a file out of the same package while it arrives (a
// `get -o`, a gateway read, a cat). Such a reader takes a block from here
// instead of reading back and hashing again what the fetch wrote a moment
// before, and waits for a block the fetch is about to deliver instead of
// fetching it a second time on its own.
//
// Every block offered was verified against its CID by the fetch (a
// retrieval sink sees nothing else), and its slice is the fetch's own copy,
// never written again, so handing it to a reader serves nothing unverified.
// Blocks are kept only while some reader looked in the last interestTTL, at
// most arrivalsMax bytes. When that much is kept and a reader follows the
// fetch (it read a block in the last stallWait) with no block awaited, the
// fetch holds back until the reader takes one, so a reader that writes
// more slowly than the fetch brings keeps pace with it instead of falling
// behind to the store; otherwise the oldest block is dropped. All methods
// are safe on a nil *arrivals (no fetch under way): they find nothing.
type arrivals struct {
	mu       sync.Mutex
	blocks   map[cid.Cid]kept
	order    []cid.Cid // offer order, for dropping the oldest; may name blocks already taken
	bytes    int
	waiters  map[cid.Cid]*waiter
	created  time.Time     // when the fetch began
	interest time.Time     // a reader's last look
	progress time.Time     // a following reader's last block read
	room     chan struct{} // closed (and replaced) when a reader takes a block
	arrived  chan struct{} // closed (and replaced) when a block is offered
	ended    bool          // the fetch ended: nothing more arrives
}

// kept is a block held for readers, and its share of a pooled buffer (nil
// if not pooled).
type kept struct {
	data []byte
	sh   *shared
}

// shared counts the holders of a pooled block's bytes (internal/bufpool):
// the fetch's store batch and, while it keeps the block, arrivals, then the
// reader that took it. The last one to let go gives the buffer back. A
// holder that cannot tell when it is done (a reader that took the block
// with Get) never lets go: the buffer is then left to the garbage
// collector, never reused while still read.
type shared struct {
	n    atomic.Int32
	done func()
}

func newShared(holders int32, done func()) *shared {
	s := &shared{done: done}
	s.n.Store(holders)
	return s
}

// release lets go of one share; a no-op on nil.
func (s *shared) release() {
	if s != nil && s.n.Add(-1) == 0 {
		s.done()
	}
}

// waiter is the readers awaiting one block.
type waiter struct {
	ch chan struct{} // closed when the block is offered
	n  int           // readers waiting
}

func newArrivals() *arrivals {
	return &arrivals{blocks: map[cid.Cid]kept{}, waiters: map[cid.Cid]*waiter{},
		room: make(chan struct{}), arrived: make(chan struct{}), created: time.Now()}
}

// unreadFor is how long no reader has looked, counted from the start of the
// fetch; 0 on nil (no fetch under way: nothing to give up).
func (a *arrivals) unreadFor() time.Duration {
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	last := a.created
	if a.interest.After(last) {
		last = a.interest
	}
	return time.Since(last)
}

// offer keeps a verified block for readers, if any reader is interested,
// holding back first while a following reader has yet to make room. sh is
// the block's share for arrivals of a pooled buffer (nil if not pooled):
// released when the block is not kept, or dropped unread.
func (a *arrivals) offer(c cid.Cid, data []byte, sh *shared) {
	if a == nil {
		sh.release()
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.bytes+len(data) > arrivalsMax && !a.ended && len(a.waiters) == 0 && time.Since(a.progress) < stallWait {
		room := a.room
		a.mu.Unlock()
		t := time.NewTimer(roomWait)
		select {
		case <-room:
		case <-t.C:
		}
		t.Stop()
		a.mu.Lock()
	}
	if a.ended {
		sh.release()
		return
	}
	close(a.arrived)
	a.arrived = make(chan struct{})
	w, waited := a.waiters[c]
	if waited {
		delete(a.waiters, c)
		close(w.ch)
	} else if time.Since(a.interest) > interestTTL {
		sh.release()
		return
	}
	if _, dup := a.blocks[c]; dup {
		sh.release()
		return
	}
	a.blocks[c] = kept{data, sh}
	a.order = append(a.order, c)
	a.bytes += len(data)
	for a.bytes > arrivalsMax && len(a.order) > 0 {
		a.drop(a.order[0])
		a.order = a.order[1:]
	}
	if len(a.order) > 2*len(a.blocks)+64 { // mostly taken: forget their places
		kept := a.order[:0:0]
		for _, o := range a.order {
			if _, ok := a.blocks[o]; ok {
				kept = append(kept, o)
			}
		}
		a.order = kept
	}
}

// drop forgets block c, unread; a.mu is held.
func (a *arrivals) drop(c cid.Cid) {
	if k, ok := a.blocks[c]; ok {
		a.bytes -= len(k.data)
		delete(a.blocks, c)
		k.sh.release()
	}
}

// take returns block c if it has arrived (and forgets it), with the share
// of its buffer the reader now holds (nil if not pooled), and records the
// reader's interest.
func (a *arrivals) take(c cid.Cid) ([]byte, *shared, bool) {
	if a == nil {
		return nil, nil, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.interest = time.Now()
	k, ok := a.blocks[c]
	if ok {
		a.bytes -= len(k.data)
		delete(a.blocks, c)
		a.progress = a.interest
		close(a.room)
		a.room = make(chan struct{})
	}
	return k.data, k.sh, ok
}

// advance records that a following reader read a block elsewhere (the
// store): it is behind, and catching up.
func (a *arrivals) advance() {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.progress = time.Now()
	a.mu.Unlock()
}

// await waits for block c to arrive and takes it, as take. It gives up when
// no block at all arrived for idle, after max, and at once when the fetch
// has ended (the store then holds what it fetched).
func (a *arrivals) await(ctx context.Context, c cid.Cid, idle, max time.Duration) ([]byte, *shared, bool) {
	if a == nil {
		return nil, nil, false
	}
	if data, sh, ok := a.take(c); ok {
		return data, sh, true
	}
	a.mu.Lock()
	if a.ended {
		a.mu.Unlock()
		return nil, nil, false
	}
	w := a.waiters[c]
	if w == nil {
		w = &waiter{ch: make(chan struct{})}
		a.waiters[c] = w
	}
	w.n++
	arrived := a.arrived
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		if w.n--; w.n == 0 && a.waiters[c] == w {
			delete(a.waiters, c)
		}
		a.mu.Unlock()
	}()
	deadline := time.NewTimer(max)
	defer deadline.Stop()
	quiet := time.NewTimer(idle)
	defer quiet.Stop()
	for {
		select {
		case <-w.ch:
		case <-arrived: // the fetch goes on: wait on
			a.mu.Lock()
			arrived = a.arrived
			a.mu.Unlock()
			quiet.Reset(idle)
			continue
		case <-quiet.C:
		case <-deadline.C:
		case <-ctx.Done():
		}
		return a.take(c) // it may have come in just now
	}
}

// end marks the fetch over: waiters give up, kept blocks are released.
func (a *arrivals) end() {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ended = true
	for c, w := range a.waiters {
		close(w.ch)
		delete(a.waiters, c)
	}
	for c := range a.blocks {
		a.drop(c)
	}
	a.order = nil
	close(a.arrived)
	a.arrived = make(chan struct{})
}
