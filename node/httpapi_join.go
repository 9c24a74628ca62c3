package node

import "net/http"

func (h *apiHandler) invite(w http.ResponseWriter, r *http.Request) {
	var req InviteRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	v, err := h.api.Invite(r.Context(), req)
	reply(w, v, err)
}

func (h *apiHandler) join(w http.ResponseWriter, r *http.Request) {
	var req JoinRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Invite == "" {
		writeError(w, codedf(CodeInvalid, "no invite given"))
		return
	}
	v, err := h.api.Join(r.Context(), req.Invite)
	reply(w, v, err)
}
