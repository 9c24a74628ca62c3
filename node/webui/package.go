package webui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/httpx"
)

const (
	infoWait  = 30 * time.Second // Info may fetch the package root from the network
	tallyWait = 30 * time.Second
)

// packageData is the package page.
type packageData struct {
	CID      string
	Info     apitype.PackageInfo
	Tree     treeData
	Tally    *apitype.TallyReport
	TallyErr string
	Gateway  string
	Marks    []apitype.Bookmark // bookmarks that name this package
	Preview  *previewData       // the package itself is one media file
}

func (d packageData) pageTitle() string { return d.Info.Meta.Title }

type treeData struct {
	CID     string
	Path    string // "" at the root
	Parent  string // the parent's path, when Path is not the root
	Entries []treeEntry
	Error   string
}

type treeEntry struct {
	apitype.Entry
	Path    string // relative to the content root
	Preview *previewData
}

type previewData struct {
	Kind string // image | video | audio
	URL  string
	Name string
}

// onPackage adapts a handler of the package the {cid} path value names
// (checked first: a bad CID gets one line).
func (u *UI) onPackage(fn func(w http.ResponseWriter, r *http.Request, c string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := pkgCID(r)
		if err != nil {
			u.fail(w, r, http.StatusBadRequest, err)
			return
		}
		fn(w, r, c)
	}
}

// pkgCID reads and checks the {cid} path value.
func pkgCID(r *http.Request) (string, error) {
	s := r.PathValue("cid")
	c, err := cid.Decode(s)
	if err != nil {
		return "", uiError("not a CID: " + quote(s))
	}
	return c.String(), nil
}

func (u *UI) packagePage(w http.ResponseWriter, r *http.Request) {
	c, err := pkgCID(r)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		u.render(w, r, "message", err.Error())
		return
	}
	ctx, cancel := withTimeout(r.Context(), infoWait)
	defer cancel()
	info, err := u.api.Info(ctx, c)
	if err != nil {
		w.WriteHeader(statusOf(err))
		u.render(w, r, "message", "Cannot open package "+c+": "+errorMsg(err))
		return
	}
	d := packageData{CID: c, Info: info}
	d.Tree = u.tree(ctx, c, "")
	if len(d.Tree.Entries) == 1 && d.Tree.Entries[0].CID == info.Content {
		d.Preview = d.Tree.Entries[0].Preview // a single-file package
	}
	if rep, err := u.api.ModerationWhy(ctx, c); err == nil {
		d.Tally = &rep
	} else {
		d.TallyErr = errorMsg(err)
	}
	if o, err := u.api.OpenURL(ctx, "myco://"+c); err == nil {
		d.Gateway = o.URL
	}
	if marks, err := u.api.Bookmarks(ctx); err == nil {
		for _, b := range marks {
			if strings.TrimPrefix(b.MRI, "myco://") == c || strings.HasPrefix(strings.TrimPrefix(b.MRI, "myco://"), c+"/") {
				d.Marks = append(d.Marks, b)
			}
		}
	}
	u.render(w, r, "package", d)
}

// tree lists the directory at p inside package c.
func (u *UI) tree(ctx context.Context, c, p string) treeData {
	t := treeData{CID: c, Path: p}
	if p != "" {
		t.Parent = path.Dir(p)
		if t.Parent == "." {
			t.Parent = ""
		}
	}
	ref := c
	if p != "" {
		ref += "/" + p
	}
	ents, err := u.api.Ls(ctx, ref)
	if err != nil {
		t.Error = errorMsg(err)
		return t
	}
	single := p == "" && len(ents) == 1 && ents[0].CID != "" && ents[0].Type == "file" && u.isContentRoot(ctx, c, ents[0].CID)
	for _, e := range ents {
		te := treeEntry{Entry: e, Path: path.Join(p, e.Name)}
		if single { // no name to go by: the first bytes tell
			if kind, _ := u.sniff(ctx, c); kind != "" {
				te.Preview = &previewData{Kind: kind, URL: "/ui/raw/" + c + "/file?file=1", Name: "preview"}
			}
		} else if e.Type == "file" {
			if kind, _ := mediaType(e.Name); kind != "" {
				raw := "/ui/raw/" + c + "/" + escapePath(te.Path)
				te.Preview = &previewData{Kind: kind, URL: raw, Name: e.Name}
			}
		}
		t.Entries = append(t.Entries, te)
	}
	return t
}

