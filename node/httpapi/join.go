package httpapi

import (
	"net/http"

	"github.com/myconet/myconet/node/apitype"
)

func (h *apiHandler) invite(w http.ResponseWriter, r *http.Request) {
	var req apitype.InviteRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	v, err := h.api.Invite(r.Context(), req)
	reply(w, v, err)
}

func (h *apiHandler) join(w http.ResponseWriter, r *http.Request) {
	var req apitype.JoinRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Invite == "" {
		writeError(w, apitype.Errorf(apitype.CodeInvalid, "no invite given"))
		return
	}
	v, err := h.api.Join(r.Context(), req.Invite)
	reply(w, v, err)
}

func (h *apiHandler) names(w http.ResponseWriter, r *http.Request) {
	v, err := h.api.Names(r.Context())
	reply(w, v, err)
}

func (h *apiHandler) nameEdit(w http.ResponseWriter, r *http.Request) {
	var req apitype.NameRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	var (
		v   apitype.NameInfo
		err error
	)
	switch req.Op {
	case "set":
		v, err = h.api.NameSet(r.Context(), req.Name, req.Target)
	case "publish":
		v, err = h.api.NamePublish(r.Context(), req.Name, req.Target)
	case "resolve":
		v, err = h.api.NameResolve(r.Context(), req.Name)
	case "rm":
		err = h.api.NameRm(r.Context(), req.Name)
		v = apitype.NameInfo{Name: req.Name}
	default:
		err = apitype.Errorf(apitype.CodeInvalid, "names: op must be set, publish, resolve or rm, got %q", req.Op)
	}
	reply(w, v, err)
}
