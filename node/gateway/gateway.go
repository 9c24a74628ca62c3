// Package gateway is the read-only HTTP gateway that serves a node's
// packages to browsers. It needs no token; it answers only requests whose
// Host is localhost, a name under .localhost, or a loopback IP, and only GET
// and HEAD.
//
// Routes:
//
//   - http://<package-cid>.localhost:PORT/<path>: the package's own origin
//     and site (browsers resolve *.localhost to loopback), so one package's
//     scripts cannot read another's cookies or storage, and its own fetch,
//     localStorage and cookies work as on any web server. This is the form
//     PackageURL builds (node.GatewayURL). A CID in another base or version
//     redirects to the canonical label (CIDv1 base32), so a package has one
//     origin.
//   - http://<any loopback host>:PORT/myco/<package-cid>/<path> and the
//     former http://<package-cid>.myco.localhost:PORT/<path> redirect (301)
//     to that origin, like the IPFS subdomain gateway: a site served from a
//     shared origin would either break (under a CSP sandbox) or read the
//     other packages' data.
//   - /: a page listing the node's pinned packages; /search searches.
//
// A file is served with its type (by extension from mediaTypes, else the
// system table, else sniffed), Range and
// If-None-Match support, ETag "<file cid>" and immutable caching. A directory
// URL without a trailing slash redirects to one; a directory serves its
// index.html, or else, at the package root, redirects to the metadata's entry
// page, or else lists its entries. A symlink inside the package is followed
// (relative to its directory, at most maxLinkHops of them) as a web server
// with FollowSymLinks does; one that leads outside the package or loops
// answers 404 naming it. Errors are a small HTML page: 400 for a
// malformed CID or path (including ".." segments), 404 for an unknown
// package or path, 451 for content withheld by moderation, 500 otherwise.
//
// It reads packages through Source (a node implements it) and, when the
// source offers it, searches through its Search method. It imports
// node/apitype, node/httpx and the pure cores (metadata, mri), nothing of
// node.
package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/ipfs/go-cid"
	"github.com/myconet/myconet/metadata"
	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/httpx"
)

// gatewaySuffix is the host suffix of per-package origins:
// <package-cid>.localhost[:port]. Browsers treat "localhost" as a public
// suffix (an unknown top-level name), so each package origin is a site of
// its own: a page cannot widen a cookie to another package with
// "domain=localhost", as it could with a shared parent such as
// myco.localhost.
const gatewaySuffix = ".localhost"

// legacySuffix is the former per-package suffix, <cid>.myco.localhost; its
// hosts redirect to the package's current origin.
const legacySuffix = ".myco" + gatewaySuffix

// Source is what the gateway needs of a node; *node.Node implements it.
type Source interface {
	Stat(ctx context.Context, ref string) (apitype.PathStat, error)
	OpenFile(ctx context.Context, ref string) (apitype.ReadSeekCloser, apitype.PathStat, error)
	Ls(ctx context.Context, ref string) ([]apitype.Entry, error)
	Pins(ctx context.Context) ([]apitype.PinInfo, error)
}

// PackageURL builds http://<cid>.localhost[:port]/<escaped path>.
func PackageURL(pkg cid.Cid, port, p string) string {
	host := subdomainLabel(pkg) + gatewaySuffix
	if port != "" {
		host = net.JoinHostPort(host, port)
	}
	return "http://" + host + "/" + escapePath(strings.TrimPrefix(p, "/"))
}

// subdomainLabel is the CIDv1 base32 form of c, which fits a DNS label and
// survives lowercasing.
func subdomainLabel(c cid.Cid) string {
	if c.Version() == 0 {
		c = cid.NewCidV1(c.Type(), c.Hash())
	}
	return c.String()
}