func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func (u *UI) packageTree(w http.ResponseWriter, r *http.Request, c string) {
	p := strings.Trim(r.URL.Query().Get("path"), "/")
	ctx, cancel := withTimeout(r.Context(), infoWait)
	defer cancel()
	u.fragment(w, r, "tree", u.tree(ctx, c, p))
}

func (u *UI) packageTally(w http.ResponseWriter, r *http.Request, c string) {
	ctx, cancel := withTimeout(r.Context(), tallyWait)
	defer cancel()
	rep, err := u.api.Tally(ctx, c, r.URL.Query().Get("verify") != "")
	if err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	u.fragment(w, r, "tally", packageData{CID: c, Tally: &rep})
}

// whyWait bounds a search result's moderation badge (a first look may
// gather tallies from the network).
const whyWait = 10 * time.Second

// packageWhy answers a search result's moderation badge: this node's
// current decision (ModerationWhy: cached, gathered when unknown).
func (u *UI) packageWhy(w http.ResponseWriter, r *http.Request, c string) {
	ctx, cancel := withTimeout(r.Context(), whyWait)
	defer cancel()
	rep, err := u.api.ModerationWhy(ctx, c)
	if err != nil {
		u.fragment(w, r, "muted", "moderation: unknown ("+errorMsg(err)+")")
		return
	}
	u.fragment(w, r, "why-badge", rep)
}

// packageRule sets this node's own rule for the package (allow, deny or
// clear: local rules beat the community's decision here) and answers the
// fresh moderation card.
func (u *UI) packageRule(w http.ResponseWriter, r *http.Request, c string) {
	if _, err := u.api.ModerationSet(r.Context(), c, r.PostFormValue("rule")); err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	ctx, cancel := withTimeout(r.Context(), whyWait)
	defer cancel()
	d := packageData{CID: c}
	if rep, err := u.api.ModerationWhy(ctx, c); err == nil {
		d.Tally = &rep
	} else {
		d.TallyErr = errorMsg(err)
	}
	u.fragment(w, r, "tally", d)
}

// voteResult is a finished vote or annotation: the delivery and the tally
// gathered right after it.
type voteResult struct {
	CID      string
	Delivery apitype.Delivery
	Tally    *apitype.TallyReport
	TallyErr string
}

