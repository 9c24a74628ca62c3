package retrieval

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/myconet/myconet/internal/bufpool"
	"github.com/myconet/myconet/node/content"
)

// ProtocolID is the stream protocol of retrieval.
const ProtocolID protocol.ID = "/myconet/fetch/1.0.0"

// Wire limits.
const (
	wireVersion    = 1
	maxRequestSize = 4 << 10 // body of a request, after its length prefix
	maxCIDLen      = 128
	maxWants       = 100
	flagShallow    = 1 << 0
	knownFlags     = flagShallow
)

// Frame types.
const (
	frameEnd     = 0
	frameBlock   = 1
	frameMissing = 2
)

// request is one request of a session.
type request struct {
	Flags     byte
	MaxBlocks uint64 // 0: the provider's limit
	MaxBytes  uint64 // 0: the provider's limit
	Root      cid.Cid
	Wants     []cid.Cid
}

func appendCID(b []byte, c cid.Cid) []byte {
	k := c.KeyString()
	b = binary.AppendUvarint(b, uint64(len(k)))
	return append(b, k...)
}

// encode returns the request with its length prefix. It fails when the
// request breaks a limit that decodeRequest enforces.
func (r *request) encode() ([]byte, error) {
	if len(r.Wants) == 0 || len(r.Wants) > maxWants {
		return nil, fmt.Errorf("request: %d wants (want 1..%d)", len(r.Wants), maxWants)
	}
	body := make([]byte, 0, 64+len(r.Wants)*40)
	body = append(body, wireVersion, r.Flags)
	body = binary.AppendUvarint(body, r.MaxBlocks)
	body = binary.AppendUvarint(body, r.MaxBytes)
	body = appendCID(body, r.Root)
	body = binary.AppendUvarint(body, uint64(len(r.Wants)))
	for _, w := range r.Wants {
		body = appendCID(body, w)
	}
	if len(body) > maxRequestSize {
		return nil, fmt.Errorf("request: %d bytes exceeds %d", len(body), maxRequestSize)
	}
	out := binary.AppendUvarint(make([]byte, 0, len(body)+3), uint64(len(body)))
	return append(out, body...), nil
}

// errShort reports a request body that ends early.
var errShort = errors.New("truncated")

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		if n < 0 {
			d.err = errors.New("varint overflow")
		}
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errShort
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) cid() cid.Cid {
	n := d.uvarint()
	if d.err != nil {
		return cid.Undef
	}
	if n == 0 || n > maxCIDLen || n > uint64(len(d.b)) {
		d.err = fmt.Errorf("bad CID length %d", n)
		return cid.Undef
	}
	c, err := cid.Cast(d.b[:n])
	if err != nil {
		d.err = fmt.Errorf("bad CID: %v", err)
		return cid.Undef
	}
	d.b = d.b[n:]
	return c
}

// decodeRequest parses a request body (without its length prefix).
func decodeRequest(body []byte) (request, error) {
	if len(body) > maxRequestSize {
		return request{}, fmt.Errorf("request: %d bytes exceeds %d", len(body), maxRequestSize)
	}
	d := &decoder{b: body}
	var r request
	if v := d.byte(); d.err == nil && v != wireVersion {
		return request{}, fmt.Errorf("request: unknown version %d", v)
	}
	r.Flags = d.byte()
	if d.err == nil && r.Flags&^knownFlags != 0 {
		return request{}, fmt.Errorf("request: unknown flags 0x%x", r.Flags)
	}
	r.MaxBlocks = d.uvarint()
	r.MaxBytes = d.uvarint()
	r.Root = d.cid()
	n := d.uvarint()
	if d.err == nil && (n == 0 || n > maxWants) {
		return request{}, fmt.Errorf("request: %d wants (want 1..%d)", n, maxWants)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		r.Wants = append(r.Wants, d.cid())
	}
	if d.err != nil {
		return request{}, fmt.Errorf("request: %w", d.err)
	}
	if len(d.b) != 0 {
		return request{}, fmt.Errorf("request: %d trailing bytes", len(d.b))
	}
	return r, nil
}

