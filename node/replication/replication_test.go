package replication

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	mh "github.com/multiformats/go-multihash"
)

func testCID(t testing.TB, s string) cid.Cid {
	h, err := mh.Sum([]byte(s), mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.DagCBOR, h)
}

func TestRequestRoundTrip(t *testing.T) {
	for _, req := range []Request{
		{Op: OpQuery, Root: testCID(t, "a")},
		{Op: OpReplicate, Root: testCID(t, "b"), Size: 1 << 40},
	} {
		b, err := req.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadRequest(bufio.NewReader(bytes.NewReader(b)))
		if err != nil || got != req {
			t.Fatalf("round trip: %+v %v, want %+v", got, err, req)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := Request{Op: OpQuery, Root: testCID(t, "a"), Size: 5}.Encode()
	body := good[1:]
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"version", append([]byte{2}, body[1:]...)},
		{"op", append([]byte{1, 9}, body[2:]...)},
		{"trailing", append(append([]byte{}, body...), 0)},
		{"truncated", body[:len(body)-2]},
		{"zero cid length", []byte{1, 1, 0, 0}},
		{"cid garbage", []byte{1, 1, 3, 0xff, 0xff, 0xff, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeBody(tt.in); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	if _, err := ReadRequest(bytes.NewReader([]byte{0xff, 0x01})); !errors.Is(err, ErrMalformed) {
		t.Fatalf("oversized length: %v", err)
	}
	if _, err := (Request{Op: 7, Root: testCID(t, "x")}).Encode(); err == nil {
		t.Fatal("encoded a bad op")
	}
}

func FuzzDecodeBody(f *testing.F) {
	for _, r := range []Request{{Op: OpQuery, Root: testCID(f, "a")}, {Op: OpReplicate, Root: testCID(f, "b"), Size: 123456}} {
		b, _ := r.Encode()
		f.Add(b[1:])
	}
	f.Add([]byte{1, 2, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeBody(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		// Whatever decodes re-encodes to a request that decodes the same.
		enc, err := req.Encode()
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", req, err)
		}
		again, err := ReadRequest(bytes.NewReader(enc))
		if err != nil || again != req {
			t.Fatalf("re-decode: %+v %v, want %+v", again, err, req)
		}
	})
}

func TestServiceOverMocknet(t *testing.T) {
	mn := mocknet.New()
	defer mn.Close()
	a, err := mn.GenPeer()
	if err != nil {
		t.Fatal(err)
	}
	b, err := mn.GenPeer()
	if err != nil {
		t.Fatal(err)
	}
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	root := testCID(t, "pkg")
	var gotFrom peer.ID
	sb, err := New(Config{Host: b, Decide: func(ctx context.Context, from peer.ID, req Request) Status {
		gotFrom = from
		if req.Op == OpReplicate && req.Size > 100 {
			return RefusedQuota
		}
		return NotHolding
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	sa, err := New(Config{Host: a, Decide: func(context.Context, peer.ID, Request) Status { return BadRequest }})
	if err != nil {
		t.Fatal(err)
	}
	defer sa.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if st, err := sa.Ask(ctx, b.ID(), Request{Op: OpQuery, Root: root}); err != nil || st != NotHolding {
		t.Fatalf("query: %v %v", st, err)
	}
	if gotFrom != a.ID() {
		t.Fatalf("from %s", gotFrom)
	}
	if st, err := sa.Ask(ctx, b.ID(), Request{Op: OpReplicate, Root: root, Size: 1000}); err != nil || st != RefusedQuota {
		t.Fatalf("replicate: %v %v", st, err)
	}

	// Garbage resets the stream; the service keeps answering.
	s, err := a.NewStream(ctx, b.ID(), ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	s.Write([]byte{5, 9, 9, 9, 9, 9})
	s.CloseWrite()
	var buf [1]byte
	if n, err := s.Read(buf[:]); n != 0 || err == nil {
		t.Fatalf("garbage got an answer: %d %v", n, err)
	}
	if st, err := sa.Ask(ctx, b.ID(), Request{Op: OpQuery, Root: root}); err != nil || st != NotHolding {
		t.Fatalf("query after garbage: %v %v", st, err)
	}
	if g := sb.Stats().Garbage; g != 1 {
		t.Fatalf("garbage count %d", g)
	}
	sb.Close()
	if _, err := sa.Ask(ctx, b.ID(), Request{Op: OpQuery, Root: root}); err == nil {
		t.Fatal("answered after Close")
	}
}
