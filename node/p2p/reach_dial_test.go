package p2p

import (
	"testing"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// A node behind NAT that starts from public peers is a DHT client until
// AutoNAT finds it public: serving with a NAT mapping nobody can dial made
// every DHT query of its peers wait ~5 s on it (first contact 5–6 s).
func TestDHTStartMode(t *testing.T) {
	m := ma.StringCast
	pub := []peer.AddrInfo{{ID: "p", Addrs: []ma.Multiaddr{m("/ip4/7.77.1.2/tcp/4809")}}}
	lan := []peer.AddrInfo{{ID: "p", Addrs: []ma.Multiaddr{m("/ip4/10.0.0.1/tcp/4809")}}}
	for _, c := range []struct {
		own  string
		boot []peer.AddrInfo
		want dht.ModeOpt
	}{
		{"/ip4/10.1.0.2/tcp/4809", pub, dht.ModeAuto},       // home router
		{"/ip4/7.77.2.2/tcp/4809", pub, dht.ModeAutoServer}, // a server
		{"/ip4/10.1.0.2/tcp/4809", lan, dht.ModeServer},     // a LAN
		{"/ip4/127.0.0.1/tcp/4809", nil, dht.ModeServer},    // one machine
		{"/ip4/7.77.2.2/tcp/4809", nil, dht.ModeAutoServer}, // the first public node
	} {
		if got := dhtStartMode([]ma.Multiaddr{m(c.own)}, c.boot); got != c.want {
			t.Errorf("own %s, bootstrap %v: mode %v, want %v", c.own, c.boot, got, c.want)
		}
	}
}
