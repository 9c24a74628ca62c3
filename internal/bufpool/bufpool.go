// Package bufpool keeps the 1 MiB buffers that content moves through in
// (an import's chunks, a fetch's leaves) for reuse once nothing reads them.
// A fresh 1 MiB buffer per block made the garbage collector run ~70 times
// per GiB added or fetched, each cycle marking the whole live heap, and
// cost the zeroing of every new buffer: together ~0.25 CPU-s per GiB on add
// and ~0.4 on the receiving side of a fetch.
//
// A buffer goes back with Put only when its last reader is done; one whose
// readers cannot all be tracked is simply left to the garbage collector.
package bufpool

import "sync"

// Size is the length of the buffers: content's chunk size, the size of
// every full raw leaf.
const Size = 1 << 20

var pool sync.Pool

// Get returns a Size-byte buffer, reused when one is free. Its bytes are
// not zeroed: the caller overwrites them.
func Get() []byte {
	if p, ok := pool.Get().(*[]byte); ok {
		return *p
	}
	return make([]byte, Size)
}

// Put makes b, a buffer from Get (whatever its length now) that nothing
// reads any more, free for reuse. Buffers of another capacity are ignored.
func Put(b []byte) {
	if cap(b) != Size {
		return
	}
	b = b[:Size]
	if Poison {
		for i := range b {
			b[i] = 0xa5
		}
	}
	pool.Put(&b)
}

// Poison makes Put overwrite what it frees, so that tests catch a buffer
// reused while still read: the bytes read no longer match their CID. Set it
// only before anything uses the pool (a TestMain).
var Poison = false
