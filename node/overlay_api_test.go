package node_test

import (
	"context"
	"fmt"

	"github.com/myconet/myconet/node"
)

// The overlay part of fakeAPI (httpapi_test.go).

func (f *fakeAPI) Ping(ctx context.Context, addr string, opts node.PingOptions) (node.PingResult, error) {
	if addr == "bad" {
		return node.PingResult{}, fmt.Errorf("%w: ping: %q is not an overlay address", node.ErrInvalid, addr)
	}
	res := node.PingResult{Addr: addr, Peer: "12D3KooWfake", Path: "direct"}
	for i := range opts.Count {
		res.Replies = append(res.Replies, node.PingReply{Seq: opts.Seq + i, Bytes: 64 + opts.Size, RTT: float64(opts.Timeout.Milliseconds())})
		res.Sent++
		res.Received++
	}
	return res, nil
}

func (f *fakeAPI) Routes(ctx context.Context) ([]node.RouteInfo, error) {
	return []node.RouteInfo{{Addr: "fd6d:7963::1", Peer: "12D3KooWfake", State: "ok", Path: "relayed via 12D3KooWrelay"}}, nil
}

func (f *fakeAPI) Firewall(ctx context.Context) (node.FirewallInfo, error) {
	return node.FirewallInfo{Rules: []string{"allow tcp 22"}}, nil
}

func (f *fakeAPI) FirewallAdd(ctx context.Context, rule string) (node.FirewallInfo, error) {
	return node.FirewallInfo{Rules: []string{"allow tcp 22", rule}}, nil
}

func (f *fakeAPI) FirewallRemove(ctx context.Context, rule string) (node.FirewallInfo, error) {
	return node.FirewallInfo{Rules: []string{}}, nil
}
