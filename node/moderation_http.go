package node

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
)

// The moderation routes of the HTTP API (see routes in httpapi.go).

func (h *apiHandler) vote(w http.ResponseWriter, r *http.Request) {
	var req VoteRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	v, err := h.api.Vote(r.Context(), req)
	reply(w, v, err)
}

func (h *apiHandler) retract(w http.ResponseWriter, r *http.Request) {
	var req RetractRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	v, err := h.api.Retract(r.Context(), req)
	reply(w, v, err)
}

func (h *apiHandler) annotate(w http.ResponseWriter, r *http.Request) {
	var req AnnotateRequest
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
			writeError(w, codedf(CodeInvalid, "verify: want true or false, got %q", s))
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
	var req ModerationRuleRequest
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
		v = []ModerationRule{}
	}
	reply(w, v, err)
}

// moderationMetrics adds the moderation counters of a running daemon to
// /metrics.
func (h *apiHandler) moderationMetrics(ctx context.Context, b *bytes.Buffer) {
	st, err := h.api.Status(ctx)
	if err != nil {
		return
	}
	m := st.Moderation
	counter := func(name, help string, v int64) {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	counter("myconet_moderation_votes_accepted_total", "Votes this node counted as an aggregator.", m.VotesAccepted)
	counter("myconet_moderation_annotations_accepted_total", "Annotations this node kept as an aggregator.", m.AnnotationsAccepted)
	counter("myconet_moderation_tallies_served_total", "Tallies this node signed.", m.TalliesServed)
	counter("myconet_moderation_messages_total", "Moderation protocol requests sent and received.", m.Messages)
	counter("myconet_moderation_malformed_total", "Moderation requests reset as malformed.", m.Malformed)
	keys := make([]string, 0, len(m.Rejected))
	for k := range m.Rejected {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString("# HELP myconet_moderation_rejected_total Votes, annotations and tallies refused, by kind/reason.\n")
	b.WriteString("# TYPE myconet_moderation_rejected_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(b, "myconet_moderation_rejected_total{reason=\"%s\"} %d\n", promEscape(k), m.Rejected[k])
	}
}
