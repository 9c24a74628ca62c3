package node_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/nodetest"
)

// TestModerationKeptAcrossRestart: a community decision survives a restart
// and applies offline, shown as stale with its age, under the package CID
// and the content CID alike.
func TestModerationKeptAcrossRestart(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 6, nodetest.Options{Override: modTestConfig})
	net.ConnectRandom(3)
	ctx := context.Background()
	holder := net.Nodes[0]
	pkg, _ := meshAdd(t, holder, apitype.AddRequest{Title: "decided then offline"})
	info, err := holder.Info(ctx, pkg.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{1, 2, 3} {
		vote(t, net, i, pkg, "remove")
	}
	net.Eventually(2*time.Minute, "the holder withholds the package", func() bool {
		r, err := holder.ModerationWhy(ctx, pkg.String())
		return err == nil && r.Withheld && r.Remove == 3
	})
	home := holder.Home()
	net.Kill(0)

	// Reopened without the network: the kept decision applies.
	n, err := node.New(node.Config{Home: home, StoreNoSync: true, Override: func(fc *config.FileConfig) {
		node.LoopbackOnly(fc)
		modTestConfig(0, fc)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for _, ref := range []string{pkg.String(), "myco://" + info.Content} {
		if _, err := n.Stat(ctx, ref); !errors.Is(err, apitype.ErrWithheld) {
			t.Errorf("offline after a restart, %s: %v", ref, err)
		}
	}
	nodetest.Eventually(t, time.Minute, "the kept decision to turn stale", func() bool {
		r, err := n.ModerationWhy(ctx, pkg.String())
		return err == nil && r.Stale
	})
	r, err := n.ModerationWhy(ctx, pkg.String())
	if err != nil || !r.Withheld || r.Decision != "remove" || r.Remove != 3 || len(r.Tallies) < 3 || !r.Stale {
		t.Fatalf("why offline: %+v %v", r, err)
	}
	if !strings.Contains(r.Explanation, "stale") || !strings.Contains(r.Explanation, "3 remove") {
		t.Errorf("why offline, in words: %q", r.Explanation)
	}
	if strings.Contains(r.Reason, "only local rules") {
		t.Errorf("why offline ignores the kept decision: %s", r.Reason)
	}
}
