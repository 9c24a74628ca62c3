package webui

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/myconet/myconet/metadata"
	"github.com/myconet/myconet/node/apitype"
)

// searchForm is the search page's query, as in its deep link
// /ui/search?q=…&kind=…&language=…&tag=…&license=…&publisher=…&local=1.
type searchForm struct {
	Q, Kind, Language, Tag, License, Publisher string
	Local                                      bool
	Kinds                                      []string
}

type searchSummary struct {
	Count int
	Order string // package CIDs, best first (app.js orders the streamed list)
	Error string
	Took  string
}

const searchWait = 20 * time.Second

// search streams the results page: the form at once, then each result as
// the node verifies it, then the ranked order (applied by app.js; without
// script the arrival order stays).
func (u *UI) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := searchForm{
		Q: strings.TrimSpace(q.Get("q")), Kind: q.Get("kind"), Language: q.Get("language"),
		Tag: q.Get("tag"), License: q.Get("license"), Publisher: q.Get("publisher"),
		Local: q.Get("local") != "", Kinds: metadata.Kinds(),
	}
	p := u.pageOf(r, "search", f)
	if f.Q != "" {
		p.Title = f.Q + " · Search"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	t := u.tmpl.t
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "top", p); err != nil {
		u.write(w, &buf, err)
		return
	}
	_ = t.ExecuteTemplate(&buf, "search", p)
	_, _ = w.Write(buf.Bytes())
	if f.Q == "" {
		_ = t.ExecuteTemplate(w, "bottom", p)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.Flush()

	opts := apitype.SearchOptions{Kind: f.Kind, Language: f.Language, License: f.License, Publisher: f.Publisher, Local: f.Local}
	if f.Tag != "" {
		opts.Tags = []string{f.Tag}
	}
	ctx, cancel := withTimeout(r.Context(), searchWait)
	defer cancel()
	var mu sync.Mutex
	done := false
	seen := map[string]bool{}
	start := time.Now()
	results, err := u.api.Search(ctx, f.Q, opts, func(res apitype.SearchResult) {
		mu.Lock()
		defer mu.Unlock()
		if done || seen[res.Package] {
			return
		}
		seen[res.Package] = true
		_ = t.ExecuteTemplate(w, "result", u.pageOf(r, "", res))
		_ = rc.Flush()
	})
	mu.Lock()
	done = true
	mu.Unlock()
	var sum searchSummary
	if err != nil {
		sum.Error = errorMsg(err)
	}
	ids := make([]string, 0, len(results))
	for _, res := range results {
		if !seen[res.Package] { // not streamed (an API without streaming)
			seen[res.Package] = true
			_ = t.ExecuteTemplate(w, "result", u.pageOf(r, "", res))
		}
		ids = append(ids, res.Package)
	}
	sum.Count = len(results)
	sum.Order = strings.Join(ids, " ")
	sum.Took = time.Since(start).Round(100 * time.Microsecond).String()
	_ = t.ExecuteTemplate(w, "search-end", u.pageOf(r, "", sum))
	_ = t.ExecuteTemplate(w, "bottom", p)
}
