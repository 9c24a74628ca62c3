package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/fdpass"
	"github.com/myconet/myconet/node/httpx"
)

func (h *apiHandler) id(w http.ResponseWriter, r *http.Request) {
	v, err := h.api.ID(r.Context())
	reply(w, v, err)
}

func (h *apiHandler) status(w http.ResponseWriter, r *http.Request) {
	v, err := h.api.Status(r.Context())
	reply(w, v, err)
}

func (h *apiHandler) add(w http.ResponseWriter, r *http.Request) {
	var req apitype.AddRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	streamProgress(h, w, func(progress func(apitype.Progress)) (apitype.AddResult, error) {
		return h.api.Add(r.Context(), req, progress)
	})
}

// streamProgress answers with the NDJSON stream of run: progress lines, at
// most about ten a second, then the result or the error. An error before the
// first progress line is an ordinary error response with its status.
func streamProgress[T any](h *apiHandler, w http.ResponseWriter, run func(progress func(apitype.Progress)) (T, error)) {
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	started := false
	start := func() {
		started = true
		w.Header().Set("Content-Type", apitype.ContentTypeNDJSON)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	}
	var last time.Time
	progress := func(p apitype.Progress) {
		now := time.Now()
		if now.Sub(last) < progressLineInterval {
			return
		}
		last = now
		if !started {
			start()
		}
		if enc.Encode(apitype.ProgressLine[T]{Progress: &p}) == nil {
			_ = rc.Flush()
		}
	}
	res, err := run(progress)
	if err != nil && !started {
		// Nothing sent yet: a plain error response with its proper status.
		writeError(w, err)
		return
	}
	if !started {
		start()
	}
	if err != nil {
		h.log.Debug("stream failed", "err", err)
		_ = enc.Encode(apitype.ProgressLine[T]{Error: httpx.OneLine(err.Error()), Code: apitype.CodeOf(err)})
		return
	}
	_ = enc.Encode(apitype.ProgressLine[T]{Result: &res})
}

func (h *apiHandler) info(w http.ResponseWriter, r *http.Request) {
	ref, err := refParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	v, err := h.api.Info(r.Context(), ref)
	reply(w, v, err)
}

func (h *apiHandler) ls(w http.ResponseWriter, r *http.Request) {
	ref, err := refParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	v, err := h.api.Ls(r.Context(), ref)
	if v == nil {
		v = []apitype.Entry{}
	}
	reply(w, v, err)
}

func (h *apiHandler) cat(w http.ResponseWriter, r *http.Request) {
	ref, err := refParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if fo, ok := h.api.(FileOpener); ok {
		// On failure, fall through: Cat gives the node's own error for the
		// ref (a directory, a missing path, …).
		if f, st, err := fo.OpenFile(r.Context(), ref); err == nil {
			defer f.Close()
			serveFile(w, r, f, st)
			return
		}
	}
	h.stream(w, "application/octet-stream", func(w io.Writer) error {
		return h.api.Cat(r.Context(), ref, w)
	})
}

// serveFile serves an opened file with Range and conditional request support.
func serveFile(w http.ResponseWriter, r *http.Request, f io.ReadSeeker, st apitype.PathStat) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if st.CID.Defined() {
		w.Header().Set("Etag", `"`+st.CID.String()+`"`)
	}
	httpx.ServeContent(w, r, "", f, writeError)
}

// stream answers with the bytes fn writes. An error before the first byte is
// an ordinary error response; a later one goes into the trailers.
func (h *apiHandler) stream(w http.ResponseWriter, contentType string, fn func(io.Writer) error) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Trailer", apitype.TrailerError+", "+apitype.TrailerCode)
	cw := &countWriter{w: w}
	err := fn(cw)
	if err == nil {
		return
	}
	if cw.n == 0 {
		writeError(w, err)
		return
	}
	if errors.Is(err, context.Canceled) {
		h.log.Debug("stream failed", "err", err, "sent", cw.n)
	} else {
		h.log.Warn("stream failed", "err", err, "sent", cw.n)
	}
	w.Header().Set(apitype.TrailerError, httpx.OneLine(err.Error()))
	w.Header().Set(apitype.TrailerCode, string(apitype.CodeOf(err)))
}

// statForGet returns the API's TreeSource and what ref names, or answers
// the error and returns false.
func (h *apiHandler) statForGet(w http.ResponseWriter, r *http.Request, ref string) (TreeSource, apitype.PathStat, bool) {
	ts, ok := h.api.(TreeSource)
	if !ok {
		writeErrorStatus(w, http.StatusNotImplemented, apitype.CodeInternal, "api: get is not supported by this node")
		return nil, apitype.PathStat{}, false
	}
	st, err := ts.Stat(r.Context(), ref)
	if err != nil {
		writeError(w, err)
		return nil, apitype.PathStat{}, false
	}
	return ts, st, true
}