func (u *UI) packageVote(w http.ResponseWriter, r *http.Request, c string) {
	choice := r.PostFormValue("choice")
	if choice != "keep" && choice != "remove" {
		u.fail(w, r, http.StatusBadRequest, uiError("a vote is keep or remove"))
		return
	}
	req := apitype.VoteRequest{Ref: c, Choice: choice, Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	title := r.PostFormValue("title")
	j, err := u.startJob("vote", c, func(ctx context.Context, _ func(apitype.Progress)) (any, error) {
		del, err := u.api.Vote(ctx, req)
		if err != nil {
			return nil, err
		}
		u.noteActivity("voted "+choice+" on", title, c)
		return u.afterDelivery(ctx, c, del), nil
	})
	u.respondJob(w, r, j, err)
}

func (u *UI) afterDelivery(ctx context.Context, c string, del apitype.Delivery) voteResult {
	res := voteResult{CID: c, Delivery: del}
	tctx, cancel := context.WithTimeout(ctx, tallyWait)
	defer cancel()
	if rep, err := u.api.Tally(tctx, c, false); err == nil {
		res.Tally = &rep
	} else {
		res.TallyErr = errorMsg(err)
	}
	return res
}

func (u *UI) packageAnnotate(w http.ResponseWriter, r *http.Request, c string) {
	req := apitype.AnnotateRequest{Ref: c, Tags: splitList(r.PostFormValue("tags")), Note: strings.TrimSpace(r.PostFormValue("note"))}
	if lang, t := strings.TrimSpace(r.PostFormValue("title_lang")), strings.TrimSpace(r.PostFormValue("title_text")); lang != "" || t != "" {
		if lang == "" || t == "" {
			u.fail(w, r, http.StatusBadRequest, uiError("a translated title needs both its language and its text"))
			return
		}
		req.Titles = map[string]string{lang: t}
	}
	if len(req.Tags) == 0 && req.Note == "" && req.Titles == nil {
		u.fail(w, r, http.StatusBadRequest, uiError("write a tag, a note or a translated title first"))
		return
	}
	title := r.PostFormValue("title")
	j, err := u.startJob("annotate", c, func(ctx context.Context, _ func(apitype.Progress)) (any, error) {
		del, err := u.api.Annotate(ctx, req)
		if err != nil {
			return nil, err
		}
		u.noteActivity("annotated", title, c)
		return voteResult{CID: c, Delivery: del}, nil
	})
	u.respondJob(w, r, j, err)
}

func (u *UI) packageDownload(w http.ResponseWriter, r *http.Request, c string) {
	j, err := u.startJob("download", c, func(ctx context.Context, progress func(apitype.Progress)) (any, error) {
		info, err := u.api.SiteGet(ctx, c, progress)
		if err != nil {
			return nil, err
		}
		u.noteActivity("downloaded", info.Meta.Title, c)
		return info, nil
	})
	u.respondJob(w, r, j, err)
}

func (u *UI) packageBookmark(w http.ResponseWriter, r *http.Request, c string) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	ref := strings.TrimSpace(r.PostFormValue("ref"))
	if ref == "" {
		ref = "myco://" + c
	}
	b, err := u.addBookmark(r.Context(), name, ref, r.PostFormValue("follow") != "")
	if err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	u.fragment(w, r, "ok", "Bookmarked as “"+b.Name+"”"+map[bool]string{true: ", following its channel", false: ""}[b.Follow]+".")
}

// packageChannel points one of this node's channels at the package: its
// MRI myco://<peer-id>/<channel> then names the newest version anywhere.
func (u *UI) packageChannel(w http.ResponseWriter, r *http.Request, c string) {
	ctx, cancel := withTimeout(r.Context(), infoWait)
	defer cancel()
	res, err := u.api.Publish(ctx, strings.TrimSpace(r.PostFormValue("channel")), "myco://"+c)
	if err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	u.noteActivity("published to channel "+res.MRI+":", r.PostFormValue("title"), c)
	u.fragment(w, r, "channel-done", res)
}

// addBookmark adds a bookmark and, when asked, follows it.
func (u *UI) addBookmark(ctx context.Context, name, ref string, follow bool) (apitype.Bookmark, error) {
	if name == "" {
		return apitype.Bookmark{}, uiError("a bookmark needs a name")
	}
	return u.api.BookmarkAdd(ctx, apitype.BookmarkRequest{Name: name, Ref: ref, Follow: follow})
}

// splitList splits "a, b,c" into its trimmed non-empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// mediaTypes are the only types the UI serves from its own origin (inline
// previews). HTML, SVG, PDF and the rest open in the gateway, on the
// package's own origin, where they cannot reach the UI.
var mediaTypes = map[string][2]string{
	".png": {"image", "image/png"}, ".jpg": {"image", "image/jpeg"}, ".jpeg": {"image", "image/jpeg"},
	".gif": {"image", "image/gif"}, ".webp": {"image", "image/webp"}, ".avif": {"image", "image/avif"},
	".mp4": {"video", "video/mp4"}, ".m4v": {"video", "video/mp4"}, ".webm": {"video", "video/webm"}, ".ogv": {"video", "video/ogg"},
	".mp3": {"audio", "audio/mpeg"}, ".ogg": {"audio", "audio/ogg"}, ".oga": {"audio", "audio/ogg"}, ".opus": {"audio", "audio/ogg"},
	".wav": {"audio", "audio/wav"}, ".flac": {"audio", "audio/flac"}, ".m4a": {"audio", "audio/mp4"},
}

