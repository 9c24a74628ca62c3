package node_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/bandwidth"
	"github.com/myconet/myconet/node/nodetest"
)

func writeRand(t *testing.T, path string, seed uint64, n int) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

// getEventually retries Get until the provider records have spread.
func getEventually(t *testing.T, n *node.Node, ref, dest string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := n.Get(ctx, ref, dest, nil)
		cancel()
		if err == nil {
			return
		}
		if !errors.Is(err, apitype.ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("get %s: %v", ref, err)
		}
		time.Sleep(50 * time.Millisecond) // polling: provider records are announced asynchronously
	}
}

func TestPublishOnAFetchOnC(t *testing.T) {
	for _, loopback := range []bool{false, true} {
		name := map[bool]string{false: "mocknet", true: "loopback"}[loopback]
		t.Run(name, func(t *testing.T) {
			leakcheck.Check(t)
			net := nodetest.New(t, 3, nodetest.Options{Loopback: loopback, Logs: os.Getenv("MESH_LOGS") != ""})
			net.ConnectChain() // A and C meet only through B
			a, c := net.Nodes[0], net.Nodes[2]
			ctx := context.Background()

			src := t.TempDir()
			fileData := writeRand(t, filepath.Join(src, "data.bin"), 1, 5<<20+123)
			site := filepath.Join(src, "site")
			os.MkdirAll(filepath.Join(site, "sub"), 0o755)
			os.WriteFile(filepath.Join(site, "index.html"), []byte(`<a href="sub/p.html">p</a>`), 0o644)
			os.WriteFile(filepath.Join(site, "sub", "p.html"), []byte("page"), 0o644)

			fres, err := a.Add(ctx, apitype.AddRequest{Path: filepath.Join(src, "data.bin"), Title: "data"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			sres, err := a.Add(ctx, apitype.AddRequest{Path: site, Title: "site"}, nil)
			if err != nil {
				t.Fatal(err)
			}

			out := filepath.Join(t.TempDir(), "data.bin")
			getEventually(t, c, fres.MRI, out)
			if got, _ := os.ReadFile(out); !bytes.Equal(got, fileData) {
				t.Fatal("C got different bytes")
			}
			info, err := c.Info(ctx, fres.MRI)
			if err != nil || !info.SignatureValid || info.Meta.Title != "data" {
				t.Fatalf("info on C: %+v %v", info, err)
			}
			// C fetched it (cache), or, with 3 nodes and R=3, replication got
			// there first (replica); never local.
			held := slices.Contains(info.Pins, "cache") || slices.Contains(info.Pins, "replica")
			if !held || slices.Contains(info.Pins, "local") {
				t.Fatalf("C pins %v, want cache or replica", info.Pins)
			}

			// site get pins local and works for a path afterwards offline.
			sinfo, err := c.SiteGet(ctx, sres.MRI, nil)
			if err != nil {
				t.Fatal(err)
			}
			if sinfo.Meta.Title != "site" {
				t.Fatalf("site info %+v", sinfo)
			}
			var page bytes.Buffer
			if err := c.Cat(ctx, sres.MRI+"/sub/p.html", &page); err != nil || page.String() != "page" {
				t.Fatalf("cat on C: %q %v", page.String(), err)
			}
			pins, _ := c.Pins(ctx)
			var siteReasons []string
			for _, p := range pins {
				if p.Root == sres.Package {
					siteReasons = append(siteReasons, p.Reason)
				}
			}
			if !slices.Contains(siteReasons, "local") {
				t.Fatalf("site pin reasons %v, want local among them", siteReasons)
			}
			provs, err := c.Providers(ctx, fres.MRI)
			if err != nil || len(provs) == 0 {
				t.Fatalf("providers: %v %v", provs, err)
			}
		})
	}
}

func TestFetchWithNoProviderFailsInBoundedTime(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 2, nodetest.Options{})
	net.Connect(0, 1)
	start := time.Now()
	_, err := net.Nodes[1].Info(context.Background(), "myco://bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
	if !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 40*time.Second {
		t.Fatalf("took %v", d)
	}
}

// recordingClock is a bandwidth clock that does not sleep but adds up how
// long the limiter asked to wait.
type recordingClock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
}

func (c *recordingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *recordingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept += d
	return nil
}

func (c *recordingClock) total() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept
}