func (h *apiHandler) get(w http.ResponseWriter, r *http.Request) {
	ref, err := refParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	ts, st, ok := h.statForGet(w, r, ref)
	if !ok {
		return
	}
	w.Header().Set(apitype.HeaderSize, strconv.FormatInt(st.Size, 10))
	if st.Type != "dir" {
		if r.Header.Get("Range") != "" {
			f, st, err := ts.OpenFile(r.Context(), ref)
			if err != nil {
				writeError(w, err)
				return
			}
			defer f.Close()
			w.Header().Set(apitype.HeaderType, "file")
			serveFile(w, r, f, st)
			return
		}
		// Streamed as cat does (leaves read ahead in parallel), not served
		// with a Content-Length: a failure after the first byte then reaches
		// the client in the trailers.
		w.Header().Set(apitype.HeaderType, "file")
		h.stream(w, "application/octet-stream", func(w io.Writer) error {
			return h.api.Cat(r.Context(), ref, w)
		})
		return
	}
	w.Header().Set(apitype.HeaderType, "dir")
	h.stream(w, "application/x-tar", func(w io.Writer) error {
		return ts.WriteTar(r.Context(), ref, w)
	})
}

// getFD answers POST /api/v1/get/fd {"ref"}: the file ref names is written
// into the file whose descriptor came with the request over the daemon's
// Unix socket (node/fdpass), and the answer is a progress stream whose
// result is the final Progress. A directory is refused with 409, for the
// client to get it as a tar (GET /get) instead.
func (h *apiHandler) getFD(w http.ResponseWriter, r *http.Request) {
	ref, err := readRef(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	f := fdpass.FromContext(r.Context())
	if f == nil {
		writeError(w, apitype.Errorf(apitype.CodeInvalid, "get/fd: %v (send it with SCM_RIGHTS over the Unix socket <home>/%s)", fdpass.ErrNoFile, apitype.SocketFile))
		return
	}
	defer f.Close()
	_, st, ok := h.statForGet(w, r, ref)
	if !ok {
		return
	}
	if st.Type == "dir" {
		writeErrorStatus(w, http.StatusConflict, apitype.CodeInvalid, fmt.Sprintf("get/fd: %s is a directory (GET /get streams it as a tar)", ref))
		return
	}
	if err := fdpass.Check(f); err != nil {
		writeError(w, apitype.Errorf(apitype.CodeInvalid, "get/fd: %v", err))
		return
	}
	streamProgress(h, w, func(progress func(apitype.Progress)) (apitype.Progress, error) {
		fw := fdpass.NewFileWriter(f)
		pw := &progressWriter{p: apitype.Progress{Total: st.Size, Files: 1}, fn: progress}
		err := h.api.Cat(r.Context(), ref, io.MultiWriter(fw, pw))
		if cerr := fw.Close(); err == nil {
			err = cerr
		}
		return pw.p, err
	})
}

// progressWriter counts the bytes written through it and reports them.
type progressWriter struct {
	p  apitype.Progress
	fn func(apitype.Progress)
}

func (pw *progressWriter) Write(b []byte) (int, error) {
	pw.p.Bytes += int64(len(b))
	pw.fn(pw.p)
	return len(b), nil
}

func (h *apiHandler) pins(w http.ResponseWriter, r *http.Request) {
	v, err := h.api.Pins(r.Context())
	if v == nil {
		v = []apitype.PinInfo{}
	}
	reply(w, v, err)
}

func (h *apiHandler) unpin(w http.ResponseWriter, r *http.Request) {
	ref, err := refParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := h.api.Unpin(r.Context(), ref, r.URL.Query().Get("reason")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *apiHandler) gc(w http.ResponseWriter, r *http.Request) {
	v, err := h.api.GC(r.Context())
	reply(w, v, err)
}

func (h *apiHandler) export(w http.ResponseWriter, r *http.Request) {
	ref, err := refParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	h.stream(w, apitype.ContentTypeCAR, func(w io.Writer) error {
		return h.api.Export(r.Context(), ref, w)
	})
}

func (h *apiHandler) importCAR(w http.ResponseWriter, r *http.Request) {
	v, err := h.api.Import(r.Context(), r.Body)
	reply(w, v, err)
}

func (h *apiHandler) bookmarks(w http.ResponseWriter, r *http.Request) {
	v, err := h.api.Bookmarks(r.Context())
	if v == nil {
		v = []apitype.Bookmark{}
	}
	reply(w, v, err)
}

func (h *apiHandler) bookmarkAdd(w http.ResponseWriter, r *http.Request) {
	var req apitype.BookmarkRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	v, err := h.api.BookmarkAdd(r.Context(), req)
	reply(w, v, err)
}

func (h *apiHandler) bookmarkFollow(w http.ResponseWriter, r *http.Request) {
	var req apitype.FollowRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	v, err := h.api.BookmarkFollow(r.Context(), r.PathValue("name"), req.Follow)
	reply(w, v, err)
}

func (h *apiHandler) bookmarkRm(w http.ResponseWriter, r *http.Request) {
	if err := h.api.BookmarkRm(r.Context(), r.PathValue("name")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *apiHandler) open(w http.ResponseWriter, r *http.Request) {
	ref, err := refParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	v, err := h.api.OpenURL(r.Context(), ref)
	reply(w, v, err)
}

func (h *apiHandler) quota(w http.ResponseWriter, r *http.Request) {
	v, err := h.api.Quota(r.Context())
	reply(w, v, err)
}

func (h *apiHandler) setQuota(w http.ResponseWriter, r *http.Request) {
	var req apitype.QuotaRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	v, err := h.api.SetQuota(r.Context(), req.Resource, req.Value)
	reply(w, v, err)
}

func (h *apiHandler) configShow(w http.ResponseWriter, r *http.Request) {
	v, err := h.api.ConfigShow(r.Context())
	reply(w, apitype.ConfigText{Text: v}, err)
}

func (h *apiHandler) configGet(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	v, err := h.api.ConfigGet(r.Context(), key)
	reply(w, apitype.ConfigValue{Key: key, Value: v}, err)
}

func (h *apiHandler) configSet(w http.ResponseWriter, r *http.Request) {
	var req apitype.ConfigValue
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if err := h.api.ConfigSet(r.Context(), req.Key, req.Value); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, req)
}

func (h *apiHandler) peers(w http.ResponseWriter, r *http.Request) {
	v, err := h.api.Peers(r.Context())
	if v == nil {
		v = []apitype.PeerInfo{}
	}
	reply(w, v, err)
}

func (h *apiHandler) connect(w http.ResponseWriter, r *http.Request) {
	var req apitype.ConnectRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Addr == "" {
		writeError(w, apitype.Errorf(apitype.CodeInvalid, "connect: no addr given"))
		return
	}
	v, err := h.api.Connect(r.Context(), req.Addr)
	reply(w, v, err)
}

func (h *apiHandler) providers(w http.ResponseWriter, r *http.Request) {
	ref, err := refParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	v, err := h.api.Providers(r.Context(), ref)
	if v == nil {
		v = []apitype.ProviderInfo{}
	}
	reply(w, apitype.ProvidersResponse{Providers: v}, err)
}

// readRef decodes a RefRequest body with a non-empty ref.
func readRef(w http.ResponseWriter, r *http.Request) (string, error) {
	var req apitype.RefRequest
	if err := readJSON(w, r, &req); err != nil {
		return "", err
	}
	if req.Ref == "" {
		return "", apitype.Errorf(apitype.CodeInvalid, "request body: missing ref")
	}
	return req.Ref, nil
}

func (h *apiHandler) siteGet(w http.ResponseWriter, r *http.Request) {
	ref, err := readRef(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	streamProgress(h, w, func(progress func(apitype.Progress)) (apitype.PackageInfo, error) {
		return h.api.SiteGet(r.Context(), ref, progress)
	})
}

// fetch answers the fetch stream. An API that cannot fetch (one without a
// network) answers a zero FetchResult: there is nothing to wait for.
func (h *apiHandler) fetch(w http.ResponseWriter, r *http.Request) {
	ref, err := readRef(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	streamProgress(h, w, func(progress func(apitype.Progress)) (apitype.FetchResult, error) {
		if f, ok := h.api.(Fetcher); ok {
			return f.FetchPackage(r.Context(), ref, progress)
		}
		return apitype.FetchResult{}, nil
	})
}

func (h *apiHandler) publish(w http.ResponseWriter, r *http.Request) {
	var req apitype.PublishRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Channel == "" || req.Ref == "" {
		writeError(w, apitype.Errorf(apitype.CodeInvalid, "publish: want a channel and a ref"))
		return
	}
	v, err := h.api.Publish(r.Context(), req.Channel, req.Ref)
	reply(w, v, err)
}

func (h *apiHandler) channels(w http.ResponseWriter, r *http.Request) {
	v, err := h.api.Channels(r.Context())
	if v == nil {
		v = []apitype.PublishResult{}
	}
	reply(w, v, err)
}
