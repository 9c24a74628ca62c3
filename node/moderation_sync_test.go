package node_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/nodetest"
)

// TestModerationVotesSurviveChurn: every aggregator a package's votes
// reached is replaced, in two waves; the votes still count, handed on by
// aggregator sync.
func TestModerationVotesSurviveChurn(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 10, nodetest.Options{Override: modTestConfig})
	net.ConnectRandom(4)
	ctx := context.Background()
	pkg, _ := meshAdd(t, net.Nodes[0], apitype.AddRequest{Title: "voted on, then its aggregators leave"})
	for _, i := range []int{1, 2, 3} {
		vote(t, net, i, pkg, "remove")
	}
	reader := 0 // the publisher stays
	counted := func() bool {
		r, err := net.Nodes[reader].Tally(ctx, pkg.String(), false)
		if err != nil || r.Decision != "remove" || r.Remove != 3 {
			return false
		}
		for _, ti := range r.Tallies {
			if ti.Used && ti.Remove != 3 {
				return false
			}
		}
		return true
	}
	net.Eventually(time.Minute, "every aggregator counts the 3 votes", counted)
	first, err := net.Nodes[reader].AggregatorsForTest(ctx, pkg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	replace := func(ids []peer.ID) {
		for _, id := range ids {
			for _, i := range net.Live() {
				if i != reader && net.AddrInfo(i).ID == id {
					net.Kill(i)
				}
			}
		}
		for range len(ids) {
			j := net.Add()
			live := net.Live()
			for range 3 {
				if k := live[rng.IntN(len(live))]; k != j {
					net.Connect(j, k)
				}
			}
		}
	}
	// Wave 1: half of the aggregators go, as many new nodes come.
	replace(first[:len(first)/2])
	net.Eventually(2*time.Minute, "the votes to count at the aggregators after wave 1", counted)
	// Wave 2: the rest of the first aggregators go too.
	replace(first[len(first)/2:])
	net.Eventually(2*time.Minute, "the votes to count at the aggregators after wave 2", counted)
	// Every original aggregator but the reader is gone. (Asked of the DHT,
	// a killed one may still be listed for a while: routing tables drop a
	// dead peer only once a query to it fails. That made this check flaky.)
	for _, i := range net.Live() {
		if id := net.AddrInfo(i).ID; i != reader && slices.Contains(first, id) {
			t.Errorf("an original aggregator %s is still alive", id)
		}
	}
	var pulled, pushed int64
	for _, i := range net.Live() {
		st := net.Nodes[i].ModerationStats()
		pulled, pushed = pulled+st.VotesPulled, pushed+st.VotesPushed
	}
	if pushed == 0 {
		t.Errorf("no vote was handed on (pulled %d, pushed %d)", pulled, pushed)
	}
}
