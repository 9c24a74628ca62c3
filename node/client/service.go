package client

import (
	"context"
	"net"
	"net/http"
	"net/netip"

	"github.com/myconet/myconet/node/apitype"
)

// LogSettings returns the daemon's log level and access-log switch.
func (c *Client) LogSettings(ctx context.Context) (apitype.LogSettings, error) {
	var v apitype.LogSettings
	return v, c.doJSON(ctx, http.MethodGet, "/log", nil, nil, &v)
}

// SetLog changes the daemon's log level or access log at run time.
func (c *Client) SetLog(ctx context.Context, req apitype.LogRequest) (apitype.LogSettings, error) {
	var v apitype.LogSettings
	return v, c.doJSON(ctx, http.MethodPost, "/log", nil, req, &v)
}

// loopbackFor turns an API bound to every address (0.0.0.0:5190 in a
// container, [::]:5190) into the loopback address of the same family, which
// the daemon both listens on and accepts as Host.
func loopbackFor(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		if ip.Is4() {
			return net.JoinHostPort("127.0.0.1", port)
		}
		return net.JoinHostPort("::1", port)
	}
	return addr
}

// VerifyRepo asks the daemon to check its store (store.DB.Verify).
func (c *Client) VerifyRepo(ctx context.Context) (apitype.VerifyReport, error) {
	var v apitype.VerifyReport
	return v, c.doJSON(ctx, http.MethodPost, "/repo/verify", nil, nil, &v)
}
