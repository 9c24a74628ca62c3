// Package httpapi serves a node's HTTP API: JSON under /api/v1/ (with
// NDJSON streams for progress and search), /metrics and /debug/pprof, over
// any apitype.API, behind a bearer token and loopback Host and Origin checks
// (see New). docs/openapi.yaml describes every route; node/client speaks it.
//
// The handler needs only apitype.API. What a plain API lacks it asks for
// through small optional interfaces (capabilities.go) that *node.Node
// offers: random access and tar streams, its metrics registry, fetching
// with progress, search counts, repository checks and log control.
//
// It imports node/apitype, node/fdpass, node/httpx and node/metrics,
// nothing of node.
package httpapi

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"net/url"
	"strings"
	"time"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/httpx"
	"github.com/myconet/myconet/node/metrics"
)

// HTTP API wire details shared with node/client.
const (
	maxJSONBody = 1 << 20
)

// progressLineInterval throttles progress lines to about ten a second.
const progressLineInterval = 100 * time.Millisecond

// New returns the HTTP API (JSON under /api/v1/, and /metrics) over
// api. docs/openapi.yaml describes every endpoint.
//
// Every request must carry "Authorization: Bearer <token>"; an empty token
// refuses every request. That includes /metrics: configure the scraper with
// the token file (Prometheus: authorization.credentials_file). To defeat DNS
// rebinding and cross-site requests, a request is refused (403) unless its
// Host is localhost or a loopback IP, and, when it carries an Origin, that
// origin is the same loopback host and port as Host. So the API cannot be used
// from another machine even when it listens on a public address, and pages a
// gateway serves (another origin) cannot call it.
//
// Errors are {"error": "<one line>", "code": "<Code>"} with the status of
// Code.HTTPStatus. Streams that fail after they began (cat, get, export)
// report the error in the trailers X-Myco-Error and X-Myco-Error-Code; the add
// stream reports it in its last line.
//
// /metrics serves the API's own registry when it offers one (MetricsSource,
// as a node does); otherwise the handler builds one with the Go and process
// collectors, its request counters and the API's store numbers, but no
// myconet_build_info (the build is the node's to name).
func New(api apitype.API, token string, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &apiHandler{
		api:   api,
		token: []byte(token),
		log:   log.With("component", "api"),
		mux:   http.NewServeMux(),
	}
	if ms, ok := api.(MetricsSource); ok {
		h.m = ms.Metrics()
	} else {
		h.m = metrics.New(nil, metrics.Stats{API: api})
	}
	for _, rt := range h.routes() {
		h.mux.HandleFunc(rt.pattern, rt.fn)
	}
	return h
}

// Routes lists the patterns of every route New serves, as
// "METHOD /path" (for documentation checks).
func Routes() []string {
	var h apiHandler
	rs := h.routes()
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.pattern
	}
	return out
}

type apiRoute struct {
	pattern string
	fn      http.HandlerFunc
}

type apiHandler struct {
	api   apitype.API
	token []byte
	log   *slog.Logger
	mux   *http.ServeMux
	m     *metrics.Metrics // the registry /metrics serves; counts requests
}

func (h *apiHandler) routes() []apiRoute {
	p := apitype.APIPrefix
	return []apiRoute{
		{"GET " + p + "/id", h.id},
		{"GET " + p + "/status", h.status},
		{"POST " + p + "/add", h.add},
		{"GET " + p + "/info", h.info},
		{"GET " + p + "/ls", h.ls},
		{"GET " + p + "/cat", h.cat},
		{"GET " + p + "/get", h.get},
		{"POST " + p + "/get/fd", h.getFD}, // over the Unix socket only
		{"GET " + p + "/pins", h.pins},
		{"POST " + p + "/pins/rm", h.unpin},
		{"POST " + p + "/gc", h.gc},
		{"GET " + p + "/export", h.export},
		{"POST " + p + "/import", h.importCAR},
		{"GET " + p + "/bookmarks", h.bookmarks},
		{"POST " + p + "/bookmarks", h.bookmarkAdd},
		{"DELETE " + p + "/bookmarks/{name}", h.bookmarkRm},
		{"POST " + p + "/bookmarks/{name}/follow", h.bookmarkFollow},
		{"GET " + p + "/open", h.open},
		{"GET " + p + "/quota", h.quota},
		{"POST " + p + "/quota", h.setQuota},
		{"GET " + p + "/config", h.configShow},
		{"GET " + p + "/config/{key}", h.configGet},
		{"POST " + p + "/config", h.configSet},
		{"GET " + p + "/peers", h.peers},
		{"POST " + p + "/peers/connect", h.connect},
		{"GET " + p + "/providers", h.providers},
		{"POST " + p + "/site/get", h.siteGet},
		{"POST " + p + "/fetch", h.fetch},
		{"POST " + p + "/publish", h.publish},
		{"GET " + p + "/channels", h.channels},
		{"GET " + p + "/search", h.search},
		{"POST " + p + "/moderation/vote", h.vote},
		{"POST " + p + "/moderation/annotate", h.annotate},
		{"GET " + p + "/moderation/tally", h.tally},
		{"GET " + p + "/moderation/why", h.moderationWhy},
		{"GET " + p + "/moderation/rules", h.moderationRules},
		{"POST " + p + "/moderation/rules", h.moderationSet},
		{"POST " + p + "/moderation/retract", h.retract},
		{"POST " + p + "/overlay/ping", h.overlayPing},
		{"GET " + p + "/overlay/routes", h.overlayRoutes},
		{"GET " + p + "/overlay/firewall", h.firewall},
		{"POST " + p + "/overlay/firewall", h.firewallEdit},
		{"POST " + p + "/invite", h.invite}, // httpapi_join.go
		{"POST " + p + "/join", h.join},
		{"GET " + p + "/names", h.names}, // node/namesvc
		{"POST " + p + "/names", h.nameEdit},
		{"POST " + p + "/repo/verify", h.repoVerify},
		{"GET " + p + "/log", h.logGet},
		{"POST " + p + "/log", h.logSet},
		{"GET /metrics", h.metrics},
		// Go's profiler, as Kubo offers it: `go tool pprof` with the token
		// (see docs/openapi.yaml).
		{"GET /debug/pprof/", pprof.Index},
		{"GET /debug/pprof/profile", pprof.Profile},
		{"GET /debug/pprof/trace", pprof.Trace},
	}
}

