package node_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/client"
)

// startRun runs n until the returned stop function is called, and returns
// the bound addresses once it is ready.
func startRun(t *testing.T, n *node.Node, opts node.RunOptions) (api, gw string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan [2]string, 1)
	done := make(chan error, 1)
	opts.Ready = func(a, g string) { ready <- [2]string{a, g} }
	go func() { done <- n.Run(ctx, opts) }()
	select {
	case a := <-ready:
		api, gw = a[0], a[1]
	case err := <-done:
		cancel()
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("Run did not get ready")
	}
	var stopped bool
	var err error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = <-done
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return api, gw, stop
}

func TestRun(t *testing.T) {
	n := newTestNode(t)
	leakcheck.Check(t) // after the node: it may keep its own workers
	home := n.Home()
	ctx := t.Context()

	apiAddr, gwAddr, stop := startRun(t, n, node.RunOptions{APIAddr: "127.0.0.1:0", GatewayAddr: "127.0.0.1:0"})
	if !strings.HasPrefix(apiAddr, "127.0.0.1:") || strings.HasSuffix(apiAddr, ":0") || !strings.HasPrefix(gwAddr, "127.0.0.1:") {
		t.Fatalf("bound %q, %q", apiAddr, gwAddr)
	}
	b, err := os.ReadFile(filepath.Join(home, apitype.APIFile))
	if err != nil || strings.TrimSpace(string(b)) != apiAddr {
		t.Fatalf("api file %q, %v", b, err)
	}
	fi, err := os.Stat(filepath.Join(home, apitype.TokenFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	token, _ := os.ReadFile(filepath.Join(home, apitype.TokenFile))

	c, err := client.FromHome(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.API != apiAddr || st.Gateway != gwAddr || st.Version != node.Version || st.Started.IsZero() {
		t.Errorf("status %+v", st)
	}
	id, _ := n.ID(ctx)
	if got, err := c.ID(ctx); err != nil || got.PeerID != id.PeerID {
		t.Errorf("id %+v %v", got, err)
	}

	// A second Run while serving is refused.
	if err := n.Run(ctx, node.RunOptions{APIAddr: "127.0.0.1:0", GatewayAddr: "none"}); !errors.Is(err, apitype.ErrInvalid) {
		t.Errorf("concurrent Run: %v", err)
	}

	// The gateway serves an added package at the URL the node gives.
	dir := writeTree(t, map[string]string{"index.html": "<p>hi</p>"})
	res, err := c.Add(ctx, apitype.AddRequest{Path: dir, Title: "Served"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pkg, _ := cid.Decode(res.Package)
	u := n.GatewayURL(pkg, "index.html")
	_, port, _ := strings.Cut(gwAddr, ":")
	if want := "http://" + res.Package + ".localhost:" + port + "/index.html"; u != want {
		t.Errorf("GatewayURL %q, want %q", u, want)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+gwAddr+"/", nil)
	req.Host = res.Package + ".localhost:" + port // as a browser resolves it
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "<p>hi</p>" {
		t.Errorf("gateway: %d %q", resp.StatusCode, body)
	}
	http.DefaultClient.CloseIdleConnections()
	if m, err := c.Metrics(ctx); err != nil || !strings.Contains(m, "myconet_packages 1\n") {
		t.Errorf("metrics: %v\n%s", err, m)
	}

	// An idle keep-alive connection and a client that stays open do not hold
	// up the shutdown.
	if err := stop(); err != nil {
		t.Fatalf("Run returned %v", err)
	}
	if _, err := os.Stat(filepath.Join(home, apitype.APIFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("api file left behind: %v", err)
	}
	if _, err := n.Status(ctx); !errors.Is(err, apitype.ErrNoDaemon) {
		t.Errorf("status after Run: %v", err)
	}
	if _, err := c.ID(ctx); !errors.Is(err, apitype.ErrNoDaemon) {
		t.Errorf("client after Run: %v", err)
	}
	c.Close()
	if _, err := client.FromHome(ctx, home); !errors.Is(err, apitype.ErrNoDaemon) {
		t.Errorf("FromHome after Run: %v", err)
	}

	// Run again, gateway disabled: the token is kept.
	apiAddr, gwAddr, stop = startRun(t, n, node.RunOptions{APIAddr: "127.0.0.1:0", GatewayAddr: "none"})
	if gwAddr != "" {
		t.Errorf("disabled gateway bound %q", gwAddr)
	}
	if tok2, _ := os.ReadFile(filepath.Join(home, apitype.TokenFile)); string(tok2) != string(token) {
		t.Errorf("token changed between runs")
	}
	c, err = client.FromHome(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := c.Status(ctx); err != nil || st.API != apiAddr || st.Gateway != "" {
		t.Errorf("status %+v %v", st, err)
	}
	c.Close()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestRunListenError(t *testing.T) {
	n := newTestNode(t)
	leakcheck.Check(t)
	// Take a port, then ask Run for it.
	api, _, stop := startRun(t, n, node.RunOptions{APIAddr: "127.0.0.1:0", GatewayAddr: "none"})
	n2 := newTestNode(t)
	err := n2.Run(t.Context(), node.RunOptions{APIAddr: "127.0.0.1:0", GatewayAddr: api})
	if err == nil || !strings.Contains(err.Error(), "gateway: listen") {
		t.Errorf("Run on a taken port: %v", err)
	}
	if _, err := os.Stat(filepath.Join(n2.Home(), apitype.APIFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("api file written by a failed Run: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// A request in flight, even one blocked reading its body, holds the
// shutdown for about shutdownGrace (1 s), not the 5 s it used to.
func TestRunShutdownStopsStuckRequests(t *testing.T) {
	n := newTestNode(t)
	leakcheck.Check(t)
	_, _, stop := startRun(t, n, node.RunOptions{APIAddr: "127.0.0.1:0", GatewayAddr: "none"})
	c, err := client.FromHome(t.Context(), n.Home())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// An import whose body never ends keeps a request in flight.
	pr, pw := io.Pipe()
	defer pw.Close()
	errc := make(chan error, 1)
	go func() {
		_, err := c.Import(context.Background(), pr)
		errc <- err
	}()
	if _, err := pw.Write([]byte{0x3a}); err != nil { // the handler is reading
		t.Fatal(err)
	}
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	pw.Close() // the client's transport waits for its body writer
	if err := <-errc; err == nil {
		t.Errorf("the stuck import succeeded")
	} else {
		t.Logf("stuck import: %v", err)
	}
}
