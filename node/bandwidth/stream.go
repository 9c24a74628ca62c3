package bandwidth

import (
	"context"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Host wraps a libp2p host so that the streams it opens and accepts for
// SetStreamHandler are limited by Up (bytes written) and Down (bytes read).
// Everything else passes through. Give it to the services that move bulk data.
type Host struct {
	host.Host
	Up, Down *Limiter
}

// NewStream opens a limited stream.
func (h *Host) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	s, err := h.Host.NewStream(ctx, p, pids...)
	if err != nil {
		return nil, err
	}
	return h.wrap(s), nil
}

func (h *Host) wrap(s network.Stream) *Stream {
	ctx, cancel := context.WithCancel(context.Background())
	return &Stream{Stream: s, up: h.Up, down: h.Down, ctx: ctx, cancel: cancel}
}

// SetStreamHandler installs handler with limited streams.
func (h *Host) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.Host.SetStreamHandler(pid, func(s network.Stream) {
		handler(h.wrap(s))
	})
}

// Stream is a network.Stream whose reads and writes wait for tokens. A read
// pays after it happens (the bytes have arrived; the wait slows the sender
// through flow control); a write pays before, in pieces of at most MinBurst.
// Reset and Close interrupt waits.
type Stream struct {
	network.Stream
	up, down *Limiter
	ctx      context.Context // ends when the stream is closed or reset
	cancel   context.CancelFunc
}

// Read implements io.Reader.
func (s *Stream) Read(p []byte) (int, error) {
	n, err := s.Stream.Read(p)
	if n > 0 && s.down != nil {
		if werr := s.down.Wait(s.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

// Write implements io.Writer.
func (s *Stream) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		chunk := p
		if len(chunk) > MinBurst {
			chunk = p[:MinBurst]
		}
		if s.up != nil {
			if err := s.up.Wait(s.ctx, len(chunk)); err != nil {
				return written, err
			}
		}
		n, err := s.Stream.Write(chunk)
		written += n
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// Close closes the stream and ends pending waits.
func (s *Stream) Close() error {
	s.cancel()
	return s.Stream.Close()
}

// Reset resets the stream and ends pending waits.
func (s *Stream) Reset() error {
	s.cancel()
	return s.Stream.Reset()
}
