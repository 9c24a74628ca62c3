package retrieval

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
)

// countSink counts what it is given and keeps nothing.
type countSink struct{ n, bytes atomic.Int64 }

func (s *countSink) Put(c cid.Cid, data []byte) error {
	s.n.Add(1)
	s.bytes.Add(int64(len(data)))
	return nil
}

// nodeLikeHosts returns n connected hosts on 127.0.0.1 TCP with the options
// of node/p2p's newHost that bear on a transfer.
func nodeLikeHosts(b *testing.B, n int) []host.Host {
	b.Helper()
	var hs []host.Host
	for range n {
		scaling := rcmgr.DefaultLimits
		libp2p.SetDefaultServiceLimits(&scaling)
		rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(scaling.AutoScale()))
		if err != nil {
			b.Fatal(err)
		}
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.ResourceManager(rm))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { h.Close() })
		hs = append(hs, h)
	}
	for _, h := range hs[1:] {
		if err := h.Connect(context.Background(), peer.AddrInfo{ID: hs[0].ID(), Addrs: hs[0].Addrs()}); err != nil {
			b.Fatal(err)
		}
	}
	return hs
}

var benchNets = []struct {
	name  string
	hosts func(b *testing.B) []host.Host
}{
	{"mocknet", func(b *testing.B) []host.Host { _, hs := meshNet(b, 2); return hs }},
	{"tcp", func(b *testing.B) []host.Host { return nodeLikeHosts(b, 2) }},
}

// BenchmarkFetch fetches a 64 MiB file from one provider per iteration.
func BenchmarkFetch(b *testing.B) {
	const size = 64 << 20
	prov := newMem()
	root, _ := importFile(b, prov, 42, size)
	benchFetch(b, prov, root, size, 0)
}

// BenchmarkFetchDir fetches a directory of 2,000 small files (1-8 KiB) and
// reports files/s.
func BenchmarkFetchDir(b *testing.B) {
	const files = 2000
	prov := newMem()
	root, _ := importDir(b, prov, files)
	benchFetch(b, prov, root, 0, files)
}

func benchFetch(b *testing.B, prov *memBlocks, root cid.Cid, size int64, files int) {
	dag := dagBlocks(b, prov, root)
	for _, tc := range benchNets {
		b.Run(tc.name, func(b *testing.B) {
			hs := tc.hosts(b)
			newService(b, hs[0], prov, nil)
			req := newService(b, hs[1], nil, nil)
			if size > 0 {
				b.SetBytes(size)
			}
			b.ResetTimer()
			for b.Loop() {
				sink := &countSink{}
				if _, err := req.Fetch(context.Background(), root, sink, FetchOptions{Providers: []peer.ID{hs[0].ID()}}); err != nil {
					b.Fatal(err)
				}
				if sink.n.Load() != int64(len(dag)) {
					b.Fatalf("%d blocks, want %d", sink.n.Load(), len(dag))
				}
			}
			if files > 0 {
				b.ReportMetric(float64(files)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
			}
		})
	}
}
