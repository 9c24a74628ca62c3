package p2p

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

func TestPrivateOnly(t *testing.T) {
	addrs := func(ss ...string) []ma.Multiaddr {
		var out []ma.Multiaddr
		for _, s := range ss {
			out = append(out, ma.StringCast(s))
		}
		return out
	}
	lan := addrs("/ip4/127.0.0.1/tcp/4809", "/ip4/192.168.1.5/tcp/4809", "/ip6/::1/tcp/4809", "/ip6/fd00::5/udp/4809/quic-v1")
	for _, c := range []struct {
		name string
		own  []ma.Multiaddr
		boot []peer.AddrInfo
		want bool
	}{
		{"alone on a LAN", lan, nil, true},
		{"LAN peers", lan, []peer.AddrInfo{{Addrs: addrs("/ip4/10.0.0.7/tcp/4809")}}, true},
		{"a public peer", lan, []peer.AddrInfo{{Addrs: addrs("/ip4/10.0.0.7/tcp/4809")}, {Addrs: addrs("/ip4/8.8.8.8/tcp/4809")}}, false},
		{"a public address of its own", addrs("/ip4/127.0.0.1/tcp/4809", "/ip4/8.8.8.8/tcp/4809"), nil, false},
	} {
		if got := privateOnly(c.own, c.boot); got != c.want {
			t.Errorf("%s: privateOnly = %v, want %v", c.name, got, c.want)
		}
	}
}
