package node

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// HTTP API wire details shared with node/client.
const (
	// APIPrefix is the path prefix of every API endpoint but /metrics.
	APIPrefix = "/api/v1"

	// HeaderType tells a get response's kind: "file" (raw bytes) or "dir" (a tar stream).
	HeaderType = "X-Myco-Type"
	// HeaderSize carries the total size of a get response's files when known.
	HeaderSize = "X-Myco-Size"
	// TrailerError and TrailerCode report an error that happened after a
	// streamed response (cat, get, export) had started; they are HTTP trailers,
	// declared in the response's Trailer header.
	TrailerError = "X-Myco-Error"
	TrailerCode  = "X-Myco-Error-Code"

	// ContentTypeNDJSON is the type of the progress streams (add, site get, fetch).
	ContentTypeNDJSON = "application/x-ndjson"
	// ContentTypeCAR is the type of export and import bodies.
	ContentTypeCAR = "application/vnd.ipld.car"

	maxJSONBody = 1 << 20
)

// ErrorBody is the JSON body of an API error, and of the error line that ends
// a failed add stream.
type ErrorBody struct {
	Error string `json:"error"`
	Code  Code   `json:"code"`
}

// ProgressLine is one line of the NDJSON streams that POST /api/v1/add,
// /api/v1/site/get and /api/v1/fetch return: exactly one of Progress, Result
// or Error is set. The last line holds Result or Error.
type ProgressLine[T any] struct {
	Progress *Progress `json:"progress,omitempty"`
	Result   *T        `json:"result,omitempty"`
	Error    string    `json:"error,omitempty"`
	Code     Code      `json:"code,omitempty"`
}

// AddLine is a line of the add stream.
type AddLine = ProgressLine[AddResult]

// SiteGetLine is a line of the site get stream.
type SiteGetLine = ProgressLine[PackageInfo]

// FetchLine is a line of the fetch stream.
type FetchLine = ProgressLine[FetchResult]

// FetchResult is the outcome of POST /api/v1/fetch: what the node fetched
// from the network to hold the package a ref names (all zero when it
// already held it, or runs offline).
type FetchResult struct {
	Fetched   bool  `json:"fetched"`
	Bytes     int64 `json:"bytes"`
	Blocks    int64 `json:"blocks"`
	Providers int   `json:"providers"`
}

// Request bodies and small responses of the API.
type (
	// BookmarkRequest is the body of POST /api/v1/bookmarks.
	BookmarkRequest struct {
		Name   string `json:"name"`
		Ref    string `json:"ref"`
		Follow bool   `json:"follow,omitempty"` // follow the channel Ref names
		Force  bool   `json:"force,omitempty"`  // replace a bookmark of that name
	}
	// QuotaRequest is the body of POST /api/v1/quota.
	QuotaRequest struct {
		Resource string `json:"resource"`
		Value    string `json:"value"`
	}
	// ConfigValue is the body of POST /api/v1/config and the answer of
	// GET /api/v1/config/{key}.
	ConfigValue struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	// ConfigText is the answer of GET /api/v1/config.
	ConfigText struct {
		Text string `json:"text"`
	}
	// URLResponse is the answer of GET /api/v1/open.
	URLResponse struct {
		URL string `json:"url"`
		// Stale is set when the network could not resolve the channel and URL
		// comes from the last resolution a followed bookmark kept, at
		// ResolvedAt: the channel may point elsewhere by now.
		Stale      bool      `json:"stale,omitempty"`
		ResolvedAt time.Time `json:"resolved_at,omitzero"`
	}
	// RefRequest is the body of POST /api/v1/site/get and /api/v1/fetch.
	RefRequest struct {
		Ref string `json:"ref"`
	}
	// ConnectRequest is the body of POST /api/v1/peers/connect.
	ConnectRequest struct {
		Addr string `json:"addr"` // a multiaddr ending in /p2p/<peer-id>
	}
	// ProvidersResponse is the answer of GET /api/v1/providers.
	ProvidersResponse struct {
		Providers []ProviderInfo `json:"providers"`
	}
	// PublishRequest is the body of POST /api/v1/publish.
	PublishRequest struct {
		Channel string `json:"channel"`
		Ref     string `json:"ref"`
	}
)

// progressLineInterval throttles progress lines to about ten a second.
const progressLineInterval = 100 * time.Millisecond

// The optional interfaces the API handler uses when its API offers them
// (*Node does): random access for cat (Range requests) and file or tar
// streams for get.
type (
	fileOpener interface {
		OpenFile(ctx context.Context, ref string) (ReadSeekCloser, PathStat, error)
	}
	treeSource interface {
		fileOpener
		Stat(ctx context.Context, ref string) (PathStat, error)
		WriteTar(ctx context.Context, ref string, w io.Writer) error
	}
	// fetcher brings what a ref names into the local store from the
	// network, reporting progress (get, cat and the rest fetch too, but
	// silently, inside their first call).
	fetcher interface {
		fetchForAPI(ctx context.Context, ref string, progress func(Progress)) (FetchResult, error)
	}
)

