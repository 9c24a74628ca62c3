package node_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/moderation"
	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/nodetest"
	"github.com/myconet/myconet/node/retrieval"
)

func pinReasons(t *testing.T, n *node.Node, c string) []string {
	t.Helper()
	pins, err := n.Pins(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pins {
		if p.Root == c {
			out = append(out, p.Reason)
		}
	}
	return out
}

// TestRetract: the publisher's retraction reaches holders and aggregators;
// holders drop replica and cache pins, refuse it (410 at the gateway) and
// leave it out of search; a local pin stays readable and says it was
// retracted; nobody else can retract, on the API or on the wire.
func TestRetract(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 6, nodetest.Options{Override: modTestConfig})
	net.ConnectRandom(3)
	ctx := context.Background()
	pub, cacher, keeper, late := net.Nodes[0], net.Nodes[1], net.Nodes[2], net.Nodes[5]
	pkg, _ := meshAdd(t, pub, apitype.AddRequest{Title: "private file added by mistake"})
	ref := pkg.String()
	net.Eventually(time.Minute, "the cacher reads it", func() bool { return catErr(cacher, pkg) == nil })
	if _, err := keeper.SiteGet(ctx, ref, nil); err != nil {
		t.Fatal(err)
	}
	// A streamed read returns before the whole fetch behind it pins the
	// package cache: wait for that pin.
	net.Eventually(time.Minute, "the cacher pins it cache", func() bool {
		return slices.Equal(pinReasons(t, cacher, ref), []string{"cache"})
	})

	// Not the publisher: refused on the API and on the wire.
	if _, err := cacher.Retract(ctx, apitype.RetractRequest{Ref: ref}); !errors.Is(err, apitype.ErrInvalid) ||
		!strings.Contains(err.Error(), "only the publisher") {
		t.Fatalf("retract by a holder: %v", err)
	}
	_, other, _ := ed25519.GenerateKey(nil)
	forged, err := moderation.NewRetraction(other, pkg, "not mine", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := forged.Encode()
	root, err := pub.Store().Get(pkg)
	if err != nil {
		t.Fatal(err)
	}
	for _, bundle := range [][]byte{node.RetractBundleForTest(rec, root), node.RetractBundleForTest(rec, nil), {0, 3, 1, 2, 3}} {
		if _, err := net.Nodes[3].SendRetractionForTest(ctx, net.AddrInfo(1).ID, pkg, bundle); err == nil {
			t.Errorf("a forged retraction was accepted (%d bytes)", len(bundle))
		}
	}
	if err := catErr(cacher, pkg); err != nil {
		t.Fatalf("after forged retractions: %v", err)
	}

	if found, err := pub.Search(ctx, "mistake", apitype.SearchOptions{Local: true}, nil); err != nil || len(found) != 1 {
		t.Fatalf("search before: %v %v", found, err)
	}
	// The publisher retracts.
	res, err := pub.Retract(ctx, apitype.RetractRequest{Ref: ref, Reason: "published by mistake"})
	if err != nil || res.Accepted == 0 || !res.KeptLocal {
		t.Fatalf("retract: %+v %v", res, err)
	}
	net.Eventually(time.Minute, "the cacher drops its cache pin", func() bool { return len(pinReasons(t, cacher, ref)) == 0 })
	if err := catErr(cacher, pkg); !errors.Is(err, apitype.ErrRetracted) || !strings.Contains(err.Error(), "published by mistake") {
		t.Errorf("cacher reads: %v", err)
	}
	rr := httptest.NewRecorder()
	cacher.GatewayHandler().ServeHTTP(rr, httptest.NewRequest("GET", gatewayURL(ref), nil))
	if rr.Code != 410 || !strings.Contains(rr.Body.String(), "published by mistake") {
		t.Errorf("gateway: %d %.200q", rr.Code, rr.Body.String())
	}
	for i, n := range []*node.Node{pub, cacher} {
		found, err := n.Search(ctx, "mistake", apitype.SearchOptions{Local: true}, nil)
		if err != nil || len(found) != 0 {
			t.Errorf("node %d search: %v %v", i, found, err)
		}
	}
	// Nobody serves it any more, the publisher included.
	if err := net.Nodes[4].FetchFromForTest(ctx, net.AddrInfo(0).ID, pkg); !errors.Is(err, retrieval.ErrWithheld) {
		t.Errorf("retrieval from the publisher: %v", err)
	}
	// A node that never held it learns from the aggregators (before it
	// fetches, unless they are slower than modWait: then at its next look).
	net.Eventually(time.Minute, "the late reader to be told it was retracted", func() bool {
		return errors.Is(catErr(late, pkg), apitype.ErrRetracted)
	})
	// The keeper's local pin stays, readable, and says so.
	net.Eventually(time.Minute, "the keeper learns of the retraction", func() bool {
		info, err := keeper.Info(ctx, ref)
		return err == nil && strings.Contains(info.Retracted, "published by mistake")
	})
	if why, err := keeper.ModerationWhy(ctx, ref); err != nil || !why.Withheld || !strings.Contains(why.Explanation, "published by mistake") ||
		!strings.Contains(why.Explanation, "copy stays readable") {
		t.Errorf("why on the keeper: %+v %v", why, err)
	}
	if got := pinReasons(t, keeper, ref); !slices.Equal(got, []string{"local"}) {
		t.Errorf("keeper pins: %v", got)
	}
	if err := keeper.Cat(ctx, ref, io.Discard); err != nil {
		t.Errorf("keeper reads: %v", err)
	}
	// The cacher's owner keeps a copy by pinning it local while the blocks are here.
	info, err := cacher.SiteGet(ctx, ref, nil)
	if err != nil || info.Retracted == "" {
		t.Fatalf("keep a retracted package: %+v %v", info, err)
	}
	if err := catErr(cacher, pkg); err != nil {
		t.Errorf("cacher reads its kept copy: %v", err)
	}
}
