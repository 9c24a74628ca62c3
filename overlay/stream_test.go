package overlay_test

import (
	"bytes"
	"context"
	"io"
	"net/netip"
	"sync"
	"testing"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/overlay"
	"github.com/myconet/myconet/overlay/overlaytest"
)

// TestStream carries packets from a Sender over a pipe into ServeStream,
// as the node does with one libp2p stream per peer.
func TestStream(t *testing.T) {
	leakcheck.Check(t)
	rules, _ := overlay.ParseRules("allow udp 9000")
	r, _, local := newLocal(t, overlay.Config{Firewall: overlay.NewFirewall(overlay.FirewallConfig{Rules: rules})})
	pr, pw := io.Pipe()
	s := overlay.NewSender(pw, overlay.SenderConfig{})
	var wg sync.WaitGroup
	wg.Add(2)
	serveErr := make(chan error, 1)
	go func() { defer wg.Done(); s.Run(context.Background()) }()
	go func() { defer wg.Done(); serveErr <- r.ServeStream("a", overlaytest.Key("a"), pr, 0) }()

	var want [][]byte
	for i := range 100 {
		want = append(want, overlaytest.UDP(netip.AddrPortFrom(overlaytest.Addr("a"), 5000), netip.AddrPortFrom(r.Addr(), 9000), bytes.Repeat([]byte{byte(i)}, i)))
	}
	if d := s.Send(want); d != 0 {
		t.Fatalf("dropped %d", d)
	}
	var got [][]byte
	waitFor(t, "100 packets", func() bool { got = append(got, local()...); return len(got) >= 100 })
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("packet %d differs", i)
		}
	}
	s.Close()
	pw.Close()
	wg.Wait()
	if err := <-serveErr; err != nil {
		t.Fatal(err)
	}
}
