package httpx

import (
	"io"
	"net/http"
	"time"
)

// ServeContent is http.ServeContent of f, except that when a Seek of f
// fails, fail answers with that error instead of the 416 "Requested Range
// Not Satisfiable" http.ServeContent sends: for a file of a package the node
// does not hold, seeking fetches the blocks on the way, and a fetch that
// failed is the node's trouble, not a bad range. (Seen in a benchmark: a
// Range request at 900 MiB answered 416.)
func ServeContent(w http.ResponseWriter, r *http.Request, name string, f io.ReadSeeker, fail func(w http.ResponseWriter, err error)) {
	sf := &seekFailure{ReadSeeker: f}
	sw := &seekFailWriter{ResponseWriter: w, f: sf, fail: fail}
	http.ServeContent(sw, r, name, time.Time{}, sf)
}

// seekFailure remembers the first error of Seek.
type seekFailure struct {
	io.ReadSeeker
	err error
}

func (f *seekFailure) Seek(off int64, whence int) (int64, error) {
	n, err := f.ReadSeeker.Seek(off, whence)
	if err != nil && f.err == nil {
		f.err = err
	}
	return n, err
}

// seekFailWriter replaces the 416 answer to a failed Seek with fail's.
type seekFailWriter struct {
	http.ResponseWriter
	f        *seekFailure
	fail     func(w http.ResponseWriter, err error)
	replaced bool
}

func (w *seekFailWriter) WriteHeader(code int) {
	if code == http.StatusRequestedRangeNotSatisfiable && w.f.err != nil && !w.replaced {
		w.replaced = true
		w.Header().Del("Content-Range")
		w.fail(w.ResponseWriter, w.f.err)
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *seekFailWriter) Write(p []byte) (int, error) {
	if w.replaced {
		return len(p), nil // http.ServeContent's 416 text
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *seekFailWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
