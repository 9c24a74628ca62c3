package webui

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
)

//go:embed templates
var templateFS embed.FS

type templates struct{ t *template.Template }

var funcs = template.FuncMap{
	"size": func(n any) string {
		switch v := n.(type) {
		case int64:
			return apitype.FormatSize(v)
		case uint64:
			return apitype.FormatSize(int64(v))
		case int:
			return apitype.FormatSize(int64(v))
		}
		return fmt.Sprint(n)
	},
	"limit": apitype.FormatLimit,
	// reasonText drops the decision word a moderation reason starts with
	// ("undecided: …"), which the page already shows beside it.
	"reasonText": func(decision, reason string) string {
		return strings.TrimPrefix(reason, decision+": ")
	},
	"short": func(s string) string {
		if len(s) > 20 {
			return s[:10] + "…" + s[len(s)-6:]
		}
		return s
	},
	"join": strings.Join,
	// static is the address of an embedded file with its content hash, so
	// a browser never keeps an old app.js after an upgrade.
	"static":  staticURL,
	"trimMRI": func(s string) string { return strings.TrimPrefix(s, "myco://") },
	// channel reports whether an MRI names a publisher's channel (it can be followed).
	"channel": func(s string) bool {
		m, err := mri.Parse(s)
		return err == nil && m.Mutable()
	},
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		d := time.Since(t).Round(time.Second)
		switch {
		case d < time.Minute:
			return "just now"
		case d < time.Hour:
			return fmt.Sprintf("%d min ago", int(d.Minutes()))
		case d < 48*time.Hour:
			return fmt.Sprintf("%d h ago", int(d.Hours()))
		}
		return t.Local().Format("2006-01-02")
	},
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Local().Format("2006-01-02 15:04")
	},
	"pct": func(a, b int64) int64 {
		if b <= 0 {
			return 0
		}
		return a * 100 / b
	},
	"add": func(a, b int) int { return a + b },
	// liveOf hands the live fragment its data inside the page's context.
	"liveOf": func(d liveData, p page) page { p.Data = d; return p },
	"treeOf": func(d treeData, p page) page { p.Data = d; return p },
	"fieldOf": func(f publishForm, name, label, value string) fieldData {
		return fieldData{Name: name, Label: label, Value: value, Error: f.Errors[name]}
	},
}

func parseTemplates() *templates {
	return &templates{template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html"))}
}

// fieldData is one input of a form with its error.
type fieldData struct{ Name, Label, Value, Error string }

// page is what every template gets: the page's own data in Data.
type page struct {
	Title string
	Nav   string
	CSRF  string
	Data  any
}

var navOf = map[string]string{
	"home": "home", "search": "search", "package": "search", "publish": "publish",
	"bookmarks": "bookmarks", "library": "library", "network": "network", "settings": "settings",
}

var titleOf = map[string]string{
	"home": "Home", "search": "Search", "package": "Package", "publish": "Publish",
	"bookmarks": "Bookmarks", "library": "Library", "network": "Network", "settings": "Quotas and settings", "login": "Log in",
}

func (u *UI) pageOf(r *http.Request, name string, data any) page {
	p := page{Title: titleOf[name], Nav: navOf[name], Data: data}
	if s := sessionOf(r); s != nil {
		p.CSRF = s.csrf
	}
	return p
}

// render writes the full page name (layout around it).
func (u *UI) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	p := u.pageOf(r, name, data)
	if t, ok := data.(interface{ pageTitle() string }); ok && t.pageTitle() != "" {
		p.Title = t.pageTitle()
	}
	var buf bytes.Buffer
	err := u.tmpl.t.ExecuteTemplate(&buf, "top", p)
	if err == nil {
		err = u.tmpl.t.ExecuteTemplate(&buf, name, p)
	}
	if err == nil {
		err = u.tmpl.t.ExecuteTemplate(&buf, "bottom", p)
	}
	u.write(w, &buf, err)
}

// fragment writes the named template alone (an htmx swap).
func (u *UI) fragment(w http.ResponseWriter, r *http.Request, name string, data any) {
	var buf bytes.Buffer
	err := u.tmpl.t.ExecuteTemplate(&buf, name, u.pageOf(r, "", data))
	u.write(w, &buf, err)
}

func (u *UI) write(w http.ResponseWriter, buf *bytes.Buffer, err error) {
	if err != nil {
		u.log.Error("template", "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// errorMsg turns an API error into the one line a person reads.
func errorMsg(err error) string {
	if err == nil {
		return ""
	}
	var ce interface{ ErrorCode() apitype.Code }
	msg := err.Error()
	if errors.As(err, &ce) && ce.ErrorCode() == apitype.CodeNoDaemon {
		return "This needs the running daemon's network: " + msg
	}
	return msg
}

// fail answers an htmx action's error as a small alert fragment.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	var buf bytes.Buffer
	e := u.tmpl.t.ExecuteTemplate(&buf, "alert", u.pageOf(r, "", errorMsg(err)))
	if e != nil {
		u.write(w, &buf, e)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// statusOf maps an API error to an HTTP status for the UI.
func statusOf(err error) int {
	return apitype.CodeOf(err).HTTPStatus()
}
