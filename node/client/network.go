package client

import (
	"context"
	"net/http"

	"github.com/myconet/myconet/node/apitype"
)

// Ping implements node.API.
func (c *Client) Ping(ctx context.Context, addr string, opts apitype.PingOptions) (apitype.PingResult, error) {
	var v apitype.PingResult
	req := apitype.PingRequest{Addr: addr, Count: opts.Count, Seq: opts.Seq, Size: opts.Size,
		IntervalMS: opts.Interval.Milliseconds(), TimeoutMS: opts.Timeout.Milliseconds()}
	return v, c.doJSON(ctx, http.MethodPost, "/overlay/ping", nil, req, &v)
}

// Routes implements node.API.
func (c *Client) Routes(ctx context.Context) ([]apitype.RouteInfo, error) {
	var v []apitype.RouteInfo
	return v, c.doJSON(ctx, http.MethodGet, "/overlay/routes", nil, nil, &v)
}

// Firewall implements node.API.
func (c *Client) Firewall(ctx context.Context) (apitype.FirewallInfo, error) {
	var v apitype.FirewallInfo
	return v, c.doJSON(ctx, http.MethodGet, "/overlay/firewall", nil, nil, &v)
}

// FirewallAdd implements node.API.
func (c *Client) FirewallAdd(ctx context.Context, rule string) (apitype.FirewallInfo, error) {
	var v apitype.FirewallInfo
	return v, c.doJSON(ctx, http.MethodPost, "/overlay/firewall", nil, apitype.FirewallRequest{Op: "add", Rule: rule}, &v)
}

// FirewallRemove implements node.API.
func (c *Client) FirewallRemove(ctx context.Context, rule string) (apitype.FirewallInfo, error) {
	var v apitype.FirewallInfo
	return v, c.doJSON(ctx, http.MethodPost, "/overlay/firewall", nil, apitype.FirewallRequest{Op: "remove", Rule: rule}, &v)
}

// Invite implements node.API.
func (c *Client) Invite(ctx context.Context, req apitype.InviteRequest) (apitype.InviteResult, error) {
	var v apitype.InviteResult
	return v, c.doJSON(ctx, http.MethodPost, "/invite", nil, req, &v)
}

// Join implements node.API.
func (c *Client) Join(ctx context.Context, invite string) (apitype.JoinResult, error) {
	var v apitype.JoinResult
	return v, c.doJSON(ctx, http.MethodPost, "/join", nil, apitype.JoinRequest{Invite: invite}, &v)
}

// Names implements node.API.
func (c *Client) Names(ctx context.Context) (apitype.NamesInfo, error) {
	var v apitype.NamesInfo
	return v, c.doJSON(ctx, http.MethodGet, "/names", nil, nil, &v)
}

func (c *Client) nameOp(ctx context.Context, op, name, target string) (apitype.NameInfo, error) {
	var v apitype.NameInfo
	return v, c.doJSON(ctx, http.MethodPost, "/names", nil, apitype.NameRequest{Op: op, Name: name, Target: target}, &v)
}

// NameSet implements node.API.
func (c *Client) NameSet(ctx context.Context, name, target string) (apitype.NameInfo, error) {
	return c.nameOp(ctx, "set", name, target)
}

// NameRm implements node.API.
func (c *Client) NameRm(ctx context.Context, name string) error {
	_, err := c.nameOp(ctx, "rm", name, "")
	return err
}

// NamePublish implements node.API.
func (c *Client) NamePublish(ctx context.Context, name, target string) (apitype.NameInfo, error) {
	return c.nameOp(ctx, "publish", name, target)
}

// NameResolve implements node.API.
func (c *Client) NameResolve(ctx context.Context, name string) (apitype.NameInfo, error) {
	return c.nameOp(ctx, "resolve", name, "")
}
