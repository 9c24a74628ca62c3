package overlay_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/myconet/myconet/overlay"
	"github.com/myconet/myconet/overlay/overlaytest"
)

// BenchmarkForward measures the whole path between two Routers on
// ChannelTUNs joined by the in-memory network: TUN read, parse, route,
// Transport, Deliver, spoofing check, firewall, TUN write.
func BenchmarkForward(b *testing.B) {
	for _, size := range []int{1280, 1420} {
		b.Run(sizeName(size), func(b *testing.B) {
			_, nodes := newMesh(b, true, map[string]string{"b": "allow udp 9000"}, "a", "b")
			a, dst := nodes["a"], nodes["b"]
			pkt := overlaytest.Sized(netip.AddrPortFrom(a.addr, 5000), netip.AddrPortFrom(dst.addr, 9000), size)
			// Warm the route.
			a.send(b, pkt)
			dst.recv(b)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			go func() {
				for range b.N {
					a.tun.Outbound <- pkt
				}
			}()
			for range b.N {
				<-dst.tun.Inbound
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pkts/s")
		})
	}
}

// BenchmarkDeliver measures the inbound half alone (spoofing check,
// firewall, hand-off) without channels.
func BenchmarkDeliver(b *testing.B) {
	rules, _ := overlay.ParseRules("allow udp 9000")
	r, err := overlay.New(overlay.Config{
		Key:       overlaytest.Key("b"),
		Transport: &recordingTransport{},
		Resolver:  noResolver{},
		Firewall:  overlay.NewFirewall(overlay.FirewallConfig{Rules: rules}),
		Local:     func([][]byte) {},
		MTU:       1500,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	key := overlaytest.Key("a")
	batch := make([][]byte, 64)
	for i := range batch {
		batch[i] = overlaytest.Sized(netip.AddrPortFrom(overlaytest.Addr("a"), 5000), netip.AddrPortFrom(r.Addr(), 9000), 1420)
	}
	b.SetBytes(int64(len(batch) * 1420))
	b.ReportAllocs()
	for b.Loop() {
		r.Deliver("a", key, batch)
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "pkts/s")
}

func sizeName(n int) string {
	return map[int]string{1280: "1280B", 1420: "1420B"}[n]
}
