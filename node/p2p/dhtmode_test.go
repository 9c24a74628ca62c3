package p2p

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
)

// TestDHTModeLive: in auto mode status must say what the DHT does now:
// server while it serves, client once AutoNAT finds the node unreachable.
// (It compared kad-dht's Mode(), the configured ModeAutoServer, with
// ModeServer, so every auto node said client. Issue 10 item 28.)
func TestDHTModeLive(t *testing.T) {
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	d, err := dht.New(h, dht.ProtocolPrefix(DHTPrefix), dht.Mode(dht.ModeAutoServer))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := dhtMode(h); got != "server" {
		t.Fatalf("auto DHT serving: status says %q, want server", got)
	}
	em, err := h.EventBus().Emitter(new(event.EvtLocalReachabilityChanged))
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	if err := em.Emit(event.EvtLocalReachabilityChanged{Reachability: network.ReachabilityPrivate}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for dhtMode(h) != "client" {
		if ctx.Err() != nil {
			t.Fatalf("auto DHT behind NAT: status still says %q, want client", dhtMode(h))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
