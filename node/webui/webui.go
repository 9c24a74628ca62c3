// Package webui is the Myconet web app: HTML pages (Go html/template, htmx,
// Pico.css, all embedded) that the daemon serves under /ui/ on its API
// listener. It talks to the node only through node.API, the interface the CLI
// uses, so every action a page offers is one the CLI has too.
//
// Security: the UI has the API's powers, so
//   - it answers only requests whose Host is localhost or a loopback IP (DNS
//     rebinding: a hostile name that resolves to 127.0.0.1 is refused);
//   - every page and call but the login page and the static files needs a
//     session cookie (HttpOnly, SameSite=Strict, Path=/ui/); a session comes
//     from a one-time login link (`myconet ui`) or the API token typed into the
//     login form;
//   - a request from another origin is refused: Origin, when present, must be
//     this origin, and Sec-Fetch-Site must be same-origin or none;
//   - every state-changing request (POST) carries the session's CSRF token
//     (header X-CSRF-Token, set by htmx from the page, or a form field);
//   - every answer carries a strict Content-Security-Policy (scripts, styles
//     and everything else from this origin only, no inline code, no framing).
//
// Package content is never served as a page of this origin: inline previews
// are limited to image, audio and video types, sent with nosniff and a
// sandboxing CSP; everything else opens in the gateway, on the package's own
// origin.
package webui

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/myconet/myconet/node/apitype"
)

//go:embed static
var staticFS embed.FS

const (
	// Prefix is the path under which the UI is served.
	Prefix = "/ui/"
	// CookieName is the session cookie's name, followed by "_<port>" when
	// the Host has a port: browsers share cookies between the ports of one
	// host, and two daemons on one machine must not log each other out.
	CookieName = "myco_ui"
	// CSRFHeader carries the session's CSRF token on htmx requests.
	CSRFHeader = "X-CSRF-Token"
	// csrfField is the form field of the CSRF token in plain forms.
	csrfField = "csrf"

	sessionIdle  = 24 * time.Hour
	loginCodeTTL = 10 * time.Minute
	// StartLinkTTL is how long the link the daemon prints at start works
	// (once): a person may open it long after starting the daemon.
	StartLinkTTL = 24 * time.Hour
	maxSessions  = 64
	maxCodes     = 64
)

// CSP is the Content-Security-Policy of every UI answer.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Options configures a UI.
type Options struct {
	// Token is the API's bearer token: it authorizes POST /ui/login-link
	// (what `myconet ui` calls) and is accepted by the login form. Empty
	// refuses every login.
	Token string
	Log   *slog.Logger
	// TempDir is where uploads are staged before they are added ("" = the
	// system's temporary directory). It must be on the node's machine. New
	// removes what a crash left there.
	TempDir string
	// MaxUpload is the most bytes one publish may upload (0 = 8 GiB).
	MaxUpload int64
	// Now is the clock (tests).
	Now func() time.Time
}

// UI is the web app's HTTP handler. Close stops its background jobs.
type UI struct {
	api  apitype.API
	opt  Options
	log  *slog.Logger
	mux  *http.ServeMux
	tmpl *templates

	ctx    context.Context // background jobs; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	sessions map[string]*session  // by SHA-256 of the cookie value
	codes    map[string]time.Time // SHA-256 of one-time login codes → expiry
	jobs     map[string]*job      // background actions by ID
	bw       []bwSample           // bandwidth samples, oldest first
	activity []activityItem       // actions done through the UI, newest last
	closed   bool
}

type session struct {
	csrf    string
	expires time.Time
}

// route is one UI route: public routes need no session; multipart routes
// check the CSRF token themselves (in the first form part).
type route struct {
	pattern   string
	fn        http.HandlerFunc
	public    bool
	multipart bool
}

