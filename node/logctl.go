package node

// Run-time control of the daemon's logs: the level (a slog.LevelVar the
// daemon's handler reads, changed through POST /api/v1/log), the access log
// of the API and the gateway, and peer connect/disconnect lines at debug.

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/myconet/myconet/node/apitype"
)

// LogSettings reports the running daemon's log settings.
func (n *Node) LogSettings(ctx context.Context) (apitype.LogSettings, error) {
	n.mu.Lock()
	online := n.online
	n.mu.Unlock()
	if !online {
		return apitype.LogSettings{}, apitype.Errorf(apitype.CodeNoDaemon, "start one with `myconet daemon`")
	}
	s := apitype.LogSettings{Level: "info", Access: n.accessOn.Load()}
	if n.logLevel != nil {
		s.Level = strings.ToLower(n.logLevel.Level().String())
	}
	return s, nil
}

// SetLog changes the running daemon's log level and access log. A level
// change needs Config.LogLevel (the daemon sets it).
func (n *Node) SetLog(ctx context.Context, req apitype.LogRequest) (apitype.LogSettings, error) {
	if _, err := n.LogSettings(ctx); err != nil {
		return apitype.LogSettings{}, err
	}
	if req.Level != "" {
		var l slog.Level
		if err := l.UnmarshalText([]byte(req.Level)); err != nil {
			return apitype.LogSettings{}, apitype.Errorf(apitype.CodeInvalid, "log: level: want debug, info, warn or error, got %q", req.Level)
		}
		if n.logLevel == nil {
			return apitype.LogSettings{}, apitype.Errorf(apitype.CodeInvalid, "log: this node's level is fixed (no Config.LogLevel)")
		}
		old := n.logLevel.Level()
		n.logLevel.Set(l)
		n.log.Log(ctx, max(l, old), "log level changed", "from", old, "to", l)
	}
	if req.Access != nil {
		n.accessOn.Store(*req.Access)
		n.log.Info("access log", "on", *req.Access)
	}
	return n.LogSettings(ctx)
}

// accessLog writes one line for a served request when the access log is on.
// It never logs headers (the API token travels in one).
func (n *Node) accessLog(server string, r *http.Request, code int, bytes int64, d time.Duration) {
	if !n.accessOn.Load() {
		return
	}
	n.baseLog.LogAttrs(r.Context(), slog.LevelInfo, "access",
		slog.String("component", "access"), slog.String("server", server),
		slog.String("remote", r.RemoteAddr), slog.String("host", r.Host),
		slog.String("method", r.Method), slog.String("uri", r.URL.RequestURI()),
		slog.Int("status", code), slog.Int64("bytes", bytes),
		slog.Duration("duration", d), slog.String("agent", r.UserAgent()))
}
