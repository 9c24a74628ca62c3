package moderate

// The moderation protocol, /myconet/moderation/1.0.0.
//
// One stream carries one exchange: the asker writes a request and closes
// its side; the aggregator answers and closes the stream. Integers are big
// endian; records are the canonical encodings of package moderation.
//
//	request  = u16 len(body) body                     (len(body) ≤ 4,200; op 6: ≤ 65,535)
//	body     = version(1 byte, =1) op(1 byte) u16 len(target) target [record]
//	target   : the package CID, binary (CIDv1 dag-cbor sha2-256, 36 bytes)
//	op 1 vote        record = a vote encoding
//	op 2 annotate    record = an annotation encoding
//	op 3 tally       no record: "sign me a tally of your poll"
//	op 4 votes       no record: "your tally and the votes behind it"
//	op 5 annotations no record: "the annotations you hold"
//	op 6 retract     record = a retraction bundle (retract.go)
//	op 7 retraction  no record: "the retraction you hold, if any"
//
//	response = status(1 byte) u32 len(payload) payload
//	status 0 ok, 1 rejected (payload: the reason, UTF-8), 2 busy
//	ok payload, by op:
//	  vote, annotate : the outcome, UTF-8 ("added", "replaced", "duplicate", …)
//	  tally          : a tally encoding (183 bytes)
//	  votes          : a tally encoding, u32 count, count × (u16 len, vote encoding)
//	  annotations    : u32 count, count × (u16 len, annotation encoding)
//	  retract        : the outcome, UTF-8
//	  retraction     : a retraction bundle, or nothing when none is known
//
// A payload is at most maxModPayload bytes (a full poll of 10,000 of the
// longest votes). A request that does not decode resets the stream and
// counts as malformed. Each read and write has a deadline.

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

	"github.com/myconet/myconet/moderation"
	"github.com/myconet/myconet/node/httpx"
)

// Protocol is the stream protocol of votes, annotations and
// tallies.
const Protocol protocol.ID = "/myconet/moderation/1.0.0"

// Protocol constants.
const (
	modWireVersion = 1
	maxModCID      = 64
	maxModBody     = 4 + maxModCID + moderation.MaxAnnotationSize
	maxModRetract  = 0xffff // body of op retract: the bundle carries a package root
	maxModVotes    = moderation.DefaultMaxVotes
	maxModAnns     = 1024
	maxModPayload  = moderation.TallySize + 4 + maxModVotes*(2+moderation.MaxVoteSize)
	modIOTimeout   = 10 * time.Second
)

type modOp byte

const (
	modOpVote        modOp = 1
	modOpAnnotate    modOp = 2
	modOpTally       modOp = 3
	modOpVotes       modOp = 4
	modOpAnnotations modOp = 5
	modOpRetract     modOp = 6
	modOpRetraction  modOp = 7
)

// maxBody is the largest request body of op.
func (op modOp) maxBody() int {
	if op == modOpRetract {
		return maxModRetract
	}
	return maxModBody
}

// hasRecord reports whether requests of op carry a record.
func (op modOp) hasRecord() bool {
	return op == modOpVote || op == modOpAnnotate || op == modOpRetract
}

// Response statuses.
const (
	modOK       byte = 0
	modRejected byte = 1
	modBusy     byte = 2
)

// errModMalformed marks bytes that are not a valid message.
var errModMalformed = errors.New("moderation protocol: malformed message")

// modRequest is one decoded request.
type modRequest struct {
	Op     modOp
	Target cid.Cid
	Record []byte // the vote or annotation encoding (ops 1, 2)
}

func (r modRequest) encode() ([]byte, error) {
	t := r.Target.Bytes()
	if !r.Target.Defined() || len(t) > maxModCID {
		return nil, fmt.Errorf("%w: target", errModMalformed)
	}
	withRecord := r.Op.hasRecord()
	if r.Op < modOpVote || r.Op > modOpRetraction || withRecord != (len(r.Record) > 0) {
		return nil, fmt.Errorf("%w: op %d with %d record bytes", errModMalformed, r.Op, len(r.Record))
	}
	body := make([]byte, 0, 6+len(t)+len(r.Record))
	body = append(body, 0, 0, modWireVersion, byte(r.Op))
	body = binary.BigEndian.AppendUint16(body, uint16(len(t)))
	body = append(body, t...)
	body = append(body, r.Record...)
	if len(body)-2 > r.Op.maxBody() {
		return nil, fmt.Errorf("%w: body of %d bytes", errModMalformed, len(body)-2)
	}
	binary.BigEndian.PutUint16(body, uint16(len(body)-2))
	return body, nil
}