// NewAPIHandler returns the HTTP API (JSON under /api/v1/, and /metrics) over
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
func NewAPIHandler(api API, token string, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &apiHandler{
		api:   api,
		token: []byte(token),
		log:   log.With("component", "api"),
		mux:   http.NewServeMux(),
	}
	if ms, ok := api.(interface{ nodeMetrics() *metrics }); ok {
		h.m = ms.nodeMetrics()
	} else {
		h.m = newMetrics(statsCollector{api: api})
	}
	for _, rt := range h.routes() {
		h.mux.HandleFunc(rt.pattern, rt.fn)
	}
	return h
}

// APIRoutes lists the patterns of every route NewAPIHandler serves, as
// "METHOD /path" (for documentation checks).
func APIRoutes() []string {
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
	api   API
	token []byte
	log   *slog.Logger
	mux   *http.ServeMux
	m     *metrics // the registry /metrics serves; counts requests
}

func (h *apiHandler) routes() []apiRoute {
	p := APIPrefix
	return []apiRoute{
		{"GET " + p + "/id", h.id},
		{"GET " + p + "/status", h.status},
		{"POST " + p + "/add", h.add},
		{"GET " + p + "/info", h.info},
		{"GET " + p + "/ls", h.ls},
		{"GET " + p + "/cat", h.cat},
		{"GET " + p + "/get", h.get},
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
		{"GET " + p + "/names", h.names}, // names_local.go
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
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		path := pattern
		if path == "" {
			path = "unmatched"
		}
		h.m.apiRequests.WithLabelValues(path, codeLabel(sw.statusCode())).Inc()
	}()
	w = sw

	if !loopbackHost(r.Host, false) {
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
		code := CodeNotFound
		msg := fmt.Sprintf("api: no endpoint %s", r.URL.Path)
		if rec.status == http.StatusMethodNotAllowed {
			code, msg = CodeInvalid, fmt.Sprintf("api: method %s not allowed on %s", r.Method, r.URL.Path)
		}
		writeErrorStatus(w, rec.status, code, msg)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// errForbidden and errUnauthorized are API-only refusals, with codes of
// their own (a 401 that said "invalid" misled scripts).
var (
	errForbidden    = &statusError{CodeForbidden, "forbidden", http.StatusForbidden}
	errUnauthorized = &statusError{CodeUnauthorized, "api: missing or wrong bearer token (see <home>/api.token)", http.StatusUnauthorized}
)

// statusError is an error with a Code, answered with a status other than the
// code's.
type statusError struct {
	code   Code
	msg    string
	status int
}

func (e *statusError) Error() string   { return e.msg }
func (e *statusError) ErrorCode() Code { return e.code }

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

// loopbackHost reports whether host (a Host header, with or without port) is
// localhost, a loopback IP, or, when sub is set, a name under .localhost.
func loopbackHost(host string, sub bool) bool {
	name := hostname(host)
	if name == "" {
		return false
	}
	if name == "localhost" || (sub && strings.HasSuffix(name, ".localhost")) {
		return true
	}
	ip, err := netip.ParseAddr(name)
	return err == nil && ip.Unmap().IsLoopback()
}

// hostname strips the port and IPv6 brackets from host and lowercases it.
func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// sameLoopbackOrigin reports whether origin is http(s)://host where host is
// the request's (loopback) Host.
func sameLoopbackOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "" {
		return false
	}
	return strings.EqualFold(u.Host, host) && loopbackHost(u.Host, false)
}

// writeError answers err as JSON with its code's status.
func writeError(w http.ResponseWriter, err error) {
	status := CodeOf(err).HTTPStatus()
	var se *statusError
	if errors.As(err, &se) {
		status = se.status
	}
	writeErrorStatus(w, status, CodeOf(err), err.Error())
}

func writeErrorStatus(w http.ResponseWriter, status int, code Code, msg string) {
	hd := w.Header()
	for _, k := range []string{"Trailer", HeaderType, HeaderSize, "Etag", "Content-Disposition", "Last-Modified", "Content-Encoding", "Content-Length"} {
		hd.Del(k)
	}
	hd.Set("Content-Type", "application/json")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(ErrorBody{Error: oneLine(msg), Code: code})
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
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
			return Errorf(CodeInvalid, "request body larger than %d bytes", mbe.Limit)
		}
		return Errorf(CodeInvalid, "request body: %v", err)
	}
	if dec.More() {
		return Errorf(CodeInvalid, "request body: more than one JSON value")
	}
	return nil
}

// refParam returns the required query parameter "ref".
func refParam(r *http.Request) (string, error) {
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		return "", Errorf(CodeInvalid, "missing query parameter ref")
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
