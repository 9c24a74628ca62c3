package overlaynet

// What the node's API asks of the overlay: pings, routes, the firewall's
// rules and the status line.

import (
	"context"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/overlay"
)

// ParseTarget reads addr as an overlay address to ping: one inside
// overlay.Prefix, without a zone, and not self.
func ParseTarget(addr string, self netip.Addr) (netip.Addr, error) {
	dst, err := netip.ParseAddr(addr)
	if err != nil || !dst.Is6() || !overlay.Prefix.Contains(dst) || dst.Zone() != "" {
		return netip.Addr{}, apitype.Errorf(apitype.CodeInvalid, "%q is not an overlay address (fd6d:7963::/32)", addr)
	}
	if dst == self {
		return netip.Addr{}, apitype.Errorf(apitype.CodeInvalid, "%s is this node's own address", dst)
	}
	return dst, nil
}

// Ping sends opts.Count echo requests to dst (see ParseTarget) through the
// Router and gathers the answers.
func (o *Service) Ping(ctx context.Context, dst netip.Addr, opts apitype.PingOptions) (apitype.PingResult, error) {
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
		res.Path = o.Path(p)
	}
	return res, nil
}

// routed reports whether dst has a resolved route.
func (o *Service) routed(dst netip.Addr) bool {
	return o.peerFor(dst) != ""
}

func (o *Service) peerFor(dst netip.Addr) peer.ID {
	for _, r := range o.router.Routes() {
		if r.Addr == dst && r.Peer != "" {
			id, _ := peer.Decode(r.Peer)
			return id
		}
	}
	return ""
}

// Routes lists the Router's routes and the connected peers it has none
// for, by address.
func (o *Service) Routes() []apitype.RouteInfo {
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
			ri.Path = o.Path(id)
		}
		seen[r.Addr] = true
		out = append(out, ri)
	}
	for _, id := range o.host.Network().Peers() {
		a := o.addrOf(id)
		if !a.IsValid() || seen[a] {
			continue
		}
		seen[a] = true
		out = append(out, apitype.RouteInfo{Addr: a.String(), Peer: id.String(), State: "connected", Path: o.Path(id)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	if out == nil {
		out = []apitype.RouteInfo{}
	}
	return out
}

// Relays lists the peers that hold a relay reservation for this node.
func (o *Service) Relays() []peer.ID {
	o.mu.Lock()
	defer o.mu.Unlock()
	relays := make([]peer.ID, 0, len(o.relays))
	for r := range o.relays {
		relays = append(relays, r)
	}
	return relays
}

// Status is the overlay line of the node's status.
func (o *Service) Status() string {
	st := o.router.Stats()
	return o.note + ", " + strconv.Itoa(st.Routes) + " routes"
}

// ParseRules parses the rules of overlay.firewall.
func ParseRules(texts []string) ([]overlay.Rule, error) {
	return overlay.ParseRules(strings.Join(texts, "\n"))
}

// SetRules gives the running Router the rules of overlay.firewall; rules
// that do not parse (the config's Validate refused them before) change
// nothing.
func (o *Service) SetRules(texts []string) {
	rules, err := ParseRules(texts)
	if err != nil {
		return
	}
	o.router.Firewall().SetRules(rules)
}

// OrderRules sorts rule texts into the order the firewall applies them (see
// overlay.Order), in canonical form; one that does not parse (Validate
// refuses those) stays, last.
func OrderRules(texts []string) []string {
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

// EditRules returns cur with the rule text added (add: it replaces any rule
// with the same protocol, port and source, or else joins the set) or
// removed (the rule with the same protocol, port and source, whatever its
// action), in the order the firewall applies them.
func EditRules(cur []string, text string, add bool) ([]string, error) {
	r, err := overlay.ParseRule(text)
	if err != nil {
		return nil, apitype.Wrap(apitype.CodeInvalid, err)
	}
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
			return nil, apitype.Errorf(apitype.CodeNotFound, "no rule for %s", r.String()[strings.Index(r.String(), " ")+1:])
		}
		next = append(next, r.String())
	}
	return OrderRules(next), nil
}
