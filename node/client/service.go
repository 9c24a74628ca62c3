package client

import (
	"context"
	"net/http"

	"github.com/myconet/myconet/node"
)

// LogSettings returns the daemon's log level and access-log switch.
func (c *Client) LogSettings(ctx context.Context) (node.LogSettings, error) {
	var v node.LogSettings
	return v, c.doJSON(ctx, http.MethodGet, "/log", nil, nil, &v)
}

// SetLog changes the daemon's log level or access log at run time.
func (c *Client) SetLog(ctx context.Context, req node.LogRequest) (node.LogSettings, error) {
	var v node.LogSettings
	return v, c.doJSON(ctx, http.MethodPost, "/log", nil, req, &v)
}
