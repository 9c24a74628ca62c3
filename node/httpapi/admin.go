package httpapi

import (
	"net/http"
	"time"

	"github.com/myconet/myconet/node/apitype"
)

// The overlay, repository and log routes of the HTTP API (see routes in httpapi.go).

func (h *apiHandler) overlayPing(w http.ResponseWriter, r *http.Request) {
	var req apitype.PingRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Addr == "" {
		writeError(w, apitype.Errorf(apitype.CodeInvalid, "no addr given"))
		return
	}
	v, err := h.api.Ping(r.Context(), req.Addr, apitype.PingOptions{
		Count: req.Count, Seq: req.Seq, Size: req.Size,
		Interval: time.Duration(req.IntervalMS) * time.Millisecond,
		Timeout:  time.Duration(req.TimeoutMS) * time.Millisecond,
	})
	reply(w, v, err)
}

func (h *apiHandler) overlayRoutes(w http.ResponseWriter, r *http.Request) {
	v, err := h.api.Routes(r.Context())
	if v == nil {
		v = []apitype.RouteInfo{}
	}
	reply(w, v, err)
}

func (h *apiHandler) firewall(w http.ResponseWriter, r *http.Request) {
	v, err := h.api.Firewall(r.Context())
	reply(w, v, err)
}

func (h *apiHandler) firewallEdit(w http.ResponseWriter, r *http.Request) {
	var req apitype.FirewallRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	var (
		v   apitype.FirewallInfo
		err error
	)
	switch req.Op {
	case "add":
		v, err = h.api.FirewallAdd(r.Context(), req.Rule)
	case "remove":
		v, err = h.api.FirewallRemove(r.Context(), req.Rule)
	default:
		err = apitype.Errorf(apitype.CodeInvalid, "firewall: op must be add or remove, got %q", req.Op)
	}
	reply(w, v, err)
}

// repoVerify checks the running daemon's store: a read transaction, so it
// runs beside the daemon's work.
func (h *apiHandler) repoVerify(w http.ResponseWriter, r *http.Request) {
	rv, ok := h.api.(RepoVerifier)
	if !ok {
		writeError(w, apitype.ErrNoDaemon)
		return
	}
	v, err := rv.VerifyRepo(r.Context())
	reply(w, v, err)
}

func (h *apiHandler) logGet(w http.ResponseWriter, r *http.Request) {
	lc, ok := h.api.(LogControl)
	if !ok {
		writeError(w, apitype.ErrNoDaemon)
		return
	}
	v, err := lc.LogSettings(r.Context())
	reply(w, v, err)
}

func (h *apiHandler) logSet(w http.ResponseWriter, r *http.Request) {
	var req apitype.LogRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	lc, ok := h.api.(LogControl)
	if !ok {
		writeError(w, apitype.ErrNoDaemon)
		return
	}
	v, err := lc.SetLog(r.Context(), req)
	reply(w, v, err)
}
