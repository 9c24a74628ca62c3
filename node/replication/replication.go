// Package replication implements the wire side of /myconet/replicate/1.0.0:
// one node asks another whether it holds a package, or asks it to take a
// replica. What to answer is the caller's [Config.Decide]. The
// [Replicator] (repair.go) uses it: placement, quotas and the repair loop.
//
// It may import node/apitype, node/config, store and libp2p (host, DHT);
// never node nor another service package: the fetch, the policy and the
// quotas come in as the functions of [ReplicatorConfig].
//
// # Wire format
//
// One stream carries one exchange. The asker writes a request and closes its
// side; the answerer writes one status byte and closes the stream. Integers
// are unsigned varints (encoding/binary).
//
//	request = uvarint(len(body)) body            (len(body) ≤ 160)
//	body    = version(1 byte, =1) op(1 byte) uvarint(len(cid)) cid uvarint(size)
//	op      : 1 query ("do you hold it?"), 2 replicate ("please take a replica")
//	size    : bytes of the DAG as the asker knows it (0: unknown); a hint
//	          for the answerer's quota, checked again after the fetch
//
//	response = status(1 byte), see [Status]
//
// A request that does not decode (unknown version or op, a CID that does not
// parse or is longer than 128 bytes, trailing bytes, oversized) resets the
// stream. Reading the request and writing the answer each have a deadline.
package replication

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// ProtocolID is the stream protocol of replication.
const ProtocolID protocol.ID = "/myconet/replicate/1.0.0"

// Wire limits and timeouts.
const (
	wireVersion = 1
	maxBodySize = 160
	maxCIDLen   = 128
	// IOTimeout bounds reading a request or an answer, and writing either.
	IOTimeout = 10 * time.Second
)

// Op is what a request asks.
type Op byte

// Ops.
const (
	OpQuery     Op = 1 // do you hold the package?
	OpReplicate Op = 2 // please take a replica of it
)

// Status is the one-byte answer.
type Status byte

// Statuses.
const (
	Holding       Status = 0 // the answerer holds the whole package (pinned local or replica)
	Fetching      Status = 1 // the answerer is fetching it (accepted a replica, not done yet)
	NotHolding    Status = 2 // answer to a query: the answerer does not hold it
	RefusedQuota  Status = 3 // no replica space to spare
	RefusedPolicy Status = 4 // the answerer's policy does not allow the content
	Busy          Status = 5 // too much replication work queued; ask later
	BadRequest    Status = 6 // the request decoded but makes no sense to the answerer
	maxStatus            = BadRequest
)

func (s Status) String() string {
	switch s {
	case Holding:
		return "holding"
	case Fetching:
		return "fetching"
	case NotHolding:
		return "not-holding"
	case RefusedQuota:
		return "refused-quota"
	case RefusedPolicy:
		return "refused-policy"
	case Busy:
		return "busy"
	case BadRequest:
		return "bad-request"
	}
	return fmt.Sprintf("status(%d)", byte(s))
}

// Holds reports whether the status counts the answerer as a holder (now or
// soon).
func (s Status) Holds() bool { return s == Holding || s == Fetching }

// Request is one request.
type Request struct {
	Op   Op
	Root cid.Cid
	Size uint64
}

// ErrMalformed is returned for bytes that are not a valid request or answer.
var ErrMalformed = errors.New("replication: malformed message")

// Encode returns the request with its length prefix.
func (r Request) Encode() ([]byte, error) {
	if r.Op != OpQuery && r.Op != OpReplicate {
		return nil, fmt.Errorf("%w: op %d", ErrMalformed, r.Op)
	}
	if !r.Root.Defined() {
		return nil, fmt.Errorf("%w: undefined root", ErrMalformed)
	}
	k := r.Root.KeyString()
	if len(k) > maxCIDLen {
		return nil, fmt.Errorf("%w: cid of %d bytes", ErrMalformed, len(k))
	}
	body := make([]byte, 0, 16+len(k))
	body = append(body, wireVersion, byte(r.Op))
	body = binary.AppendUvarint(body, uint64(len(k)))
	body = append(body, k...)
	body = binary.AppendUvarint(body, r.Size)
	out := binary.AppendUvarint(make([]byte, 0, len(body)+2), uint64(len(body)))
	return append(out, body...), nil
}

// ReadRequest reads one length-prefixed request, reading no more than the
// limits allow.
func ReadRequest(r io.ByteReader) (Request, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return Request{}, fmt.Errorf("%w: length: %v", ErrMalformed, err)
	}
	if n == 0 || n > maxBodySize {
		return Request{}, fmt.Errorf("%w: body of %d bytes", ErrMalformed, n)
	}
	body := make([]byte, n)
	for i := range body {
		if body[i], err = r.ReadByte(); err != nil {
			return Request{}, fmt.Errorf("%w: body: %v", ErrMalformed, err)
		}
	}
	return DecodeBody(body)
}