// escapePath percent-escapes each segment of a slash-separated path.
func escapePath(p string) string {
	if p == "" {
		return ""
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// New returns the gateway over src, logging to log.
func New(src Source, log *slog.Logger) http.Handler {
	return &gateway{src: src, log: log}
}

type gateway struct {
	src Source
	log *slog.Logger
}

// gwError is an error page's status and message.
type gwError struct {
	status int
	msg    string
}

func (e *gwError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &gwError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		g.errorPage(w, r, &gwError{http.StatusMethodNotAllowed, "the gateway is read-only"})
		return
	}
	if !httpx.LoopbackHost(r.Host, true) {
		g.errorPage(w, r, &gwError{http.StatusForbidden, fmt.Sprintf("host %q is not a loopback address", r.Host)})
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	host := httpx.Hostname(r.Host)
	if label, ok := strings.CutSuffix(host, gatewaySuffix); ok {
		g.serveOrigin(w, r, label)
		return
	}

	p := r.URL.EscapedPath()
	switch {
	case p == "/":
		g.home(w, r)
	case p == "/search":
		g.search(w, r)
	case strings.HasPrefix(p, "/myco/"):
		escCID, sub, _ := strings.Cut(p[len("/myco/"):], "/")
		s, err := url.PathUnescape(escCID)
		if err != nil {
			g.errorPage(w, r, badRequest("malformed CID %q", escCID))
			return
		}
		c, err := packageCID(s)
		if err != nil {
			g.errorPage(w, r, err)
			return
		}
		g.toOrigin(w, r, c, sub)
	default:
		g.errorPage(w, r, &gwError{http.StatusNotFound, "not found; packages are at http://<cid>.localhost:PORT/"})
	}
}

// serveOrigin serves a request to <label>.localhost.
func (g *gateway) serveOrigin(w http.ResponseWriter, r *http.Request, label string) {
	sub := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	label, isLegacy := strings.CutSuffix(label, strings.TrimSuffix(legacySuffix, gatewaySuffix))
	c, err := packageCID(label)
	if err != nil {
		g.errorPage(w, r, err)
		return
	}
	if isLegacy || subdomainLabel(c) != label {
		g.toOrigin(w, r, c, sub)
		return
	}
	g.servePackage(w, r, c, sub)
}

// packageCID decodes the CID s names a package by.
func packageCID(s string) (cid.Cid, error) {
	c, err := cid.Decode(s)
	if err != nil || c.Type() == cid.Libp2pKey || strings.Contains(s, ".") {
		return cid.Undef, badRequest("%q is not a package CID", s)
	}
	return c, nil
}

// toOrigin redirects (301) to escSub on the package's own origin, keeping
// the query.
func (g *gateway) toOrigin(w http.ResponseWriter, r *http.Request, c cid.Cid, escSub string) {
	redirect(w, r, PackageURL(c, portOf(r.Host), "")+escSub)
}

// portOf returns the port of a Host header, or "".
func portOf(host string) string {
	_, port, err := net.SplitHostPort(host)
	if err != nil {
		return ""
	}
	return port
}

// servePackage serves escSub, the escaped path inside package root, on the
// package's own origin.
func (g *gateway) servePackage(w http.ResponseWriter, r *http.Request, root cid.Cid, escSub string) {
	const base = "/"
	ctx := r.Context()
	var segs []string
	for _, es := range strings.Split(escSub, "/") {
		s, err := url.PathUnescape(es)
		switch {
		case err != nil:
			g.errorPage(w, r, badRequest("malformed path segment %q", es))
			return
		case s == "." || s == "..":
			g.errorPage(w, r, badRequest("path segment %q is not allowed", s))
			return
		case strings.ContainsAny(s, "/\x00"):
			g.errorPage(w, r, badRequest("path segment %q contains a slash or NUL", s))
			return
		case s != "":
			segs = append(segs, s)
		}
	}
	plain := strings.Join(segs, "/")
	trailing := escSub == "" || strings.HasSuffix(escSub, "/")
	m, err := mri.New(root, plain)
	if err != nil {
		g.errorPage(w, r, apitype.Wrap(apitype.CodeInvalid, err))
		return
	}
	ref := m.String()
	st, err := g.src.Stat(ctx, ref)
	if (err != nil && apitype.CodeOf(err) == apitype.CodeNotFound && len(segs) > 1) || (err == nil && st.Type == "symlink") {
		// A symlink on the way, or at the end: follow it in the package.
		if rsegs, rst, lerr := g.followLinks(ctx, root, segs); lerr != nil {
			if !errors.Is(lerr, errNoLink) {
				err = lerr
			}
		} else {
			segs, st, err = rsegs, rst, nil
			plain = strings.Join(segs, "/")
			if m, err = mri.New(root, plain); err != nil {
				g.errorPage(w, r, apitype.Wrap(apitype.CodeInvalid, err))
				return
			}
			ref = m.String()
		}
	}
	if err != nil {
		g.errorPage(w, r, err)
		return
	}

	if st.Type != "dir" {
		if trailing && plain != "" {
			redirect(w, r, base+strings.TrimRight(escSub, "/"))
			return
		}
		g.serveFile(w, r, ref)
		return
	}
	if !trailing {
		redirect(w, r, base+escSub+"/")
		return
	}
	idx, err := m.WithPath(path.Join(plain, "index.html"))
	if err == nil {
		ist, err := g.src.Stat(ctx, idx.String())
		switch {
		case err == nil && ist.Type == "file":
			g.serveFile(w, r, idx.String())
			return
		case err != nil && !errors.Is(err, apitype.ErrNotFound):
			g.errorPage(w, r, err)
			return
		}
	}
	if plain == "" && st.Entry != "" {
		if e, err := m.WithPath(st.Entry); err == nil && e.Path != "" {
			redirect(w, r, base+escapePath(e.Path))
			return
		}
	}
	entries, err := g.src.Ls(ctx, ref)
	if err != nil {
		g.errorPage(w, r, err)
		return
	}
	g.listing(w, r, st, plain, entries)
}

// redirect answers 301 to target (an escaped path), keeping the query.
func redirect(w http.ResponseWriter, r *http.Request, target string) {
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, target, http.StatusMovedPermanently)
}

// serveFile serves the file ref names with its content type, immutable
// caching, Range and conditional requests.
func (g *gateway) serveFile(w http.ResponseWriter, r *http.Request, ref string) {
	f, st, err := g.src.OpenFile(r.Context(), ref)
	if err != nil {
		g.errorPage(w, r, err)
		return
	}
	defer f.Close()
	ctype := mediaType(st.Name)
	if ctype == "" {
		var buf [512]byte
		n, _ := io.ReadFull(f, buf[:])
		ctype = http.DetectContentType(buf[:n])
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			g.errorPage(w, r, err)
			return
		}
	}
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("Etag", `"`+st.CID.String()+`"`)
	hd.Set("Cache-Control", "public, max-age=29030400, immutable")
	if cd := mime.FormatMediaType("inline", map[string]string{"filename": st.Name}); st.Name != "" && cd != "" {
		hd.Set("Content-Disposition", cd) // "Save as" offers the file's own name
	}
	httpx.ServeContent(w, r, st.Name, f, func(w http.ResponseWriter, err error) { g.errorPage(w, r, err) })
}

