package netns

// A NAT lab: a "WAN" namespace that routes between public nodes and home
// routers, each router masquerading a LAN of one host with nftables, as a
// Linux home router does.
//
// Addressing. libp2p counts private, shared (CGNAT) and documentation ranges
// as non-public: AutoNAT, hole punching and the observed-address logic
// ignore them. So the WAN uses 7.77.0.0/16, addresses libp2p counts as
// public, assigned only to interfaces of the lab's own namespaces: the
// namespaces have no link to the host or beyond, so nothing is routed out
// of them (the host never learns a route to 7.77/16). LANs use 10.<k>.0.0/24.
//
// Like a home router, a lab router drops unsolicited packets from the WAN
// to itself (so they leave no conntrack entry that would make the
// masquerade pick another port for the host's next flow).
//
// NAT types, in RFC 4787 terms:
//   - FullCone: masquerade, plus inbound packets to the host's libp2p port
//     forwarded to it (endpoint-independent mapping and filtering).
//   - PortRestricted: plain masquerade, which keeps the source port when it
//     can (endpoint-independent mapping) and lets in only replies to what
//     the host sent (address-and-port-dependent filtering).
//   - Symmetric: masquerade with random ports: every new destination gets a
//     new mapping (address-and-port-dependent mapping).

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
)

// NATType is how a lab router translates.
type NATType string

// NAT types.
const (
	FullCone       NATType = "full-cone"
	PortRestricted NATType = "port-restricted"
	Symmetric      NATType = "symmetric"
)

// NATUsable says why NAT labs cannot run here (nil when they can): the
// netns requirements plus nftables.
func NATUsable() error {
	if err := Usable(); err != nil {
		return err
	}
	if _, err := exec.LookPath("nft"); err != nil {
		return errors.New("NAT lab tests need nftables: apt-get install nftables")
	}
	return nil
}

// NATLab is a WAN with public namespaces and hosts behind routers.
type NATLab struct {
	*Lab
	WAN    *NS
	Public []*NS
	nwan   int // WAN links made
	nlan   int // LANs made
}

// NewNATLab makes the WAN router and n public namespaces on it.
func NewNATLab(t TB, n int) *NATLab {
	t.Helper()
	nl := &NATLab{Lab: New(t)}
	nl.WAN = nl.NS("wan")
	nl.forward(nl.WAN)
	for i := range n {
		p := nl.NS(fmt.Sprintf("p%d", i+1))
		nl.wanLink(p)
		nl.Public = append(nl.Public, p)
	}
	return nl
}

func (nl *NATLab) forward(ns *NS) {
	nl.must("ip", "netns", "exec", ns.Name, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
}

// wanLink joins ns to the WAN router with 7.77.k.2/24 and routes
// everything through it; it returns ns's WAN address and interface.
func (nl *NATLab) wanLink(ns *NS) (netip.Addr, string) {
	nl.nwan++
	k := byte(nl.nwan)
	lk := nl.LinkAddrs(nl.WAN, ns, netip.AddrFrom4([4]byte{7, 77, k, 1}), netip.AddrFrom4([4]byte{7, 77, k, 2}), 24)
	nl.must("ip", "-n", ns.Name, "route", "add", "default", "via", lk.AIP.String())
	return lk.BIP, lk.BIf
}

// Behind makes a host namespace tagged tag behind a new router of type
// nat, and returns the host and the router's public address. The host's
// libp2p port is Port.
func (nl *NATLab) Behind(tag string, nat NATType) (host *NS, public netip.Addr) {
	nl.t.Helper()
	r := nl.NS("r" + tag)
	nl.forward(r)
	pub, wanIf := nl.wanLink(r)
	nl.nlan++
	k := byte(nl.nlan)
	host = nl.NS(tag)
	lan := nl.LinkAddrs(r, host, netip.AddrFrom4([4]byte{10, k, 0, 1}), netip.AddrFrom4([4]byte{10, k, 0, 2}), 24)
	nl.must("ip", "-n", host.Name, "route", "add", "default", "via", lan.AIP.String())
	masq := "masquerade"
	if nat == Symmetric {
		masq = "masquerade random"
	}
	rules := fmt.Sprintf(`table ip myco_nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "%s" %s
	}
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
%s	}
}
table ip myco_fw {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "%s" ct state new drop
	}
}
`, wanIf, masq, forwardRules(nat, wanIf, lan.BIP), wanIf)
	path := filepath.Join(nl.t.TempDir(), "nft-"+r.Tag)
	if err := os.WriteFile(path, []byte(rules), 0o644); err != nil {
		nl.t.Fatalf("netns: %v", err)
	}
	nl.must("ip", "netns", "exec", r.Name, "nft", "-f", path)
	return host, pub
}

func forwardRules(nat NATType, wanIf string, host netip.Addr) string {
	if nat != FullCone {
		return ""
	}
	return fmt.Sprintf("\t\tiifname \"%s\" tcp dport %d dnat to %s\n\t\tiifname \"%s\" udp dport %d dnat to %s\n",
		wanIf, Port, host, wanIf, Port, host)
}

// NSByTag returns the Lab's namespace tagged tag, or nil.
func (l *Lab) NSByTag(tag string) *NS {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ns := range l.nss {
		if ns.Tag == tag {
			return ns
		}
	}
	return nil
}