// DecodeBody decodes a request body (without its length prefix).
func DecodeBody(b []byte) (Request, error) {
	if len(b) < 2 || b[0] != wireVersion {
		return Request{}, fmt.Errorf("%w: version", ErrMalformed)
	}
	req := Request{Op: Op(b[1])}
	if req.Op != OpQuery && req.Op != OpReplicate {
		return Request{}, fmt.Errorf("%w: op %d", ErrMalformed, b[1])
	}
	b = b[2:]
	l, k := binary.Uvarint(b)
	if k <= 0 || l == 0 || l > maxCIDLen || uint64(len(b)-k) < l {
		return Request{}, fmt.Errorf("%w: cid length", ErrMalformed)
	}
	b = b[k:]
	c, err := cid.Cast(b[:l])
	if err != nil {
		return Request{}, fmt.Errorf("%w: cid: %v", ErrMalformed, err)
	}
	req.Root = c
	b = b[l:]
	size, k := binary.Uvarint(b)
	if k <= 0 || k != len(b) {
		return Request{}, fmt.Errorf("%w: size or trailing bytes", ErrMalformed)
	}
	req.Size = size
	return req, nil
}

// Config configures a Service.
type Config struct {
	// Host carries the protocol. Required.
	Host host.Host
	// Decide answers a decoded request; it must return promptly (start long
	// work elsewhere). Required.
	Decide func(ctx context.Context, from peer.ID, req Request) Status
	// Logger; nil discards.
	Logger *slog.Logger
}

// Stats counts protocol traffic. Bytes are message bytes (requests and
// answers), not the replicated content.
type Stats struct {
	Sent, Received           int64 // requests sent and received
	BytesSent, BytesReceived int64
	Garbage                  int64 // received requests reset as malformed
}

// Service answers replication requests and sends them.
type Service struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup

	sent, received, bytesSent, bytesReceived, garbage atomic.Int64
}

// New registers the protocol handler on cfg.Host.
func New(cfg Config) (*Service, error) {
	if cfg.Host == nil || cfg.Decide == nil {
		return nil, errors.New("replication: Host and Decide are required")
	}
	s := &Service{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	cfg.Host.SetStreamHandler(ProtocolID, s.handle)
	return s, nil
}

// Close removes the handler, aborts the requests being served and waits for
// them. It is idempotent. Ask fails after Close.
func (s *Service) Close() {
	s.mu.Lock()
	first := !s.closed
	s.closed = true
	s.mu.Unlock()
	if first {
		s.cfg.Host.RemoveStreamHandler(ProtocolID)
		s.cancel()
	}
	s.wg.Wait()
}

func (s *Service) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// Stats returns the traffic counters.
func (s *Service) Stats() Stats {
	return Stats{
		Sent: s.sent.Load(), Received: s.received.Load(),
		BytesSent: s.bytesSent.Load(), BytesReceived: s.bytesReceived.Load(),
		Garbage: s.garbage.Load(),
	}
}

// countingReader counts bytes read through a bufio.Reader.
type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

func (s *Service) handle(st network.Stream) {
	if !s.begin() {
		st.Reset()
		return
	}
	defer s.wg.Done()
	st.SetDeadline(time.Now().Add(IOTimeout))
	cr := &countingReader{r: bufio.NewReaderSize(io.LimitReader(st, maxBodySize+4), 64)}
	req, err := ReadRequest(cr)
	s.bytesReceived.Add(cr.n)
	if err != nil {
		s.garbage.Add(1)
		s.log.Debug("bad replication request", "peer", st.Conn().RemotePeer(), "err", err)
		st.Reset()
		return
	}
	s.received.Add(1)
	ctx, cancel := context.WithTimeout(s.ctx, IOTimeout)
	status := s.cfg.Decide(ctx, st.Conn().RemotePeer(), req)
	cancel()
	if _, err := st.Write([]byte{byte(status)}); err != nil {
		st.Reset()
		return
	}
	s.bytesSent.Add(1)
	st.Close()
}

// Ask sends req to p and returns its answer. ctx should carry a deadline;
// each I/O step is also bounded by IOTimeout.
func (s *Service) Ask(ctx context.Context, p peer.ID, req Request) (Status, error) {
	msg, err := req.Encode()
	if err != nil {
		return 0, err
	}
	if !s.begin() {
		return 0, errors.New("replication: closed")
	}
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(ctx, 2*IOTimeout)
	defer cancel()
	st, err := s.cfg.Host.NewStream(ctx, p, ProtocolID)
	if err != nil {
		return 0, fmt.Errorf("replication: open stream to %s: %w", p, err)
	}
	stop := context.AfterFunc(ctx, func() { st.Reset() })
	defer stop()
	st.SetDeadline(time.Now().Add(IOTimeout))
	s.sent.Add(1)
	if _, err := st.Write(msg); err != nil {
		st.Reset()
		return 0, fmt.Errorf("replication: send to %s: %w", p, err)
	}
	s.bytesSent.Add(int64(len(msg)))
	st.CloseWrite()
	var b [2]byte
	n, err := io.ReadFull(st, b[:1])
	if err != nil {
		st.Reset()
		return 0, fmt.Errorf("replication: answer from %s: %w", p, err)
	}
	s.bytesReceived.Add(int64(n))
	if m, _ := st.Read(b[1:]); m != 0 || Status(b[0]) > maxStatus {
		st.Reset()
		return 0, fmt.Errorf("%w: answer from %s", ErrMalformed, p)
	}
	st.Close()
	return Status(b[0]), nil
}
