package node

import (
	"context"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/overlay"
)

func (n *Node) overlayNet() (*overlayNet, error) {
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
	dst, err := netip.ParseAddr(addr)
	if err != nil || !dst.Is6() || !overlay.Prefix.Contains(dst) || dst.Zone() != "" {
		return apitype.PingResult{}, apitype.Errorf(apitype.CodeInvalid, "%q is not an overlay address (fd6d:7963::/32)", addr)
	}
	if dst == n.id.Address {
		return apitype.PingResult{}, apitype.Errorf(apitype.CodeInvalid, "%s is this node's own address", dst)
	}
	o, err := n.overlayNet()
	if err != nil {
		return apitype.PingResult{}, err
	}
	if opts.Count <= 0 {
		opts.Count = 1
	}
	if opts.Count > 100 {
		return apitype.PingResult{}, apitype.Errorf(apitype.CodeInvalid, "count %d is more than 100", opts.Count)
	}
	if opts.Size <= 0 {
		opts.Size = 56
	}
	if max := o.router.MTU() - 48; opts.Size > max {
		return apitype.PingResult{}, apitype.Errorf(apitype.CodeInvalid, "size %d is more than the MTU allows (%d)", opts.Size, max)
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	res := apitype.PingResult{Addr: dst.String(), Replies: []apitype.PingReply{}}
	id := uint16(o.pingID.Add(1))
	var sum float64
	for i := range opts.Count {
		if i > 0 {
			select {
			case <-ctx.Done():
				return res, ctx.Err()
			case <-time.After(opts.Interval):
			}
		}
		timeout := opts.Timeout
		if i == 0 && !o.routed(dst) {
			timeout += 15 * time.Second // resolving and connecting first
		}
		r := o.pingOnce(ctx, dst, id, uint16(opts.Seq+i), opts.Size, timeout)
		res.Sent++
		res.Replies = append(res.Replies, r)
		if r.Error == "" {
			res.Received++
			sum += r.RTT
			if res.MinRTT == 0 || r.RTT < res.MinRTT {
				res.MinRTT = r.RTT
			}
			res.MaxRTT = max(res.MaxRTT, r.RTT)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if res.Received > 0 {
		res.AvgRTT = sum / float64(res.Received)
	}
	if p := o.peerFor(dst); p != "" {
		res.Peer = p.String()
		res.Path = o.path(p)
	}
	return res, nil
}

// routed reports whether dst has a resolved route.
func (o *overlayNet) routed(dst netip.Addr) bool {
	return o.peerFor(dst) != ""
}

func (o *overlayNet) peerFor(dst netip.Addr) peer.ID {
	for _, r := range o.router.Routes() {
		if r.Addr == dst && r.Peer != "" {
			id, _ := peer.Decode(r.Peer)
			return id
		}
	}
	return ""
}

// Routes implements API.
func (n *Node) Routes(ctx context.Context) ([]apitype.RouteInfo, error) {
	o, err := n.overlayNet()
	if err != nil {
		return nil, err
	}
	var out []apitype.RouteInfo
	seen := map[netip.Addr]bool{}
	for _, r := range o.router.Routes() {
		ri := apitype.RouteInfo{Addr: r.Addr.String(), Peer: r.Peer, State: "ok", Path: "not connected"}
		switch {
		case r.Resolving && r.Peer == "":
			ri.State = "resolving"
		case r.Err != nil:
			ri.State, ri.Error = "unreachable", r.Err.Error()
		}
		if id, err := peer.Decode(r.Peer); err == nil {
			ri.Path = o.path(id)
		}
		seen[r.Addr] = true
		out = append(out, ri)
	}
	for _, id := range o.ns.host.Network().Peers() {
		a := o.addrOf(id)
		if !a.IsValid() || seen[a] {
			continue
		}
		seen[a] = true
		out = append(out, apitype.RouteInfo{Addr: a.String(), Peer: id.String(), State: "connected", Path: o.path(id)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	if out == nil {
		out = []apitype.RouteInfo{}
	}
	return out, nil
}

// Firewall implements API: the rules of overlay.firewall, in the order they
// apply.
func (n *Node) Firewall(ctx context.Context) (apitype.FirewallInfo, error) {
	n.mu.Lock()
	rules := slices.Clone(n.cfg.Overlay.Firewall)
	n.mu.Unlock()
	return apitype.FirewallInfo{Rules: orderRules(rules)}, nil
}

// orderRules sorts rule texts into the order the firewall applies them (see
// overlay.Order), in canonical form; one that does not parse (Validate
// refuses those) stays, last.
func orderRules(texts []string) []string {
	var rules []overlay.Rule
	out := []string{}
	var bad []string
	for _, s := range texts {
		r, err := overlay.ParseRule(s)
		if err != nil {
			bad = append(bad, s)
			continue
		}
		rules = append(rules, r)
	}
	for _, r := range overlay.Order(rules) {
		out = append(out, r.String())
	}
	return append(out, bad...)
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
	r, err := overlay.ParseRule(text)
	if err != nil {
		return apitype.FirewallInfo{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	n.mu.Lock()
	cur := slices.Clone(n.cfg.Overlay.Firewall)
	n.mu.Unlock()
	var next []string
	found := false
	for _, s := range cur {
		o, err := overlay.ParseRule(s)
		if err == nil && o.Proto == r.Proto && o.Port == r.Port && o.From == r.From {
			if add && !found {
				next = append(next, r.String())
			}
			found = true
			continue
		}
		next = append(next, s)
	}
	if !found {
		if !add {
			return apitype.FirewallInfo{}, apitype.Errorf(apitype.CodeNotFound, "no rule for %s", r.String()[strings.Index(r.String(), " ")+1:])
		}
		next = append(next, r.String())
	}
	if err := n.ConfigSet(context.Background(), "overlay.firewall", strings.Join(orderRules(next), ",")); err != nil {
		return apitype.FirewallInfo{}, err
	}
	return n.Firewall(context.Background())
}

// applyFirewall gives the running overlay the rules of cfg.
func (ns *netState) applyFirewall(cfg config.FileConfig) {
	if ns == nil || ns.overlay == nil {
		return
	}
	rules, err := overlay.ParseRules(joinLines(cfg.Overlay.Firewall))
	if err != nil {
		return // Validate refused it before
	}
	ns.overlay.router.Firewall().SetRules(rules)
}

// overlayStatus is the overlay line of Status.
func (ns *netState) overlayStatus() string {
	if ns == nil || ns.overlay == nil {
		return "off"
	}
	o := ns.overlay
	st := o.router.Stats()
	return o.note + ", " + strconv.Itoa(st.Routes) + " routes"
}

func joinLines(l []string) string { return strings.Join(l, "\n") }