// decodeModRequest decodes a request body (without its length prefix).
func decodeModRequest(b []byte) (modRequest, error) {
	if len(b) < 4 || b[0] != modWireVersion {
		return modRequest{}, fmt.Errorf("%w: version", errModMalformed)
	}
	req := modRequest{Op: modOp(b[1])}
	if req.Op < modOpVote || req.Op > modOpRetraction {
		return modRequest{}, fmt.Errorf("%w: op %d", errModMalformed, b[1])
	}
	if len(b) > req.Op.maxBody() {
		return modRequest{}, fmt.Errorf("%w: body of %d bytes", errModMalformed, len(b))
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	b = b[4:]
	if n == 0 || n > maxModCID || n > len(b) {
		return modRequest{}, fmt.Errorf("%w: target length %d", errModMalformed, n)
	}
	c, err := cid.Cast(b[:n])
	if err != nil || !c.Defined() {
		return modRequest{}, fmt.Errorf("%w: target: %v", errModMalformed, err)
	}
	req.Target = c
	rest := b[n:]
	withRecord := req.Op.hasRecord()
	if withRecord != (len(rest) > 0) {
		return modRequest{}, fmt.Errorf("%w: %d record bytes for op %d", errModMalformed, len(rest), req.Op)
	}
	if withRecord {
		req.Record = rest
	}
	return req, nil
}

// appendRecords appends u32 count and each record behind a u16 length.
func appendRecords(dst []byte, recs [][]byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(recs)))
	for _, r := range recs {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(r)))
		dst = append(dst, r...)
	}
	return dst
}

// decodeRecords splits a count-prefixed list of records, each at most
// maxLen bytes, at most maxCount of them, with nothing after the last.
func decodeRecords(b []byte, maxCount, maxLen int) ([][]byte, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: record count", errModMalformed)
	}
	n := binary.BigEndian.Uint32(b)
	if n > uint32(maxCount) {
		return nil, fmt.Errorf("%w: %d records (max %d)", errModMalformed, n, maxCount)
	}
	b = b[4:]
	out := make([][]byte, 0, min(int(n), len(b)/2+1))
	for i := uint32(0); i < n; i++ {
		if len(b) < 2 {
			return nil, fmt.Errorf("%w: record %d: length", errModMalformed, i)
		}
		l := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		if l == 0 || l > maxLen || l > len(b) {
			return nil, fmt.Errorf("%w: record %d: %d bytes", errModMalformed, i, l)
		}
		out = append(out, b[:l:l])
		b = b[l:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errModMalformed, len(b))
	}
	return out, nil
}

// decodeVotesPayload splits the answer to op votes: a tally and the
// encodings of its votes.
func decodeVotesPayload(b []byte) (moderation.Tally, []moderation.Vote, error) {
	if len(b) < moderation.TallySize {
		return moderation.Tally{}, nil, fmt.Errorf("%w: short votes answer", errModMalformed)
	}
	t, err := moderation.DecodeTally(b[:moderation.TallySize])
	if err != nil {
		return moderation.Tally{}, nil, err
	}
	recs, err := decodeRecords(b[moderation.TallySize:], maxModVotes, moderation.MaxVoteSize)
	if err != nil {
		return moderation.Tally{}, nil, err
	}
	votes := make([]moderation.Vote, len(recs))
	for i, r := range recs {
		if votes[i], err = moderation.DecodeVote(r); err != nil {
			return moderation.Tally{}, nil, fmt.Errorf("vote %d: %w", i, err)
		}
	}
	return t, votes, nil
}

// decodeAnnotationsPayload decodes the answer to op annotations.
func decodeAnnotationsPayload(b []byte) ([]moderation.Annotation, error) {
	recs, err := decodeRecords(b, maxModAnns, moderation.MaxAnnotationSize)
	if err != nil {
		return nil, err
	}
	out := make([]moderation.Annotation, len(recs))
	for i, r := range recs {
		if out[i], err = moderation.DecodeAnnotation(r); err != nil {
			return nil, fmt.Errorf("annotation %d: %w", i, err)
		}
	}
	return out, nil
}

// modHandler answers one decoded request with a status and a payload.
type modHandler func(ctx context.Context, from peer.ID, req modRequest) (byte, []byte)

// modService carries the moderation protocol on a host.
type modService struct {
	host   host.Host
	handle modHandler
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup

	sent, received, malformed atomic.Int64
}

