package library

import (
	"context"
	"sync"
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
	blocks   map[cid.Cid][]byte
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

// waiter is the readers awaiting one block.
type waiter struct {
	ch chan struct{} // closed when the block is offered
	n  int           // readers waiting
}

func newArrivals() *arrivals {
	return &arrivals{blocks: map[cid.Cid][]byte{}, waiters: map[cid.Cid]*waiter{},
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
// holding back first while a following reader has yet to make room.
func (a *arrivals) offer(c cid.Cid, data []byte) {
	if a == nil {
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
		return
	}
	close(a.arrived)
	a.arrived = make(chan struct{})
	w, waited := a.waiters[c]
	if waited {
		delete(a.waiters, c)
		close(w.ch)
	} else if time.Since(a.interest) > interestTTL {
		return
	}
	if _, dup := a.blocks[c]; dup {
		return
	}
	a.blocks[c] = data
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

// drop forgets block c; a.mu is held.
func (a *arrivals) drop(c cid.Cid) {
	if d, ok := a.blocks[c]; ok {
		a.bytes -= len(d)
		delete(a.blocks, c)
	}
}

// take returns block c if it has arrived (and forgets it), and records the
// reader's interest.
func (a *arrivals) take(c cid.Cid) ([]byte, bool) {
	if a == nil {
		return nil, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.interest = time.Now()
	d, ok := a.blocks[c]
	if ok {
		a.drop(c)
		a.progress = a.interest
		close(a.room)
		a.room = make(chan struct{})
	}
	return d, ok
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

// await waits for block c to arrive and takes it. It gives up when no block
// at all arrived for idle, after max, and at once when the fetch has ended
// (the store then holds what it fetched).
func (a *arrivals) await(ctx context.Context, c cid.Cid, idle, max time.Duration) ([]byte, bool) {
	if a == nil {
		return nil, false
	}
	if data, ok := a.take(c); ok {
		return data, true
	}
	a.mu.Lock()
	if a.ended {
		a.mu.Unlock()
		return nil, false
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
	a.blocks, a.order, a.bytes = map[cid.Cid][]byte{}, nil, 0
	close(a.arrived)
	a.arrived = make(chan struct{})
}
