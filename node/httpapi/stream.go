package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/httpx"
	"github.com/myconet/myconet/search"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics answers in the Prometheus text format (or OpenMetrics, as the
// scraper asks) from the node's registry: libp2p's families, the Go runtime
// and process, and Myconet's own (metrics.go).
func (h *apiHandler) metrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	promhttp.HandlerFor(h.m.Reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(h.log.Handler(), slog.LevelWarn)}).ServeHTTP(w, r)
}

// headerRecorder captures the status and headers the mux would send.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header {
	if h.header == nil {
		h.header = make(http.Header)
	}
	return h.header
}

func (h *headerRecorder) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *headerRecorder) Write(p []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return len(p), nil
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// search answers GET /api/v1/search?q=…&kind=&language=&tag=&license=&publisher=&limit=&local=
// with an NDJSON stream of SearchLine: each result as it is verified, then
// the ranked list (done) or an error. A bad query is an ordinary error
// response.
func (h *apiHandler) search(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	opts := apitype.SearchOptions{
		Kind: v.Get("kind"), Language: v.Get("language"), License: v.Get("license"),
		Publisher: v.Get("publisher"), Tags: v["tag"],
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			writeError(w, apitype.Errorf(apitype.CodeInvalid, "limit %q is not a number ≥ 0", l))
			return
		}
		opts.Limit = n
	}
	if lo := v.Get("local"); lo != "" {
		b, err := strconv.ParseBool(lo)
		if err != nil {
			writeError(w, apitype.Errorf(apitype.CodeInvalid, "local %q is not a boolean", lo))
			return
		}
		opts.Local = b
	}
	query := v.Get("q")
	if _, _, err := search.ParseOptions(query, search.Options{Kind: opts.Kind, Language: opts.Language, License: opts.License, Publisher: opts.Publisher, Tags: opts.Tags, Limit: opts.Limit}); err != nil {
		writeError(w, apitype.Wrap(apitype.CodeInvalid, err))
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", apitype.ContentTypeNDJSON)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	onResult := func(res apitype.SearchResult) {
		if enc.Encode(apitype.SearchLine{Result: &res}) == nil {
			_ = rc.Flush()
		}
	}
	var done apitype.SearchResults
	var err error
	if s, ok := h.api.(Searcher); ok {
		done, err = s.SearchResults(r.Context(), query, opts, onResult)
	} else {
		done.Results, err = h.api.Search(r.Context(), query, opts, onResult)
	}
	if err != nil {
		_ = enc.Encode(apitype.SearchLine{Error: httpx.OneLine(err.Error()), Code: apitype.CodeOf(err)})
		return
	}
	if done.Results == nil {
		done.Results = []apitype.SearchResult{}
	}
	_ = enc.Encode(apitype.SearchLine{Done: &done})
}