func (h *apiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, pattern := h.mux.Handler(r)
	sw := &httpx.StatusWriter{ResponseWriter: w}
	defer func() {
		path := pattern
		if path == "" {
			path = "unmatched"
		}
		h.m.APIRequests.WithLabelValues(path, metrics.CodeLabel(sw.StatusCode())).Inc()
	}()
	w = sw

	if !httpx.LoopbackHost(r.Host, false) {
		writeError(w, fmt.Errorf("%w: api: host %q is not a loopback address", errForbidden, r.Host))
		return
	}
	if o := r.Header.Get("Origin"); o != "" && !sameLoopbackOrigin(o, r.Host) {
		writeError(w, fmt.Errorf("%w: api: cross-origin request from %q refused", errForbidden, o))
		return
	}
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="myconet"`)
		writeError(w, errUnauthorized)
		return
	}
	if pattern == "" {
		// Let the mux decide between 404 and 405 (with Allow), then answer in JSON.
		var rec headerRecorder
		h.mux.ServeHTTP(&rec, r)
		if rec.status/100 == 3 { // the mux cleans paths by redirecting
			w.Header().Set("Location", rec.header.Get("Location"))
			w.WriteHeader(rec.status)
			return
		}
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		code := apitype.CodeNotFound
		msg := fmt.Sprintf("api: no endpoint %s", r.URL.Path)
		if rec.status == http.StatusMethodNotAllowed {
			code, msg = apitype.CodeInvalid, fmt.Sprintf("api: method %s not allowed on %s", r.Method, r.URL.Path)
		}
		writeErrorStatus(w, rec.status, code, msg)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// errForbidden and errUnauthorized are API-only refusals, with codes of
// their own (a 401 that said "invalid" misled scripts).
var (
	errForbidden    = &statusError{apitype.CodeForbidden, "forbidden", http.StatusForbidden}
	errUnauthorized = &statusError{apitype.CodeUnauthorized, "api: missing or wrong bearer token (see <home>/api.token)", http.StatusUnauthorized}
)

// statusError is an error with a Code, answered with a status other than the
// code's.
type statusError struct {
	code   apitype.Code
	msg    string
	status int
}

func (e *statusError) Error() string           { return e.msg }
func (e *statusError) ErrorCode() apitype.Code { return e.code }

func (h *apiHandler) authorized(r *http.Request) bool {
	if len(h.token) == 0 {
		return false
	}
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), h.token) == 1
}

// sameLoopbackOrigin reports whether origin is http(s)://host where host is
// the request's (loopback) Host.
func sameLoopbackOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "" {
		return false
	}
	return strings.EqualFold(u.Host, host) && httpx.LoopbackHost(u.Host, false)
}

// writeError answers err as JSON with its code's status.
func writeError(w http.ResponseWriter, err error) {
	status := apitype.CodeOf(err).HTTPStatus()
	var se *statusError
	if errors.As(err, &se) {
		status = se.status
	}
	writeErrorStatus(w, status, apitype.CodeOf(err), err.Error())
}

func writeErrorStatus(w http.ResponseWriter, status int, code apitype.Code, msg string) {
	hd := w.Header()
	for _, k := range []string{"Trailer", apitype.HeaderType, apitype.HeaderSize, "Etag", "Content-Disposition", "Last-Modified", "Content-Encoding", "Content-Length"} {
		hd.Del(k)
	}
	hd.Set("Content-Type", "application/json")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apitype.ErrorBody{Error: httpx.OneLine(msg), Code: code})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

// readJSON decodes a size-limited JSON body into v.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apitype.Errorf(apitype.CodeInvalid, "request body larger than %d bytes", mbe.Limit)
		}
		return apitype.Errorf(apitype.CodeInvalid, "request body: %v", err)
	}
	if dec.More() {
		return apitype.Errorf(apitype.CodeInvalid, "request body: more than one JSON value")
	}
	return nil
}

// refParam returns the required query parameter "ref".
func refParam(r *http.Request) (string, error) {
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		return "", apitype.Errorf(apitype.CodeInvalid, "missing query parameter ref")
	}
	return ref, nil
}

// reply answers v or err.
func reply[T any](w http.ResponseWriter, v T, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, v)
}
