package node

// The overlay's place in the node: node/overlaynet runs it on the network's
// host; the API methods below hand off to it.

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/overlaynet"
)

// startOverlay starts the overlay on ns (with a TUN when the config asks
// for one and the system allows it); it stops in ns.close.
func (n *Node) startOverlay(ns *netState, cfg config.FileConfig) error {
	opts := overlaynet.Options{
		Host: ns.host, DHT: ns.dht, Priv: n.id.Priv, Config: cfg.Overlay,
		Connect:        ns.p2p.ConnectPeer, // directly or relayed
		Punched:        ns.p2p.Punched,
		DialAdvertised: ns.p2p.DialAdvertised,
		Logger:         n.baseLog,
	}
	if hps := ns.p2p.HolePunch(); hps != nil {
		opts.HolePunch = hps
	}
	o, err := overlaynet.New(opts)
	if err != nil {
		return err
	}
	o.Start(ns.ctx)
	ns.overlay = o
	return nil
}

var errNoOverlay = errors.New("the overlay is not running")

func (n *Node) overlayNet() (*overlaynet.Service, error) {
	ns := n.network()
	if ns == nil {
		return nil, apitype.Errorf(apitype.CodeNoDaemon, "the overlay needs the network: start `myconet daemon`")
	}
	if ns.overlay == nil {
		return nil, apitype.Errorf(apitype.CodeInternal, "%v", errNoOverlay)
	}
	return ns.overlay, nil
}

// Ping implements API.
func (n *Node) Ping(ctx context.Context, addr string, opts apitype.PingOptions) (apitype.PingResult, error) {
	dst, err := overlaynet.ParseTarget(addr, n.id.Address)
	if err != nil {
		return apitype.PingResult{}, err
	}
	o, err := n.overlayNet()
	if err != nil {
		return apitype.PingResult{}, err
	}
	return o.Ping(ctx, dst, opts)
}

// Routes implements API.
func (n *Node) Routes(ctx context.Context) ([]apitype.RouteInfo, error) {
	o, err := n.overlayNet()
	if err != nil {
		return nil, err
	}
	return o.Routes(), nil
}

// Firewall implements API: the rules of overlay.firewall, in the order they
// apply.
func (n *Node) Firewall(ctx context.Context) (apitype.FirewallInfo, error) {
	n.mu.Lock()
	rules := slices.Clone(n.cfg.Overlay.Firewall)
	n.mu.Unlock()
	return apitype.FirewallInfo{Rules: overlaynet.OrderRules(rules)}, nil
}

// FirewallAdd implements API: rule replaces any rule with the same protocol,
// port and source, or else joins the set; the most specific matching rule
// decides (deny among equals), whatever the order rules were added in. The
// config file keeps the rules in that order and a running node applies them
// at once.
func (n *Node) FirewallAdd(ctx context.Context, rule string) (apitype.FirewallInfo, error) {
	return n.editFirewall(rule, true)
}

// FirewallRemove implements API: it removes the rule with the same
// protocol, port and source as rule (whatever its action).
func (n *Node) FirewallRemove(ctx context.Context, rule string) (apitype.FirewallInfo, error) {
	return n.editFirewall(rule, false)
}

func (n *Node) editFirewall(text string, add bool) (apitype.FirewallInfo, error) {
	n.mu.Lock()
	cur := slices.Clone(n.cfg.Overlay.Firewall)
	n.mu.Unlock()
	next, err := overlaynet.EditRules(cur, text, add)
	if err != nil {
		return apitype.FirewallInfo{}, err
	}
	if err := n.ConfigSet(context.Background(), "overlay.firewall", strings.Join(next, ",")); err != nil {
		return apitype.FirewallInfo{}, err
	}
	return n.Firewall(context.Background())
}

// applyFirewall gives the running overlay the rules of cfg.
func (ns *netState) applyFirewall(cfg config.FileConfig) {
	if ns != nil && ns.overlay != nil {
		ns.overlay.SetRules(cfg.Overlay.Firewall)
	}
}

// overlayStatus is the overlay line of Status.
func (ns *netState) overlayStatus() string {
	if ns == nil || ns.overlay == nil {
		return "off"
	}
	return ns.overlay.Status()
}
