package httpx

import (
	"net/http"
	"net/http/httptest"
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