var listingTmpl = template.Must(template.New("listing").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}}</title>
<style>body{font-family:sans-serif;margin:2em}td{padding:.2em 1em .2em 0}.s{text-align:right;color:#666}</style>
</head><body>
<h1>{{.Title}}</h1>
<p>{{if .Path}}/{{.Path}}{{else}}/{{end}} · <code>{{.CID}}</code></p>
<table>
{{if .Path}}<tr><td><a href="../">../</a></td><td></td></tr>{{end}}
{{range .Entries}}<tr><td><a href="{{.Href}}">{{.Name}}{{if .Dir}}/{{end}}</a></td><td class="s">{{.Size}}</td></tr>
{{end}}</table>
</body></html>
`))

type listingEntry struct {
	Name, Href, Size string
	Dir              bool
}

func (g *gateway) listing(w http.ResponseWriter, r *http.Request, st apitype.PathStat, plain string, entries []apitype.Entry) {
	data := struct {
		Title, Path, CID string
		Entries          []listingEntry
	}{Title: cmp.Or(st.Title, st.Package.String()), Path: plain, CID: st.CID.String()}
	for _, e := range entries {
		le := listingEntry{Name: e.Name, Href: url.PathEscape(e.Name), Dir: e.Type == "dir"}
		if le.Dir {
			le.Href += "/"
		} else {
			le.Size = apitype.FormatSize(e.Size)
		}
		data.Entries = append(data.Entries, le)
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "public, max-age=29030400, immutable")
	if st.CID.Defined() {
		hd.Set("Etag", `"DirIndex-`+st.CID.String()+`"`)
	}
	if match := r.Header.Get("If-None-Match"); match != "" && match == hd.Get("Etag") {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if err := listingTmpl.Execute(w, data); err != nil {
		g.log.Debug("listing", "err", err)
	}
}

var homeTmpl = template.Must(template.New("home").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Myconet gateway</title>
<style>body{font-family:sans-serif;margin:2em}td{padding:.2em 1em .2em 0}.s{text-align:right;color:#666}code{font-size:.85em}</style>
</head><body>
<h1>Myconet gateway</h1>
<form action="/search" method="get"><input name="q" size="40" placeholder="search the network"> <button>Search</button></form>
{{if .Packages}}<table>
{{range .Packages}}<tr><td><a href="{{.URL}}">{{.Title}}</a></td><td class="s">{{.Size}}</td><td>{{.Reasons}}</td><td><code>{{.Root}}</code></td></tr>
{{end}}</table>{{else}}<p>No pinned packages. Add one with <code>myconet add</code>.</p>{{end}}
</body></html>
`))

// home lists the pinned packages, linking to their own origins.
func (g *gateway) home(w http.ResponseWriter, r *http.Request) {
	pins, err := g.src.Pins(r.Context())
	if err != nil {
		g.errorPage(w, r, err)
		return
	}
	type pkg struct {
		Title, Size, Reasons, Root string
		URL                        template.URL
		reasons                    []string
	}
	byRoot := map[string]*pkg{}
	var list []*pkg
	for _, p := range pins {
		c, err := cid.Decode(p.Root)
		if err != nil {
			continue
		}
		if e := byRoot[p.Root]; e != nil {
			e.reasons = append(e.reasons, p.Reason)
			continue
		}
		e := &pkg{
			Title:   cmp.Or(p.Title, p.Root),
			Size:    apitype.FormatSize(p.Size),
			Root:    p.Root,
			URL:     template.URL(PackageURL(c, portOf(r.Host), "")),
			reasons: []string{p.Reason},
		}
		byRoot[p.Root] = e
		list = append(list, e)
	}
	slices.SortFunc(list, func(a, b *pkg) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Title), strings.ToLower(b.Title)), cmp.Compare(a.Root, b.Root))
	})
	for _, e := range list {
		slices.Sort(e.reasons)
		e.Reasons = strings.Join(e.reasons, ", ")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := homeTmpl.Execute(w, struct{ Packages []*pkg }{list}); err != nil {
		g.log.Debug("home", "err", err)
	}
}