// New returns the UI over api.
func New(api apitype.API, opt Options) *UI {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MaxUpload <= 0 {
		opt.MaxUpload = 8 << 30
	}
	ctx, cancel := context.WithCancel(context.Background())
	u := &UI{
		api:      api,
		opt:      opt,
		log:      opt.Log.With("component", "ui"),
		mux:      http.NewServeMux(),
		tmpl:     parseTemplates(),
		ctx:      ctx,
		cancel:   cancel,
		sessions: map[string]*session{},
		codes:    map[string]time.Time{},
		jobs:     map[string]*job{},
	}
	if opt.TempDir != "" {
		cleanStaging(opt.TempDir, u.log)
	}
	for _, rt := range u.routes() {
		rt := rt
		u.mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) {
			u.guard(rt, w, r)
		})
	}
	return u
}

// Close cancels running jobs (downloads, votes) and waits for them.
func (u *UI) Close() error {
	u.mu.Lock()
	u.closed = true
	u.mu.Unlock()
	u.cancel()
	u.wg.Wait()
	return nil
}

func (u *UI) routes() []route {
	return []route{
		{pattern: "GET /ui/static/{file}", fn: u.static, public: true},
		{pattern: "GET /ui/login", fn: u.loginPage, public: true},
		{pattern: "POST /ui/login", fn: u.loginForm, public: true},
		{pattern: "POST /ui/login-link", fn: u.loginLink, public: true},
		{pattern: "POST /ui/logout", fn: u.logout},
		{pattern: "GET /ui/{$}", fn: u.home},
		{pattern: "GET /ui/live", fn: u.live},
		{pattern: "GET /ui/search", fn: u.search},
		{pattern: "GET /ui/package/{cid}", fn: u.packagePage},
		{pattern: "GET /ui/package/{cid}/tree", fn: u.onPackage(u.packageTree)},
		{pattern: "GET /ui/package/{cid}/tally", fn: u.onPackage(u.packageTally)},
		{pattern: "GET /ui/package/{cid}/why", fn: u.onPackage(u.packageWhy)},
		{pattern: "POST /ui/package/{cid}/rule", fn: u.onPackage(u.packageRule)},
		{pattern: "POST /ui/package/{cid}/vote", fn: u.onPackage(u.packageVote)},
		{pattern: "POST /ui/package/{cid}/annotate", fn: u.onPackage(u.packageAnnotate)},
		{pattern: "POST /ui/package/{cid}/download", fn: u.onPackage(u.packageDownload)},
		{pattern: "POST /ui/package/{cid}/bookmark", fn: u.onPackage(u.packageBookmark)},
		{pattern: "POST /ui/package/{cid}/channel", fn: u.onPackage(u.packageChannel)},
		{pattern: "GET /ui/raw/{cid}/{path...}", fn: u.raw},
		{pattern: "GET /ui/job/{id}", fn: u.jobStatus},
		{pattern: "GET /ui/publish", fn: u.publishPage},
		{pattern: "POST /ui/publish", fn: u.publish, multipart: true},
		{pattern: "GET /ui/bookmarks", fn: u.bookmarksPage},
		{pattern: "POST /ui/bookmarks", fn: u.bookmarkAdd},
		{pattern: "GET /ui/bookmarks/version", fn: u.bookmarkVersion},
		{pattern: "POST /ui/bookmarks/remove", fn: u.bookmarkRemove},
		{pattern: "POST /ui/bookmarks/follow", fn: u.bookmarkFollow},
		{pattern: "GET /ui/library", fn: u.libraryPage},
		{pattern: "POST /ui/library/unpin", fn: u.libraryUnpin},
		{pattern: "POST /ui/library/gc", fn: u.libraryGC},
		{pattern: "GET /ui/network", fn: u.networkPage},
		{pattern: "POST /ui/network/connect", fn: u.networkConnect},
		{pattern: "POST /ui/network/firewall", fn: u.networkFirewall},
		{pattern: "POST /ui/network/ping", fn: u.networkPing},
		{pattern: "GET /ui/settings", fn: u.settingsPage},
		{pattern: "POST /ui/settings/quota", fn: u.settingsQuota},
		{pattern: "POST /ui/settings/config", fn: u.settingsConfig},
	}
}

// ServeHTTP implements http.Handler.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if !loopbackHost(r.Host) {
		http.Error(w, "forbidden: host "+quote(r.Host)+" is not a loopback address (the UI answers only on localhost)", http.StatusForbidden)
		return
	}
	if why := crossOrigin(r); why != "" {
		http.Error(w, "forbidden: "+why, http.StatusForbidden)
		return
	}
	u.mux.ServeHTTP(w, r)
}

