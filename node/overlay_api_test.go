package node_test

import (
	"context"
	"fmt"

	"github.com/myconet/myconet/node/apitype"
)

// The overlay part of fakeAPI (httpapi_test.go).

func (f *fakeAPI) Ping(ctx context.Context, addr string, opts apitype.PingOptions) (apitype.PingResult, error) {
	if addr == "bad" {
		return apitype.PingResult{}, fmt.Errorf("%w: ping: %q is not an overlay address", apitype.ErrInvalid, addr)
	}
	res := apitype.PingResult{Addr: addr, Peer: "12D3KooWfake", Path: "direct"}
	for i := range opts.Count {
		res.Replies = append(res.Replies, apitype.PingReply{Seq: opts.Seq + i, Bytes: 64 + opts.Size, RTT: float64(opts.Timeout.Milliseconds())})
		res.Sent++
		res.Received++
	}
	return res, nil
}

func (f *fakeAPI) Routes(ctx context.Context) ([]apitype.RouteInfo, error) {
	return []apitype.RouteInfo{{Addr: "fd6d:7963::1", Peer: "12D3KooWfake", State: "ok", Path: "relayed via 12D3KooWrelay"}}, nil
}

func (f *fakeAPI) Firewall(ctx context.Context) (apitype.FirewallInfo, error) {
	return apitype.FirewallInfo{Rules: []string{"allow tcp 22"}}, nil
}

func (f *fakeAPI) FirewallAdd(ctx context.Context, rule string) (apitype.FirewallInfo, error) {
	return apitype.FirewallInfo{Rules: []string{"allow tcp 22", rule}}, nil
}

func (f *fakeAPI) FirewallRemove(ctx context.Context, rule string) (apitype.FirewallInfo, error) {
	return apitype.FirewallInfo{Rules: []string{}}, nil
}
