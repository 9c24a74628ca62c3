package moderate

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"

	"github.com/ipfs/go-cid"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
)

// fixedRouter is a Router whose closest peers are a fixed list.
type fixedRouter struct{ closest []peer.ID }

func (r fixedRouter) GetClosestPeers(context.Context, string) ([]peer.ID, error) {
	return r.closest, nil
}
func (fixedRouter) Mode() dht.ModeOpt { return dht.ModeClient }
func (fixedRouter) FindProvidersAsync(context.Context, cid.Cid, int) <-chan peer.AddrInfo {
	ch := make(chan peer.AddrInfo)
	close(ch)
	return ch
}

// TestServiceOnNetwork: a voter's service delivers a vote over the
// protocol to an aggregator's service found through the Router; offline
// the API says so; StartNetwork twice is refused; StopNetwork is
// idempotent and leaves no goroutine behind.
func TestServiceOnNetwork(t *testing.T) {
	leakcheck.Check(t)
	mn := mocknet.New()
	t.Cleanup(func() { mn.Close() })
	mc := config.DefaultConfig().Moderation
	mc.PowBits = 4
	c := testPackageCID(t, "pkg")
	var svcs []*Service
	var ids []peer.ID
	for i := range 2 {
		_, key, _ := ed25519.GenerateKey(nil)
		priv, err := crypto.UnmarshalEd25519PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		addr, _ := ma.NewMultiaddr(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", 10000+i))
		h, err := mn.AddPeer(priv, addr)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := testService(t, t.TempDir(), key, mc, nil)
		s.opt.Resolve = func(context.Context, string) (mri.MRI, error) { return mri.MRI{Root: c}, nil }
		svcs, ids = append(svcs, s), append(ids, h.ID())
	}
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	voter, agg := svcs[0], svcs[1]
	ctx := t.Context()
	if _, err := voter.Vote(ctx, apitype.VoteRequest{Ref: "x", Choice: "remove"}); !errors.Is(err, apitype.ErrNoDaemon) {
		t.Fatalf("offline vote: %v, want no daemon", err)
	}
	for i, s := range svcs {
		if err := s.StartNetwork(ctx, Network{Host: mn.Host(ids[i]), DHT: fixedRouter{closest: []peer.ID{ids[1]}}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.StopNetwork)
	}
	if err := voter.StartNetwork(ctx, Network{Host: mn.Host(ids[0]), DHT: fixedRouter{}}); err == nil {
		t.Fatal("second StartNetwork accepted")
	}
	d, err := voter.Vote(ctx, apitype.VoteRequest{Ref: "x", Choice: "remove", Reason: "spam"})
	if err != nil || d.Accepted != 1 || len(d.Aggregators) != 1 || d.Aggregators[0].Result != "added" {
		t.Fatalf("vote: %+v %v", d, err)
	}
	if st := agg.Stats(); st.VotesAccepted != 1 || st.Messages != 1 {
		t.Fatalf("aggregator stats: %+v", st)
	}
	tl, err := agg.signTally(c)
	if err != nil || tl.Remove != 1 {
		t.Fatalf("tally: %+v %v", tl, err)
	}
	for _, s := range svcs {
		s.StopNetwork()
		s.StopNetwork()
	}
	if _, err := voter.Tally(ctx, "x", false); !errors.Is(err, apitype.ErrNoDaemon) {
		t.Fatalf("tally after stop: %v, want no daemon", err)
	}
}