// guard enforces the session and CSRF rules of rt, then serves it.
func (u *UI) guard(rt route, w http.ResponseWriter, r *http.Request) {
	if rt.public {
		rt.fn(w, r)
		return
	}
	s := u.session(r)
	if s == nil {
		if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
			// Back to this page (a deep link such as /ui/search?q=…) after logging in.
			http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		w.Header().Set("HX-Redirect", "/ui/login")
		http.Error(w, "not logged in: open the link `myconet ui` prints", http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !rt.multipart {
		tok := r.Header.Get(CSRFHeader)
		if tok == "" {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			tok = r.PostFormValue(csrfField)
		}
		if !validCSRF(s, tok) {
			http.Error(w, "forbidden: missing or wrong CSRF token (reload the page)", http.StatusForbidden)
			return
		}
	}
	rt.fn(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
}

// cookieName is CookieName with the port of r's Host.
func cookieName(r *http.Request) string {
	if _, port, err := net.SplitHostPort(r.Host); err == nil && port != "" && strings.Trim(port, "0123456789") == "" {
		return CookieName + "_" + port
	}
	return CookieName
}

type sessionKey struct{}

func sessionOf(r *http.Request) *session {
	s, _ := r.Context().Value(sessionKey{}).(*session)
	return s
}

func validCSRF(s *session, tok string) bool {
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.csrf)) == 1
}

// crossOrigin returns why r comes from another origin, or "".
func crossOrigin(r *http.Request) string {
	if o := r.Header.Get("Origin"); o != "" {
		ou, err := url.Parse(o) // "null" (a sandboxed or opaque origin) fails too
		if err != nil || (ou.Scheme != "http" && ou.Scheme != "https") || !strings.EqualFold(ou.Host, r.Host) {
			return "cross-origin request from " + quote(o) + " refused"
		}
	}
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default:
		// A cross-site link may open a page (it gets no cookie and lands on
		// the login page); nothing else may come from another site.
		if r.Method == http.MethodGet && r.Header.Get("Sec-Fetch-Mode") == "navigate" && r.Header.Get("Sec-Fetch-Dest") == "document" {
			return ""
		}
		return "request from another site (" + site + ") refused"
	}
	return ""
}

