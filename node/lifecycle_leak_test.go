package node_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/nodetest"
)

// TestNodeLifecycleNoLeaks starts two full nodes as daemons (store, libp2p
// host, DHT, retrieval, replication, search, moderation, overlay without a
// TUN, the API and the gateway), has them work together, closes them, and
// fails if any goroutine started on the way is still running.
func TestNodeLifecycleNoLeaks(t *testing.T) {
	// Goroutines of the test binary that ran before this test are not ours.
	// No library's goroutine is ignored: none outlives the nodes.
	opts := []goleak.Option{goleak.IgnoreCurrent()}
	t.Run("work", func(t *testing.T) { lifecycle(t) })
	// The subtest's cleanups (nodes closed, homes removed) have run.
	if err := goleak.Find(opts...); err != nil {
		t.Fatalf("goroutines left running after close: %v", err)
	}
}

func lifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var nodes [2]*node.Node
	var gws [2]string
	var stops [2]func()
	for i := range nodes {
		n, err := node.New(node.Config{Home: t.TempDir(), StoreNoSync: true, DHTServer: true, Override: func(fc *config.FileConfig) {
			node.LoopbackOnly(fc)
			fc.Moderation.PowBits = 8
		}})
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = n
		runCtx, stop := context.WithCancel(context.Background())
		ready := make(chan [2]string, 1)
		done := make(chan error, 1)
		go func() {
			done <- n.Run(runCtx, node.RunOptions{APIAddr: "127.0.0.1:0", GatewayAddr: "127.0.0.1:0", Ready: func(a, g string) { ready <- [2]string{a, g} }})
		}()
		select {
		case a := <-ready:
			gws[i] = a[1]
		case err := <-done:
			stop()
			t.Fatalf("node %d: Run: %v", i, err)
		case <-ctx.Done():
			stop()
			t.Fatalf("node %d never became ready", i)
		}
		stops[i] = func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("node %d: Run: %v", i, err)
			}
			if err := n.Close(); err != nil {
				t.Errorf("node %d: Close: %v", i, err)
			}
		}
	}
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	a, b := nodes[0], nodes[1]

	// Connect b to a.
	ida, err := a.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ida.Listen) == 0 {
		t.Fatal("node a listens nowhere")
	}
	if _, err := b.Connect(ctx, ida.Listen[0]); err != nil {
		t.Fatalf("connect: %v", err)
	}

	// Publish on a, fetch on b, read through b's gateway.
	src := filepath.Join(t.TempDir(), "notes.txt")
	body := []byte("lifecycle test: a package that crosses the network\n")
	if err := os.WriteFile(src, body, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := a.Add(ctx, apitype.AddRequest{Path: src, Title: "Lifecycle notes", Tags: []string{"lifecycle"}}, nil)
	if err != nil {
		t.Fatalf("add: %v", err)
	}
	dest := filepath.Join(t.TempDir(), "got.txt")
	if err := b.Get(ctx, res.Package, dest, nil); err != nil {
		t.Fatalf("get on the other node: %v", err)
	}
	if got, _ := os.ReadFile(dest); string(got) != string(body) {
		t.Fatalf("get wrote %q", got)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+gws[1]+"/", nil)
	req.Host = res.Package + ".localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("gateway: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("gateway answered %s", resp.Status)
	}

	// Search, vote and ping: the search, moderation and overlay services.
	nodetest.Eventually(t, 30*time.Second, "b finds the package by keyword", func() bool {
		rs, err := b.Search(ctx, "lifecycle", apitype.SearchOptions{}, nil)
		return err == nil && len(rs) > 0
	})
	if _, err := b.Vote(ctx, apitype.VoteRequest{Ref: res.Package, Choice: "keep"}); err != nil {
		t.Fatalf("vote: %v", err)
	}
	if _, err := b.Ping(ctx, ida.Address, apitype.PingOptions{Count: 1}); err != nil {
		t.Fatalf("overlay ping: %v", err)
	}
}
