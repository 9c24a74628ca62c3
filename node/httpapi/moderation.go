package httpapi

import (
	"net/http"
	"strconv"

	"github.com/myconet/myconet/node/apitype"
)

// The moderation routes of the HTTP API (see routes in httpapi.go).

func (h *apiHandler) vote(w http.ResponseWriter, r *http.Request) {
	var req apitype.VoteRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	v, err := h.api.Vote(r.Context(), req)
	reply(w, v, err)
}

func (h *apiHandler) retract(w http.ResponseWriter, r *http.Request) {
	var req apitype.RetractRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	v, err := h.api.Retract(r.Context(), req)
	reply(w, v, err)
}

func (h *apiHandler) annotate(w http.ResponseWriter, r *http.Request) {
	var req apitype.AnnotateRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	v, err := h.api.Annotate(r.Context(), req)
	reply(w, v, err)
}

func (h *apiHandler) tally(w http.ResponseWriter, r *http.Request) {
	ref, err := refParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	verify := false
	if s := r.URL.Query().Get("verify"); s != "" {
		if verify, err = strconv.ParseBool(s); err != nil {
			writeError(w, apitype.Errorf(apitype.CodeInvalid, "verify: want true or false, got %q", s))
			return
		}
	}
	v, err := h.api.Tally(r.Context(), ref, verify)
	reply(w, v, err)
}

func (h *apiHandler) moderationWhy(w http.ResponseWriter, r *http.Request) {
	ref, err := refParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	v, err := h.api.ModerationWhy(r.Context(), ref)
	reply(w, v, err)
}

func (h *apiHandler) moderationSet(w http.ResponseWriter, r *http.Request) {
	var req apitype.ModerationRuleRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	v, err := h.api.ModerationSet(r.Context(), req.Ref, req.Rule)
	reply(w, v, err)
}

func (h *apiHandler) moderationRules(w http.ResponseWriter, r *http.Request) {
	v, err := h.api.ModerationRules(r.Context())
	if v == nil {
		v = []apitype.ModerationRule{}
	}
	reply(w, v, err)
}