// mediaType returns the preview kind and Content-Type of a file name, or "".
func mediaType(name string) (kind, ctype string) {
	t, ok := mediaTypes[strings.ToLower(path.Ext(name))]
	if !ok {
		return "", ""
	}
	return t[0], t[1]
}

// sniffedTypes are the types http.DetectContentType may find that the UI
// previews; nothing else (HTML, SVG, text) is served from its origin.
var sniffedTypes = map[string]string{
	"image/png": "image", "image/jpeg": "image", "image/gif": "image", "image/webp": "image",
	"video/mp4": "video", "video/webm": "video", "audio/mpeg": "audio", "audio/wave": "audio",
	"application/ogg": "audio", "audio/aiff": "audio",
}

// errSniffed stops Cat once the first bytes are read.
var errSniffed = errors.New("sniffed")

type firstBytes struct{ b []byte }

func (f *firstBytes) Write(p []byte) (int, error) {
	n := min(len(p), 512-len(f.b))
	f.b = append(f.b, p[:n]...)
	if len(f.b) >= 512 {
		return n, errSniffed
	}
	return len(p), nil
}

// sniff tells the preview kind and type of the file ref names by its
// first 512 bytes, or "".
func (u *UI) sniff(ctx context.Context, ref string) (kind, ctype string) {
	var fb firstBytes
	if err := u.api.Cat(ctx, ref, &fb); err != nil && !errors.Is(err, errSniffed) && len(fb.b) < 512 {
		return "", ""
	}
	ctype = http.DetectContentType(fb.b)
	if k, ok := sniffedTypes[ctype]; ok {
		return k, ctype
	}
	return "", ""
}

// fileOpener is offered by *node.Node: random access, so a video seeks.
type fileOpener interface {
	OpenFile(ctx context.Context, ref string) (apitype.ReadSeekCloser, apitype.PathStat, error)
}

// raw serves a media file of a package for an inline preview.
func (u *UI) raw(w http.ResponseWriter, r *http.Request) {
	c, err := pkgCID(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p := strings.Trim(r.PathValue("path"), "/")
	ref := c + "/" + p
	_, ctype := mediaType(p)
	if r.URL.Query().Get("file") != "" {
		ref = c // a single-file package: its first bytes give the type
		_, ctype = u.sniff(r.Context(), c)
	}
	if ctype == "" {
		http.Error(w, "no inline preview for this type: open it in the gateway", http.StatusUnsupportedMediaType)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", "inline")
	h.Set("Cache-Control", "private, max-age=3600")
	if fo, ok := u.api.(fileOpener); ok {
		f, st, err := fo.OpenFile(r.Context(), ref)
		if err != nil {
			h.Del("Content-Type")
			http.Error(w, errorMsg(err), statusOf(err))
			return
		}
		defer f.Close()
		if st.Type != "file" {
			h.Del("Content-Type")
			http.Error(w, "not a file", http.StatusBadRequest)
			return
		}
		httpx.ServeContent(w, r, "", f, func(w http.ResponseWriter, err error) {
			w.Header().Del("Content-Type")
			http.Error(w, errorMsg(err), statusOf(err))
		})
		return
	}
	if err := u.api.Cat(r.Context(), ref, w); err != nil {
		u.log.Debug("preview failed", "ref", ref, "err", err)
	}
}

// isContentRoot reports whether entry is the content root of package c (Ls
// of a single-file package lists the file itself).
func (u *UI) isContentRoot(ctx context.Context, c, entry string) bool {
	info, err := u.api.Info(ctx, c)
	return err == nil && info.Content == entry
}
