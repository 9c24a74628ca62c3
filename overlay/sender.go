package overlay

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
)

// SenderConfig configures a Sender. The zero value is usable.
type SenderConfig struct {
	// MaxFrame bounds a frame's size (DefaultMaxFrame if 0).
	MaxFrame int
	// QueueLen is how many packets may wait to be written (1024 if 0), and
	// QueueBytes how many bytes (4 MiB if 0). Packets beyond either are
	// dropped, as a router drops on a full link; the byte bound keeps a
	// peer's queue small in memory whatever the MTU.
	QueueLen, QueueBytes int
}

// Sender writes packets to one peer's stream, batching them: its Run loop
// takes the first waiting packet, then every packet already queued until the
// frame is full or the queue is empty, and writes the frame with one Write.
//
// Lifecycle: NewSender → Run (again after a write error) → Close. Send is safe for concurrent use
// and never blocks; after Close it drops everything.
type Sender struct {
	fw      *FrameWriter
	queue   chan []byte
	bytes   atomic.Int64 // bytes queued
	max     int64        // QueueBytes
	closed  chan struct{}
	once    sync.Once
	dropped atomic.Uint64
	pool    sync.Pool
}

// NewSender returns a Sender writing frames to w. Closing w is the caller's.
func NewSender(w io.Writer, cfg SenderConfig) *Sender {
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 1024
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = 4 << 20
	}
	return &Sender{
		max:    int64(cfg.QueueBytes),
		fw:     NewFrameWriter(w, cfg.MaxFrame),
		queue:  make(chan []byte, cfg.QueueLen),
		closed: make(chan struct{}),
	}
}

// Send queues copies of packets (the caller keeps ownership of its slices)
// and returns how many were dropped because the queue was full or the
// Sender closed.
func (s *Sender) Send(packets [][]byte) (dropped int) {
	for i, p := range packets {
		select {
		case <-s.closed:
			n := len(packets) - i
			s.dropped.Add(uint64(n))
			return dropped + n
		default:
		}
		if s.bytes.Add(int64(len(p))) > s.max {
			s.bytes.Add(-int64(len(p)))
			dropped++
			continue
		}
		c := s.get(len(p))
		copy(c, p)
		select {
		case s.queue <- c:
		default:
			s.bytes.Add(-int64(len(p)))
			s.put(c)
			dropped++
		}
	}
	if dropped > 0 {
		s.dropped.Add(uint64(dropped))
	}
	return dropped
}

// Dropped returns how many packets Send has dropped so far.
func (s *Sender) Dropped() uint64 { return s.dropped.Load() }

func (s *Sender) get(n int) []byte {
	if b, ok := s.pool.Get().(*[]byte); ok && cap(*b) >= n {
		return (*b)[:n]
	}
	return make([]byte, n, max(n, 2048))
}

func (s *Sender) put(b []byte) {
	b = b[:0]
	s.pool.Put(&b)
}

// Run writes queued packets until ctx is done, Close is called, or a write
// fails; it returns the write error, or nil when stopped. After a write error
// Run may be called again (never concurrently) to go on with the packets
// still queued, for example once the writer has a new stream underneath.
func (s *Sender) Run(ctx context.Context) error {
	for {
		var p []byte
		select {
		case <-ctx.Done():
			return nil
		case <-s.closed:
			return nil
		case p = <-s.queue:
		}
		if err := s.add(p); err != nil {
			return err
		}
	more:
		for s.fw.Buffered() < s.fw.max {
			select {
			case p = <-s.queue:
				if err := s.add(p); err != nil {
					return err
				}
			default:
				break more
			}
		}
		if err := s.fw.Flush(); err != nil {
			return err
		}
	}
}

func (s *Sender) add(p []byte) error {
	s.bytes.Add(-int64(len(p)))
	defer s.put(p)
	if len(p) == 0 || len(p) > MaxPacketSize || 2+len(p) > s.fw.max {
		s.dropped.Add(1)
		return nil
	}
	return s.fw.Add(p) // fails only when a flush fails
}

// Close stops Run and makes later Sends drop. It is idempotent.
func (s *Sender) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}
