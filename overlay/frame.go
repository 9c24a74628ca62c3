package overlay

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Framing on a per-peer stream
//
// A stream carries frames, each a batch of packets:
//
//	frame  = length:u32 record+        (big endian; length counts the records' bytes)
//	record = size:u16 packet[size]     (1 <= size)
//
// A frame is written with one Write, so one frame is one batch for the
// receiving TUN. Both ends bound the frame length (MaxFrame) and the reader
// refuses a frame whose records do not exactly fill it.

const frameHeaderLen = 4

// DefaultMaxFrame is the frame size limit used when a Config gives none:
// a batch of 128 packets of 2 KiB.
const DefaultMaxFrame = 256 << 10

// FrameReader reads frames from a stream. It is not safe for concurrent use.
type FrameReader struct {
	r    io.Reader
	max  int
	hdr  [frameHeaderLen]byte
	buf  []byte
	pkts [][]byte
}

// NewFrameReader returns a reader that refuses frames longer than maxFrame
// bytes (DefaultMaxFrame if maxFrame <= 0). It never holds more than one
// frame buffer of at most maxFrame bytes.
func NewFrameReader(r io.Reader, maxFrame int) *FrameReader {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	return &FrameReader{r: r, max: maxFrame}
}

// ReadBatch reads the next frame and returns its packets. The returned slices
// point into the reader's buffer and are valid only until the next call.
// It returns io.EOF at a clean end of stream between frames,
// io.ErrUnexpectedEOF inside one, ErrFrameTooLarge or ErrBadFrame on a
// malformed frame (after which the stream should be reset), or the
// underlying reader's error.
func (fr *FrameReader) ReadBatch() ([][]byte, error) {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(fr.hdr[:]))
	if n > fr.max {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, fr.max)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: empty frame", ErrBadFrame)
	}
	if cap(fr.buf) < n {
		// Grow in steps so that a stream of small frames keeps a small buffer,
		// never beyond the limit.
		c := max(n, min(2*cap(fr.buf), fr.max), 4096)
		fr.buf = make([]byte, min(c, fr.max))
	}
	b := fr.buf[:n]
	if _, err := io.ReadFull(fr.r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	fr.pkts = fr.pkts[:0]
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, fmt.Errorf("%w: trailing byte", ErrBadFrame)
		}
		size := int(binary.BigEndian.Uint16(b))
		if size == 0 || size > len(b)-2 {
			return nil, fmt.Errorf("%w: packet of %d bytes in %d remaining", ErrBadFrame, size, len(b)-2)
		}
		fr.pkts = append(fr.pkts, b[2:2+size:2+size])
		b = b[2+size:]
	}
	return fr.pkts, nil
}

// FrameWriter encodes packets into frames. It is not safe for concurrent use.
type FrameWriter struct {
	w   io.Writer
	max int
	buf []byte // frame header placeholder + records
}

// NewFrameWriter returns a writer whose frames stay within maxFrame bytes
// (DefaultMaxFrame if maxFrame <= 0).
func NewFrameWriter(w io.Writer, maxFrame int) *FrameWriter {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	return &FrameWriter{w: w, max: maxFrame, buf: make([]byte, frameHeaderLen, 64<<10)}
}

// Buffered returns the number of record bytes waiting for Flush.
func (fw *FrameWriter) Buffered() int { return len(fw.buf) - frameHeaderLen }

// Add appends a packet to the current frame, flushing first if it would not
// fit. A packet that cannot fit in any frame (or is empty) is refused with
// ErrFrameTooLarge (ErrBadFrame); the frame so far is kept.
func (fw *FrameWriter) Add(pkt []byte) error {
	if len(pkt) == 0 {
		return ErrBadFrame
	}
	if len(pkt) > MaxPacketSize || 2+len(pkt) > fw.max {
		return fmt.Errorf("%w: packet of %d bytes", ErrFrameTooLarge, len(pkt))
	}
	if fw.Buffered()+2+len(pkt) > fw.max {
		if err := fw.Flush(); err != nil {
			return err
		}
	}
	fw.buf = binary.BigEndian.AppendUint16(fw.buf, uint16(len(pkt)))
	fw.buf = append(fw.buf, pkt...)
	return nil
}

// Flush writes the current frame, if it holds any packet, with one Write.
func (fw *FrameWriter) Flush() error {
	n := fw.Buffered()
	if n == 0 {
		return nil
	}
	binary.BigEndian.PutUint32(fw.buf, uint32(n))
	_, err := fw.w.Write(fw.buf)
	fw.buf = fw.buf[:frameHeaderLen]
	return err
}
