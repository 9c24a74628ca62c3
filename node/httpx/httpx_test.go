package httpx

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLoopbackHost(t *testing.T) {
	for _, tt := range []struct {
		host         string
		plain, under bool // want with sub=false; with sub=true (names under .localhost)
	}{
		{"localhost", true, true},
		{"LOCALHOST.:8080", true, true},
		{"127.0.0.1:5001", true, true},
		{"127.8.9.10", true, true},
		{"[::1]:5001", true, true},
		{"[::ffff:127.0.0.1]:1", true, true},
		{"bafy.localhost:8190", false, true},
		{"a.b.localhost", false, true},
		{"localhost.evil.example", false, false},
		{"evillocalhost", false, false},
		{"10.0.0.1:80", false, false},
		{"", false, false},
		{":80", false, false},
	} {
		if got := LoopbackHost(tt.host, false); got != tt.plain {
			t.Errorf("LoopbackHost(%q, false) = %v", tt.host, got)
		}
		if got := LoopbackHost(tt.host, true); got != tt.under {
			t.Errorf("LoopbackHost(%q, true) = %v", tt.host, got)
		}
	}
}

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                 "plain",
		"  padded \n":           "padded",
		"two\nlines\r\n  here ": "two lines here",
	} {
		if got := OneLine(in); got != want {
			t.Errorf("OneLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStatusWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	sw := &StatusWriter{ResponseWriter: rec}
	if sw.StatusCode() != http.StatusOK {
		t.Errorf("nothing sent: %d", sw.StatusCode())
	}
	sw.WriteHeader(http.StatusTeapot)
	sw.WriteHeader(http.StatusOK) // the first status stands
	sw.Write([]byte("hello"))
	if sw.StatusCode() != http.StatusTeapot || sw.Bytes != 5 || rec.Body.String() != "hello" {
		t.Errorf("status %d bytes %d body %q", sw.StatusCode(), sw.Bytes, rec.Body.String())
	}
	if http.NewResponseController(sw).Flush() != nil {
		t.Error("Flush does not reach the connection through Unwrap")
	}
}

// seekFails is a ReadSeeker of size zeros whose seeks past half fail.
type seekFails struct {
	size, off int64
}

var errSeek = errors.New("fetch bafyx: no provider answered")

func (f *seekFails) Read(p []byte) (int, error) {
	if f.off >= f.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), f.size-f.off)
	clear(p[:n])
	f.off += n
	return int(n), nil
}

func (f *seekFails) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekEnd {
		return f.size, nil
	}
	if off > f.size/2 {
		return f.off, errSeek
	}
	f.off = off
	return off, nil
}

// TestServeContentSeekFailure: a seek that fails is answered by fail (not
// 416, which blames the range); a range that is truly out of the file is
// still 416; a good range is 206.
func TestServeContentSeekFailure(t *testing.T) {
	fail := func(w http.ResponseWriter, err error) { http.Error(w, err.Error(), http.StatusBadGateway) }
	for _, c := range []struct {
		rng  string
		code int
		body string
	}{
		{"bytes=900-909", http.StatusBadGateway, errSeek.Error()},
		{"bytes=5000-5009", http.StatusRequestedRangeNotSatisfiable, ""},
		{"bytes=100-109", http.StatusPartialContent, ""},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/f", nil)
		req.Header.Set("Range", c.rng)
		ServeContent(rec, req, "", &seekFails{size: 1000}, fail)
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.body) {
			t.Errorf("%s: %d %q, want %d with %q", c.rng, rec.Code, rec.Body.String(), c.code, c.body)
		}
		if c.code == http.StatusBadGateway && rec.Header().Get("Content-Range") != "" {
			t.Errorf("%s: Content-Range %q left on the error", c.rng, rec.Header().Get("Content-Range"))
		}
	}
}
