package p2p_test

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	"go.uber.org/goleak"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/p2p"
	"github.com/myconet/myconet/store"
)

// book is a PeerBook in memory.
type book struct {
	mu   sync.Mutex
	recs map[string]store.PeerRecord
}

func (b *book) Peers() ([]store.PeerRecord, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []store.PeerRecord
	for _, r := range b.recs {
		out = append(out, r)
	}
	return out, nil
}

func (b *book) PutPeers(recs []store.PeerRecord) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range recs {
		b.recs[r.ID] = r
	}
	return nil
}

func (b *book) has(id peer.ID) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.recs[id.String()]
	return ok
}

// newHost builds and starts a host on loopback with a memory peer book.
func newHost(t *testing.T) (*p2p.Host, *book) {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &book{recs: map[string]store.PeerRecord{}}
	h, err := p2p.New(p2p.Config{
		Network:   config.NetworkConfig{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DHT: "server"},
		Key:       key,
		Home:      t.TempDir(),
		UserAgent: "myconet/test",
		Peers:     b,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
		if err := h.Close(); err != nil { // closing again does nothing
			t.Error(err)
		}
	})
	h.Start(context.Background())
	return h, b
}

func addrOf(h *p2p.Host) peer.AddrInfo {
	return peer.AddrInfo{ID: h.Host().ID(), Addrs: h.Host().Addrs()}
}

// TestHostOnItsOwn: two hosts built by the package alone connect by
// multiaddr, remember each other, join by invitation, and leave no
// goroutine behind once closed.
func TestHostOnItsOwn(t *testing.T) {
	opts := []goleak.Option{goleak.IgnoreCurrent()}
	t.Run("work", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a, aBook := newHost(t)
		b, _ := newHost(t)
		c, cBook := newHost(t)
		id, err := a.Connect(ctx, a.ListenAddrs()[0])
		if apitype.CodeOf(err) != apitype.CodeInvalid {
			t.Fatalf("connect to itself: %v, %v; want refused as invalid", id, err)
		}
		if id, err = a.Connect(ctx, b.ListenAddrs()[0]); err != nil || id != b.Host().ID() {
			t.Fatalf("connect: %v, %v", id, err)
		}
		if !aBook.has(b.Host().ID()) {
			t.Fatal("a connected peer was not remembered")
		}
		if ps := a.Peers(nil); len(ps) != 1 || ps[0].ID != b.Host().ID().String() || ps[0].Relayed {
			t.Fatalf("peers of a: %+v", ps)
		}
		res, err := a.Invite(apitype.InviteRequest{Uses: 1})
		if err != nil {
			t.Fatal(err)
		}
		inv, err := p2p.ParseInvite(res.Invite, c.Host().ID(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p2p.ParseInvite(res.Invite, a.Host().ID(), time.Now()); apitype.CodeOf(err) != apitype.CodeInvalid {
			t.Fatalf("a's own invitation on a: %v", err)
		}
		jr, err := c.Join(ctx, res.Invite, inv)
		if err != nil {
			t.Fatal(err)
		}
		if jr.Learned != 1 || !cBook.has(a.Host().ID()) || !cBook.has(b.Host().ID()) {
			t.Fatalf("join: %+v; remembered a %v, b %v", jr, cBook.has(a.Host().ID()), cBook.has(b.Host().ID()))
		}
		if _, err := c.Join(ctx, res.Invite, inv); err != nil {
			t.Fatalf("the same node joining again: %v", err)
		}
		if _, err := b.Join(ctx, res.Invite, inv); apitype.CodeOf(err) != apitype.CodeInvalid {
			t.Fatalf("a used-up invitation: %v; want refused as invalid", err)
		}
	})
	if err := goleak.Find(opts...); err != nil {
		t.Fatalf("goroutines left running after close: %v", err)
	}
}

// TestNewStreamThroughRelay: a and c refuse direct connections with each
// other; a's NewStream still reaches c, through b's relay service.
func TestNewStreamThroughRelay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, _ := newHost(t)
	b, _ := newHost(t)
	c, _ := newHost(t)
	a.RelayOnly(c.Host().ID())
	c.RelayOnly(a.Host().ID())
	for _, h := range []*p2p.Host{a, c} {
		if err := h.Host().Connect(ctx, addrOf(b)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.Reserve(ctx, c.Host(), addrOf(b)); err != nil {
		t.Fatal(err)
	}
	a.Host().Peerstore().AddAddrs(c.Host().ID(), c.Host().Addrs(), time.Minute)
	const proto = "/myconet/test-echo/1"
	c.Host().SetStreamHandler(proto, func(s network.Stream) {
		defer s.Close()
		_, _ = io.Copy(s, s)
	})
	s, err := a.NewStream(ctx, c.Host().ID(), proto)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !p2p.IsRelayed(s.Conn().RemoteMultiaddr()) {
		t.Fatalf("stream went over %s, want a circuit through b", s.Conn().RemoteMultiaddr())
	}
	if _, err := s.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	_ = s.CloseWrite()
	got, err := io.ReadAll(s)
	if err != nil || string(got) != "hi" {
		t.Fatalf("echo through the relay: %q, %v", got, err)
	}
	if p2p.HasDirectConn(a.Host().Network().ConnsToPeer(c.Host().ID())) {
		t.Fatal("a direct connection between relay-only peers")
	}
}
