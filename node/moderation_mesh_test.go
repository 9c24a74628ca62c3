package node_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/moderation"
	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/nodetest"
	"github.com/myconet/myconet/node/retrieval"
)

// modTestConfig is the policy of the moderation mesh tests: little proof
// of work, three votes decide, decisions refreshed quickly.
func modTestConfig(i int, fc *config.FileConfig) {
	noReplicas(i, fc)
	fc.Moderation.PowBits = 8
	fc.Moderation.MinVotes = 3
	fc.Moderation.MinTallies = 3
	fc.Moderation.Refresh = "300ms"
}

// vote casts a vote, retrying while the routing tables fill.
func vote(t *testing.T, net *nodetest.Net, i int, c cid.Cid, choice string) {
	t.Helper()
	var last error
	net.Eventually(2*time.Minute, "vote delivered", func() bool {
		d, err := net.Nodes[i].Vote(context.Background(), apitype.VoteRequest{Ref: c.String(), Choice: choice, Reason: "test"})
		last = err
		return err == nil && d.Accepted >= 4
	})
	if last != nil {
		t.Fatal(last)
	}
}

func catErr(n *node.Node, c cid.Cid) error {
	return n.Cat(context.Background(), c.String(), io.Discard)
}

func TestModerationMesh(t *testing.T) {
	leakcheck.Check(t)
	size := 20
	if testing.Short() {
		size = 14 // -race -short: fewer nodes, same roles
	}
	net := nodetest.New(t, size, nodetest.Options{Override: modTestConfig})
	net.ConnectRandom(4)
	ctx := context.Background()
	removed, _ := meshAdd(t, net.Nodes[0], apitype.AddRequest{Title: "moderated package to remove"})
	kept, _ := meshAdd(t, net.Nodes[0], apitype.AddRequest{Title: "moderated package to keep"})
	liedAbout, _ := meshAdd(t, net.Nodes[1], apitype.AddRequest{Title: "moderated package with a liar"})

	removedInfo, err := net.Nodes[0].Info(ctx, removed.String())
	if err != nil {
		t.Fatal(err)
	}
	removedContent := cid.MustParse(removedInfo.Content)
	// Everyone can read it before the votes.
	if err := catErr(net.Nodes[size-1], removed); err != nil {
		t.Fatalf("before the votes: %v", err)
	}

	// Three remove votes with min_votes 3: every node withholds it.
	for _, i := range []int{2, 3, 4} {
		vote(t, net, i, removed, "remove")
	}
	net.Eventually(2*time.Minute, "every node withholds the package", func() bool {
		for _, n := range net.Nodes {
			if !n.WithheldForTest(removed) {
				return false
			}
		}
		return true
	})
	r, err := net.Nodes[size-5].Tally(ctx, removed.String(), true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Decision != "remove" || r.Remove != 3 || r.Keep != 0 || !r.Withheld {
		t.Fatalf("tally: %+v", r)
	}
	for _, ti := range r.Tallies {
		if ti.Used && ti.Recount != "ok" {
			t.Errorf("tally by %s used without a recount: %+v", ti.Signer, ti)
		}
	}
	// Fetch and read: a coded error saying why, everywhere.
	for _, i := range []int{0, 5, size - 1} {
		err := catErr(net.Nodes[i], removed)
		if !errors.Is(err, apitype.ErrWithheld) || !strings.Contains(err.Error(), "withheld by moderation") {
			t.Errorf("node %d cat: %v", i, err)
		}
	}
	// The gateway: 451 with the reason.
	rec := httptest.NewRecorder()
	net.Nodes[6].GatewayHandler().ServeHTTP(rec, httptest.NewRequest("GET", gatewayURL(removed.String()), nil))
	if rec.Code != 451 || !strings.Contains(rec.Body.String(), "withheld by moderation: remove: 3 of 3") {
		t.Errorf("gateway: %d %s", rec.Code, rec.Body.String())
	}
	// Under its content CID too, on its holder and from it (the block index).
	if _, err := net.Nodes[0].Stat(ctx, "myco://"+removedContent.String()); !errors.Is(err, apitype.ErrWithheld) {
		t.Errorf("holder, content CID: %v", err)
	}
	rec = httptest.NewRecorder()
	net.Nodes[0].GatewayHandler().ServeHTTP(rec, httptest.NewRequest("GET", gatewayURL(removedContent.String()), nil))
	if rec.Code != 451 {
		t.Errorf("holder's gateway, content CID: %d %.80q", rec.Code, rec.Body.String())
	}
	if err := net.Nodes[size-1].FetchFromForTest(ctx, net.AddrInfo(0).ID, removedContent); !errors.Is(err, retrieval.ErrWithheld) {
		t.Errorf("retrieval of the content CID from the holder: %v", err)
	}
	// Replication refuses it.
	for _, i := range []int{0, 7} {
		if net.Nodes[i].ReplicaAllowedForTest(removed) {
			t.Errorf("node %d would take a replica of a withheld package", i)
		}
	}
	// The owner can still read why.
	why, err := net.Nodes[0].ModerationWhy(ctx, removed.String())
	if err != nil || !why.Withheld || !strings.Contains(why.Reason, "3 of 3 counted votes are remove") {
		t.Errorf("why: %+v, %v", why, err)
	}

	// Keep majority: served.
	for _, i := range []int{2, 3, 4} {
		vote(t, net, i, kept, "keep")
	}
	vote(t, net, 5, kept, "remove")
	net.Eventually(2*time.Minute, "keep decided", func() bool {
		r, err := net.Nodes[size-3].Tally(ctx, kept.String(), false)
		return err == nil && r.Decision == "keep" && r.Keep == 3 && r.Remove == 1
	})
	if err := catErr(net.Nodes[size-3], kept); err != nil {
		t.Errorf("kept package: %v", err)
	}

	// Forged and replayed votes change nothing.
	aggs, err := net.Nodes[9].AggregatorsForTest(ctx, kept)
	if err != nil || len(aggs) < 3 {
		t.Fatalf("aggregators: %v %v", aggs, err)
	}
	_, priv, _ := ed25519.GenerateKey(nil)
	now := time.Now()
	mk := func(target cid.Cid, at time.Time, bits int) moderation.Vote {
		v, err := moderation.NewVote(priv, target, moderation.ChoiceRemove, "", at, bits)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	enc := func(v moderation.Vote) []byte {
		b, err := v.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	forged := mk(kept, now, 8)
	forged.Sig[0] ^= 1
	lowWork := mk(kept, now, 0)
	for at := now; lowWork.Work() >= 8; at = at.Add(time.Nanosecond) {
		lowWork = mk(kept, at, 0)
	}
	bad := []struct {
		name   string
		target cid.Cid
		rec    []byte
		reason string
	}{
		{"bad signature", kept, enc(forged), "bad_signature"},
		{"low work", kept, enc(lowWork), "low_pow"},
		{"other package", kept, enc(mk(removed, now, 8)), "wrong_package"},
		{"future", kept, enc(mk(kept, now.Add(time.Hour), 8)), "future"},
		{"oversized", kept, make([]byte, moderation.MaxVoteSize+1), "oversized"},
		{"garbage", kept, []byte{1, 2, 3}, "malformed"},
	}
	target := aggs[0] // an aggregator other than the sender
	if target == net.AddrInfo(9).ID {
		target = aggs[1]
	}
	agg := nodeByID(t, net, target)
	for _, b := range bad {
		before := agg.ModerationStats().Rejected["vote/"+b.reason]
		_, err := net.Nodes[9].SendRecordForTest(ctx, target, b.target, false, b.rec)
		if err == nil || !strings.Contains(err.Error(), b.reason) {
			t.Errorf("%s: answer %v, want a rejection for %s", b.name, err, b.reason)
		}
		if after := agg.ModerationStats().Rejected["vote/"+b.reason]; after != before+1 {
			t.Errorf("%s: rejected/%s counted %d → %d", b.name, b.reason, before, after)
		}
	}
	// A replay of a counted vote: fetch the votes behind a tally, send one again.
	r, err = net.Nodes[9].Tally(ctx, kept.String(), true)
	if err != nil || r.Keep != 3 || r.Remove != 1 {
		t.Fatalf("tally before replay: %+v %v", r, err)
	}
	replayed := enc(mk(kept, now, 8))
	if _, err := net.Nodes[9].SendRecordForTest(ctx, target, kept, false, replayed); err != nil {
		t.Fatalf("first delivery of a fresh vote: %v", err)
	}
	if _, err := net.Nodes[9].SendRecordForTest(ctx, target, kept, false, replayed); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("replay: %v", err)
	}
	// That one new voter reached one aggregator, which hands the vote on
	// (aggregator sync): it counts once, wherever it is counted.
	r, err = net.Nodes[9].Tally(ctx, kept.String(), false)
	if err != nil || r.Decision != "keep" || r.Keep != 3 || r.Remove < 1 || r.Remove > 2 {
		t.Errorf("after forged and replayed votes: %+v %v", r, err)
	}
	// A vote made two days ago is still a valid vote (no age limit; one
	// counted vote per voter is what limits replays).
	_, old, _ := ed25519.GenerateKey(nil)
	ov, err := moderation.NewVote(old, kept, moderation.ChoiceKeep, "", now.Add(-48*time.Hour), 8)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := net.Nodes[9].SendRecordForTest(ctx, target, kept, false, enc(ov)); err != nil || res != "added" {
		t.Errorf("a two-day-old vote: %q %v", res, err)
	}

	// One lying aggregator out of k changes nothing.
	aggs, err = net.Nodes[9].AggregatorsForTest(ctx, liedAbout)
	if err != nil || len(aggs) < 5 {
		t.Fatalf("aggregators: %v %v", aggs, err)
	}
	liar := nodeByID(t, net, aggs[0])
	liar.SetTallyHookForTest(func(t *moderation.Tally) { t.Keep, t.Remove = 0, 1_000_000 })
	for _, i := range []int{2, 3, 4} {
		vote(t, net, i, liedAbout, "keep")
	}
	net.Eventually(2*time.Minute, "keep despite the liar", func() bool {
		r, err := net.Nodes[size-2].Tally(ctx, liedAbout.String(), false)
		return err == nil && r.Decision == "keep" && r.Keep == 3 && r.Remove == 0
	})
	r, err = net.Nodes[size-2].Tally(ctx, liedAbout.String(), true)
	if err != nil || r.Decision != "keep" {
		t.Fatalf("verified tally: %+v %v", r, err)
	}
	for _, ti := range r.Tallies {
		if ti.Signer == aggs[0].String() && ti.Used {
			t.Errorf("the liar's tally survived the recount: %+v", ti)
		}
	}
	for _, n := range net.Nodes {
		if n.WithheldForTest(liedAbout) {
			t.Errorf("a node withholds the package the liar lied about")
		}
	}

	// A local allow overrides: the publisher serves it again, and a node
	// that allows it too can fetch it from there.
	for _, i := range []int{0, 8} {
		if _, err := net.Nodes[i].ModerationSet(ctx, removed.String(), "allow"); err != nil {
			t.Fatal(err)
		}
	}
	if net.Nodes[8].WithheldForTest(removed) || !net.Nodes[9].WithheldForTest(removed) {
		t.Errorf("allow on node 8 must override there only")
	}
	if err := catErr(net.Nodes[8], removed); err != nil {
		t.Errorf("node 8 after allow: %v", err)
	}
	why, err = net.Nodes[8].ModerationWhy(ctx, removed.String())
	if err != nil || why.Withheld || why.Local != "allow" || !strings.Contains(why.Reason, "allow list") {
		t.Errorf("why after allow: %+v %v", why, err)
	}
	if err := catErr(net.Nodes[size-4], removed); !errors.Is(err, apitype.ErrWithheld) {
		t.Errorf("node n-4 still withholds: %v", err)
	}
	// Search drops it (its own results and the ones it merges): node 0
	// allows it, node n-4 does not.
	res, err := net.Nodes[size-4].Search(ctx, "moderated remove", apitype.SearchOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res {
		if s.Package == removed.String() {
			t.Errorf("search on node n-4 returns the withheld package")
		}
	}

	// A community tag finds the package on its holder, by that word alone.
	if _, err := net.Nodes[3].Annotate(ctx, apitype.AnnotateRequest{Ref: kept.String(), Tags: []string{"zebrafishy"}}); err != nil {
		t.Fatal(err)
	}
	net.Eventually(time.Minute, "the holder's search to find the package by its community tag", func() bool {
		res, err := net.Nodes[0].Search(ctx, "zebrafishy", apitype.SearchOptions{Local: true}, nil)
		return err == nil && len(res) == 1 && res[0].Package == kept.String()
	})
}

func nodeByID(t *testing.T, net *nodetest.Net, id peer.ID) *node.Node {
	t.Helper()
	for i, n := range net.Nodes {
		if net.AddrInfo(i).ID == id {
			return n
		}
	}
	t.Fatalf("no node %s", id)
	return nil
}
