package overlay

import (
	"errors"
	"io"
)

// ServeStream reads frames from one peer's stream and delivers their
// packets until the stream ends (nil at a clean end between frames) or
// fails (the error; on ErrFrameTooLarge or ErrBadFrame the caller should
// reset the stream). peerKey is the key the stream's connection is
// authenticated with. To stop it, close or reset the stream.
func (r *Router) ServeStream(peer string, peerKey []byte, stream io.Reader, maxFrame int) error {
	fr := NewFrameReader(stream, maxFrame)
	for {
		pkts, err := fr.ReadBatch()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		r.Deliver(peer, peerKey, pkts)
	}
}