func newModService(h host.Host, handle modHandler, log *slog.Logger) *modService {
	s := &modService{host: h, handle: handle, log: log}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	h.SetStreamHandler(Protocol, s.serve)
	return s
}

func (s *modService) close() {
	s.mu.Lock()
	first := !s.closed
	s.closed = true
	s.mu.Unlock()
	if first {
		s.host.RemoveStreamHandler(Protocol)
		s.cancel()
	}
	s.wg.Wait()
}

func (s *modService) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

func (s *modService) serve(st network.Stream) {
	if !s.begin() {
		st.Reset()
		return
	}
	defer s.wg.Done()
	from := st.Conn().RemotePeer()
	st.SetDeadline(time.Now().Add(modIOTimeout))
	r := bufio.NewReaderSize(io.LimitReader(st, maxModRetract+2), 512)
	var lb [4]byte // length, then version and op: the op bounds the length
	if _, err := io.ReadFull(r, lb[:]); err != nil {
		s.malformed.Add(1)
		st.Reset()
		return
	}
	n := int(binary.BigEndian.Uint16(lb[:]))
	if lim := modOp(lb[3]).maxBody(); n > lim || n < 2 {
		s.malformed.Add(1)
		s.log.Info("moderation: request rejected", "peer", from, "reason", "oversized", "bytes", n)
		st.Reset()
		return
	}
	body := make([]byte, n)
	copy(body, lb[2:])
	if _, err := io.ReadFull(r, body[2:]); err != nil {
		s.malformed.Add(1)
		st.Reset()
		return
	}
	req, err := decodeModRequest(body)
	if err != nil {
		s.malformed.Add(1)
		s.log.Info("moderation: request rejected", "peer", from, "reason", err)
		st.Reset()
		return
	}
	s.received.Add(1)
	ctx, cancel := context.WithTimeout(s.ctx, modIOTimeout)
	status, payload := s.handle(ctx, from, req)
	cancel()
	out := make([]byte, 0, 5+len(payload))
	out = append(out, status)
	out = binary.BigEndian.AppendUint32(out, uint32(len(payload)))
	out = append(out, payload...)
	st.SetDeadline(time.Now().Add(modIOTimeout))
	if _, err := st.Write(out); err != nil {
		st.Reset()
		return
	}
	st.Close()
}

// modAnswerError is an aggregator's refusal.
type modAnswerError struct {
	status byte
	reason string
}

func (e *modAnswerError) Error() string {
	if e.status == modBusy {
		return "aggregator busy"
	}
	return "rejected: " + e.reason
}

// ask sends req to p and returns the ok payload; a rejection is a
// *modAnswerError.
func (s *modService) ask(ctx context.Context, p peer.ID, req modRequest) ([]byte, error) {
	msg, err := req.encode()
	if err != nil {
		return nil, err
	}
	if !s.begin() {
		return nil, errors.New("moderation protocol: closed")
	}
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(ctx, 3*modIOTimeout)
	defer cancel()
	st, err := s.host.NewStream(ctx, p, Protocol)
	if err != nil {
		return nil, fmt.Errorf("open stream to %s: %w", p, err)
	}
	stop := context.AfterFunc(ctx, func() { st.Reset() })
	defer stop()
	st.SetDeadline(time.Now().Add(modIOTimeout))
	s.sent.Add(1)
	if _, err := st.Write(msg); err != nil {
		st.Reset()
		return nil, fmt.Errorf("send to %s: %w", p, err)
	}
	st.CloseWrite()
	st.SetDeadline(time.Now().Add(2 * modIOTimeout))
	r := bufio.NewReader(io.LimitReader(st, maxModPayload+6))
	var hd [5]byte
	if _, err := io.ReadFull(r, hd[:]); err != nil {
		st.Reset()
		return nil, fmt.Errorf("answer from %s: %w", p, err)
	}
	n := binary.BigEndian.Uint32(hd[1:])
	if hd[0] > modBusy || n > maxModPayload {
		st.Reset()
		return nil, fmt.Errorf("%w: answer from %s: status %d, %d bytes", errModMalformed, p, hd[0], n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		st.Reset()
		return nil, fmt.Errorf("answer from %s: %w", p, err)
	}
	if m, _ := r.Read(hd[:1]); m != 0 {
		st.Reset()
		return nil, fmt.Errorf("%w: trailing bytes from %s", errModMalformed, p)
	}
	st.Close()
	if hd[0] != modOK {
		return nil, &modAnswerError{status: hd[0], reason: httpx.OneLine(string(payload))}
	}
	return payload, nil
}