// loopbackHost reports whether host (a Host header) is localhost or a
// loopback IP, with or without a port.
func loopbackHost(host string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	} else {
		name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	}
	name = strings.ToLower(name)
	if name == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(name)
	return err == nil && ip.Zone() == "" && ip.Unmap().IsLoopback()
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("webui: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

func hashKey(s string) string {
	h := sha256.Sum256([]byte(s))
	return string(h[:])
}

// session returns r's live session, or nil.
func (u *UI) session(r *http.Request) *session {
	c, err := r.Cookie(cookieName(r))
	if err != nil || c.Value == "" {
		return nil
	}
	now := u.opt.Now()
	u.mu.Lock()
	defer u.mu.Unlock()
	k := hashKey(c.Value)
	s := u.sessions[k]
	if s == nil {
		return nil
	}
	if now.After(s.expires) {
		delete(u.sessions, k)
		return nil
	}
	s.expires = now.Add(sessionIdle)
	return s
}

// newSession starts a session and sets its cookie on w.
func (u *UI) newSession(w http.ResponseWriter, r *http.Request) {
	id := randomToken()
	now := u.opt.Now()
	u.mu.Lock()
	for k, s := range u.sessions {
		if now.After(s.expires) {
			delete(u.sessions, k)
		}
	}
	if len(u.sessions) >= maxSessions { // drop the one closest to expiry
		var oldest string
		for k, s := range u.sessions {
			if oldest == "" || s.expires.Before(u.sessions[oldest].expires) {
				oldest = k
			}
		}
		delete(u.sessions, oldest)
	}
	u.sessions[hashKey(id)] = &session{csrf: randomToken(), expires: now.Add(sessionIdle)}
	u.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: cookieName(r), Value: id, Path: Prefix,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}

// LoginLink is the answer of POST /ui/login-link.
type LoginLink struct {
	// Path is the one-time login path (/ui/login?code=…), valid for ten
	// minutes; the caller puts the API's origin in front of it.
	Path    string    `json:"path"`
	Expires time.Time `json:"expires"`
}

// loginLink mints a one-time login code for a caller with the API token.
func (u *UI) loginLink(w http.ResponseWriter, r *http.Request) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if u.opt.Token == "" || !strings.EqualFold(scheme, "Bearer") ||
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(u.opt.Token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="myconet"`)
		http.Error(w, "missing or wrong bearer token (see <home>/api.token)", http.StatusUnauthorized)
		return
	}
	_ = json.NewEncoder(w).Encode(u.NewLoginLink(loginCodeTTL))
}

// takeCode consumes a one-time login code.
func (u *UI) takeCode(code string) bool {
	if code == "" {
		return false
	}
	k := hashKey(code)
	u.mu.Lock()
	defer u.mu.Unlock()
	exp, ok := u.codes[k]
	delete(u.codes, k)
	return ok && !u.opt.Now().After(exp)
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	if code := r.URL.Query().Get("code"); code != "" {
		if u.takeCode(code) {
			u.newSession(w, r)
			http.Redirect(w, r, "/ui/", http.StatusSeeOther) // a clean URL: the code leaves the address bar
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		u.render(w, r, "login", loginData{Error: "This login link is expired or was already used. Run `myconet ui` for a new one, or paste the API token below."})
		return
	}
	next := nextPath(r.URL.Query().Get("next"))
	if u.session(r) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	u.render(w, r, "login", loginData{Next: next})
}

type loginData struct{ Error, Next string }

// nextPath returns p when it is a path of the UI (where to go after
// logging in), else /ui/: never another site (//evil.example, https://…).
func nextPath(p string) string {
	if !strings.HasPrefix(p, "/ui/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return "/ui/"
	}
	if u, err := url.Parse(p); err != nil || u.Host != "" || u.Scheme != "" {
		return "/ui/"
	}
	return p
}

func (u *UI) loginForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	tok := strings.TrimSpace(r.PostFormValue("token"))
	next := nextPath(r.PostFormValue("next"))
	if u.opt.Token == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(u.opt.Token)) != 1 {
		w.WriteHeader(http.StatusUnauthorized)
		u.render(w, r, "login", loginData{Next: next, Error: "Wrong token. It is the text in <home>/api.token; or run `myconet ui` for a login link."})
		return
	}
	u.newSession(w, r)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName(r)); err == nil {
		u.mu.Lock()
		delete(u.sessions, hashKey(c.Value))
		u.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName(r), Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// staticURL returns /ui/static/<name>?v=<hash of its content>.
func staticURL(name string) string {
	data, err := fs.ReadFile(staticFS, "static/"+name)
	if err != nil {
		return "/ui/static/" + name
	}
	h := sha256.Sum256(data)
	return "/ui/static/" + name + "?v=" + hex.EncodeToString(h[:6])
}

// static serves the embedded files (htmx, Pico.css, app.js, app.css).
func (u *UI) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	data, err := fs.ReadFile(staticFS, "static/"+name)
	if err != nil || strings.Contains(name, "LICENSE") {
		http.NotFound(w, r)
		return
	}
	switch {
	case strings.HasSuffix(name, ".js"):
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "private, max-age=86400") // addresses carry the content hash
	_, _ = w.Write(data)
}

// NewLoginLink mints a one-time login link valid for ttl (POST
// /ui/login-link answers one of ten minutes); the daemon prints one at start.
func (u *UI) NewLoginLink(ttl time.Duration) LoginLink {
	code := randomToken()
	now := u.opt.Now()
	exp := now.Add(ttl)
	u.mu.Lock()
	for k, e := range u.codes {
		if now.After(e) || len(u.codes) >= maxCodes {
			delete(u.codes, k)
		}
	}
	u.codes[hashKey(code)] = exp
	u.mu.Unlock()
	return LoginLink{Path: "/ui/login?code=" + code, Expires: exp.UTC()}
}