var errorTmpl = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Status}} {{.Text}}</title>
<style>body{font-family:sans-serif;margin:2em}</style></head>
<body><h1>{{.Status}} {{.Text}}</h1><p>{{.Msg}}</p></body></html>
`))

// errorPage answers err as a small HTML page: a *gwError with its status,
// anything else with the status of its Code.
func (g *gateway) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	status := apitype.CodeOf(err).HTTPStatus()
	var ge *gwError
	if errors.As(err, &ge) {
		status = ge.status
	}
	if status >= 500 {
		g.log.Warn("gateway error", "path", r.URL.Path, "err", err)
	}
	hd := w.Header()
	for _, k := range []string{"Etag", "Cache-Control", "Content-Length", "Last-Modified"} {
		hd.Del(k)
	}
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = errorTmpl.Execute(w, struct {
		Status int
		Text   string
		Msg    string
	}{status, http.StatusText(status), httpx.OneLine(err.Error())})
}

// searcher is the part of a node the search page needs.
type searcher interface {
	Search(ctx context.Context, query string, opts apitype.SearchOptions, onResult func(apitype.SearchResult)) ([]apitype.SearchResult, error)
}

var searchTmpl = template.Must(template.New("search").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{if .Query}}{{.Query}} – {{end}}Myconet search</title>
<style>body{font-family:sans-serif;margin:2em;max-width:60em}li{margin:.8em 0}.m{color:#666;font-size:.9em}code{font-size:.85em}.e{color:#a00}</style>
</head><body>
<h1><a href="/">Myconet</a> search</h1>
<form action="/search" method="get"><input name="q" size="50" value="{{.Query}}" autofocus>
<select name="kind"><option value="">any kind</option>{{range .Kinds}}<option{{if eq . $.Kind}} selected{{end}}>{{.}}</option>{{end}}</select>
<button>Search</button></form>
<p class="m">Words must all match; "a phrase"; -word excludes; filters: kind: lang: tag: license: publisher:</p>
{{if .Error}}<p class="e">{{.Error}}</p>{{end}}
{{if .Query}}{{if .Results}}<ol>
{{range .Results}}<li><a href="{{.URL}}">{{.Title}}</a>
<div class="m">{{if .Kind}}{{.Kind}} · {{end}}{{.Size}} · {{.Holders}} holder{{if ne .Holders 1}}s{{end}} · score {{printf "%.2f" .Score}}</div>
{{if .Description}}<div>{{.Description}}</div>{{end}}
<div class="m"><code>{{.MRI}}</code> · publisher <code>{{.Publisher}}</code></div></li>
{{end}}</ol>{{else if not .Error}}<p>No results.</p>{{end}}{{end}}
</body></html>
`))

// search is the search page: /search?q=…[&kind=…], results linking to
// their packages' own origins. Everything shown is escaped by html/template;
// links are built from verified CIDs only.
func (g *gateway) search(w http.ResponseWriter, r *http.Request) {
	s, ok := g.src.(searcher)
	if !ok {
		g.errorPage(w, r, &gwError{http.StatusNotFound, "search is not available"})
		return
	}
	type result struct {
		apitype.SearchResult
		Size string
		URL  template.URL
	}
	data := struct {
		Query, Kind, Error string
		Kinds              []string
		Results            []result
	}{Query: r.URL.Query().Get("q"), Kind: r.URL.Query().Get("kind"), Kinds: metadata.Kinds()}
	status := http.StatusOK
	if strings.TrimSpace(data.Query) != "" {
		res, err := s.Search(r.Context(), data.Query, apitype.SearchOptions{Kind: data.Kind}, nil)
		if err != nil {
			data.Error = httpx.OneLine(err.Error())
			status = apitype.CodeOf(err).HTTPStatus()
		}
		for _, sr := range res {
			c, err := cid.Decode(sr.Package)
			if err != nil {
				continue
			}
			data.Results = append(data.Results, result{SearchResult: sr, Size: apitype.FormatSize(sr.Size), URL: template.URL(PackageURL(c, portOf(r.Host), ""))})
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := searchTmpl.Execute(w, data); err != nil {
		g.log.Debug("search page", "err", err)
	}
}