// readRequest reads one length-prefixed request. It returns io.EOF, unwrapped,
// when the stream ends cleanly before a request starts.
func readRequest(r *bufio.Reader) (request, error) {
	n, err := binary.ReadUvarint(r)
	if err == io.EOF {
		return request{}, io.EOF
	}
	if err != nil {
		return request{}, fmt.Errorf("request length: %w", noEOF(err))
	}
	if n == 0 || n > maxRequestSize {
		return request{}, fmt.Errorf("request: length %d (want 1..%d)", n, maxRequestSize)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return request{}, fmt.Errorf("request: %w", noEOF(err))
	}
	return decodeRequest(body)
}

// noEOF turns io.EOF inside a message into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// frame is one response frame.
type frame struct {
	Type byte
	CID  cid.Cid
	Data []byte // frameBlock only; freshly allocated, owned by the caller
	// Pooled says Data came from bufpool.Get: the caller may bufpool.Put
	// it once nothing reads it.
	Pooled bool
}

// readFrame reads one frame; block data larger than maxData is refused
// before it is read.
func readFrame(r *bufio.Reader, maxData int) (frame, error) {
	t, err := r.ReadByte()
	if err != nil {
		return frame{}, noEOF(err)
	}
	switch t {
	case frameEnd:
		return frame{Type: frameEnd}, nil
	case frameBlock, frameMissing:
	default:
		return frame{}, protoErr("unknown frame type %d", t)
	}
	c, err := readCID(r)
	if err != nil {
		return frame{}, err
	}
	if t == frameMissing {
		return frame{Type: frameMissing, CID: c}, nil
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return frame{}, protoErr("block %s length: %v", c, noEOF(err))
	}
	if n > uint64(maxData) {
		return frame{}, protoErr("block %s: %d bytes exceeds the %d byte limit", c, n, maxData)
	}
	var data []byte
	pooled := n == bufpool.Size // a full leaf
	if pooled {
		data = bufpool.Get()
	} else {
		data = make([]byte, n)
	}
	if _, err := io.ReadFull(r, data); err != nil {
		if pooled {
			bufpool.Put(data)
		}
		return frame{}, fmt.Errorf("block %s: %w", c, noEOF(err))
	}
	return frame{Type: frameBlock, CID: c, Data: data, Pooled: pooled}, nil
}

func readCID(r *bufio.Reader) (cid.Cid, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return cid.Undef, protoErr("CID length: %v", noEOF(err))
	}
	if n == 0 || n > maxCIDLen {
		return cid.Undef, protoErr("CID length %d", n)
	}
	var buf [maxCIDLen]byte
	if _, err := io.ReadFull(r, buf[:n]); err != nil {
		return cid.Undef, noEOF(err)
	}
	c, err := cid.Cast(buf[:n])
	if err != nil {
		return cid.Undef, protoErr("bad CID: %v", err)
	}
	return c, nil
}

// writeBlock writes a block frame.
func writeBlock(w *bufio.Writer, c cid.Cid, data []byte) error {
	var hdr [1 + 2*binary.MaxVarintLen64 + maxCIDLen]byte
	b := append(hdr[:0], frameBlock)
	b = appendCID(b, c)
	b = binary.AppendUvarint(b, uint64(len(data)))
	if _, err := w.Write(b); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

// writeMissing writes a missing frame.
func writeMissing(w *bufio.Writer, c cid.Cid) error {
	var hdr [1 + binary.MaxVarintLen64 + maxCIDLen]byte
	b := append(hdr[:0], frameMissing)
	_, err := w.Write(appendCID(b, c))
	return err
}

// maxFrameData is the largest block a requester accepts.
const maxFrameData = content.MaxBlockSize