// TestBandwidthQuotasApplyToFetches proves that a fetch pays the receiver's
// download quota and the provider's upload quota, by counting on fake time
// how long the limiters made it wait (no timing is asserted).
func TestBandwidthQuotasApplyToFetches(t *testing.T) {
	leakcheck.Check(t)
	clocks := []*recordingClock{{now: time.Unix(1e9, 0)}, {now: time.Unix(1e9, 0)}}
	net := nodetest.New(t, 2, nodetest.Options{
		Clock: func(i int) bandwidth.Clock { return clocks[i] },
	})
	net.Connect(1, 0)
	ctx := context.Background()
	// Set on the running nodes: quotas apply live.
	if _, err := net.Nodes[0].SetQuota(ctx, "upload", "1MB/s"); err != nil { // the provider
		t.Fatal(err)
	}
	if _, err := net.Nodes[1].SetQuota(ctx, "download", "2MB/s"); err != nil { // the receiver
		t.Fatal(err)
	}
	const size = 4_000_000
	src := filepath.Join(t.TempDir(), "big")
	writeRand(t, src, 4, size)
	res, err := net.Nodes[0].Add(ctx, apitype.AddRequest{Path: src, Title: "big"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	getEventually(t, net.Nodes[1], res.MRI, filepath.Join(t.TempDir(), "out"))
	// 4 MB at 1 MB/s upload ≈ 4 s of waiting; at 2 MB/s download ≈ 2 s.
	if up := clocks[0].total(); up < 3500*time.Millisecond {
		t.Fatalf("provider waited %v for its 1MB/s upload quota, want about 4s", up)
	}
	if down := clocks[1].total(); down < 1500*time.Millisecond {
		t.Fatalf("receiver waited %v for its 2MB/s download quota, want about 2s", down)
	}
	q, _ := net.Nodes[1].Quota(ctx)
	if q.Downloaded < size || q.Download != 2e6 {
		t.Fatalf("quota show: %+v", q)
	}
	// Lifting the limit applies to the running node.
	if _, err := net.Nodes[0].SetQuota(ctx, "upload", "unlimited"); err != nil {
		t.Fatal(err)
	}
	if q, _ := net.Nodes[0].Quota(ctx); q.Upload != apitype.Unlimited {
		t.Fatalf("upload quota after lifting: %d", q.Upload)
	}
}

// TestConnectionQuotaLive sets quota.connections on a running node (real
// loopback hosts): new peers beyond it are refused, and lowering it closes
// the surplus.
func TestConnectionQuotaLive(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 4, nodetest.Options{Loopback: true})
	a := net.Nodes[0]
	ctx := context.Background()
	net.Connect(0, 1)
	net.Connect(0, 2)
	if _, err := a.SetQuota(ctx, "connections", "2"); err != nil {
		t.Fatal(err)
	}
	ai := net.AddrInfo(3)
	if _, err := a.Connect(ctx, ai.Addrs[0].String()+"/p2p/"+ai.ID.String()); err == nil {
		t.Fatal("a third peer was accepted over a quota of 2")
	}
	if _, err := a.SetQuota(ctx, "connections", "1"); err != nil {
		t.Fatal(err)
	}
	net.Eventually(10*time.Second, "the surplus connection to close", func() bool {
		peers, _ := a.Peers(ctx)
		return len(peers) <= 1
	})
	q, _ := a.Quota(ctx)
	if q.Conns != 1 {
		t.Fatalf("quota show connections = %d", q.Conns)
	}
}

// TestRestartReconnectsToRememberedPeers: a node that stops remembers the
// peers it was connected to, and reconnects to them on the next start
// without any bootstrap list.
func TestRestartReconnectsToRememberedPeers(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 1, nodetest.Options{Loopback: true})
	a := net.Nodes[0]
	ai := net.AddrInfo(0)
	home := t.TempDir()
	open := func() *node.Node {
		n, err := node.New(node.Config{Home: home, StoreNoSync: true, Override: node.LoopbackOnly})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.StartNetwork(context.Background()); err != nil {
			t.Fatal(err)
		}
		return n
	}
	b := open()
	if _, err := b.Connect(context.Background(), ai.Addrs[0].String()+"/p2p/"+ai.ID.String()); err != nil {
		t.Fatal(err)
	}
	b.Close()
	nodetest.Eventually(t, 10*time.Second, "A to see B leave", func() bool {
		peers, _ := a.Peers(context.Background())
		return len(peers) == 0
	})
	b = open() // no bootstrap peers: only what it remembered
	defer b.Close()
	nodetest.Eventually(t, 30*time.Second, "B to reconnect to A", func() bool {
		peers, _ := b.Peers(context.Background())
		return len(peers) == 1 && peers[0].ID == ai.ID.String()
	})
}

// TestCPUQuotaLive: quota.cpu bounds the replication workers of a running
// node and a change applies at once (the limiter's own tests show the bound
// holds under load).
func TestCPUQuotaLive(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 2, nodetest.Options{})
	a := net.Nodes[0]
	if w := a.ReplicationStats().Workers; w != 2 {
		t.Fatalf("default workers = %d, want 2", w)
	}
	for _, cpu := range []string{"1", "4", "0"} {
		if _, err := a.SetQuota(context.Background(), "cpu", cpu); err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"1": 1, "4": 4, "0": 2}[cpu]
		if w := a.ReplicationStats().Workers; w != want {
			t.Fatalf("after quota set cpu %s: workers = %d, want %d", cpu, w, want)
		}
	}
	if _, err := a.SetQuota(context.Background(), "cpu", "-1"); err == nil {
		t.Fatal("quota set cpu -1 accepted")
	}
}
