package fdpass_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node/fdpass"
)

// serve runs an HTTP server on a Listen socket whose handler writes "got
// it" into the file that came with the request, or answers 400.
func serve(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "api.sock")
	ln, err := fdpass.Listen(sock, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		ConnContext: fdpass.ConnContext,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Read the whole request first, as the API does (its ref is in
			// the body): a server that answers and closes while the client
			// still writes fails the client's write with EPIPE.
			io.Copy(io.Discard, r.Body)
			f := fdpass.FromContext(r.Context())
			if f == nil {
				http.Error(w, fdpass.ErrNoFile.Error(), http.StatusBadRequest)
				return
			}
			defer f.Close()
			if err := fdpass.Check(f); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			io.WriteString(f, "got it")
		}),
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock
}

func post(t *testing.T, dial func(ctx context.Context, _, _ string) (net.Conn, error)) int {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post("http://127.0.0.1/x", "text/plain", bytes.NewReader(bytes.Repeat([]byte("b"), 100<<10)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestPassFile(t *testing.T) {
	leakcheck.Check(t)
	sock := serve(t)
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi, err)
	}
	out := filepath.Join(t.TempDir(), "out")
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if code := post(t, func(ctx context.Context, _, _ string) (net.Conn, error) { return fdpass.Dial(ctx, sock, f) }); code != 200 {
		t.Fatalf("status %d", code)
	}
	if got, _ := os.ReadFile(out); string(got) != "got it" {
		t.Fatalf("file holds %q", got)
	}

	// Without a file, or with one that is not empty, the handler refuses.
	if code := post(t, func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}); code != http.StatusBadRequest {
		t.Fatalf("no file: status %d", code)
	}
	if code := post(t, func(ctx context.Context, _, _ string) (net.Conn, error) { return fdpass.Dial(ctx, sock, f) }); code != http.StatusBadRequest {
		t.Fatalf("non-empty file: status %d", code)
	}
	// Neither is a directory or an empty file opened read-only.
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{t.TempDir(), empty} {
		ro, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		if code := post(t, func(ctx context.Context, _, _ string) (net.Conn, error) { return fdpass.Dial(ctx, sock, ro) }); code != http.StatusBadRequest {
			t.Fatalf("%s opened read-only: status %d", p, code)
		}
	}
}

func TestListenRefusesNonSocket(t *testing.T) {
	p := filepath.Join(t.TempDir(), "api.sock")
	if err := os.WriteFile(p, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fdpass.Listen(p, 0o600); err == nil {
		t.Fatal("Listen replaced a regular file")
	}
	if got, _ := os.ReadFile(p); string(got) != "keep me" {
		t.Fatalf("the file was changed: %q", got)
	}
}

// TestFileWriter writes files of awkward sizes in awkward pieces, on the
// test's file system (direct where it allows) and on tmpfs (which refuses
// O_DIRECT: buffered).
func TestFileWriter(t *testing.T) {
	dirs := []string{t.TempDir()}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "fdpass-test")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			dirs = append(dirs, d)
		}
	}
	type run struct {
		dir       string
		newWriter func(*os.File) *fdpass.FileWriter
	}
	runs := []run{{dirs[0], fdpass.NewBufferedFileWriter}}
	for _, d := range dirs {
		runs = append(runs, run{d, fdpass.NewFileWriter})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, r := range runs {
		dir, newWriter := r.dir, r.newWriter
		for _, size := range []int{0, 1, 4095, 4096, 4097, 4 << 20, 4<<20 + 1, 9<<20 + 12345} {
			data := make([]byte, size)
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			p := filepath.Join(dir, "f")
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			w := newWriter(f)
			direct := w.Direct()
			if size == 0 {
				t.Logf("%s: direct writes %v", dir, direct)
			}
			for rest := data; len(rest) > 0; {
				n := min(len(rest), 1+rng.IntN(3<<20))
				if m, err := w.Write(rest[:n]); err != nil || m != n {
					t.Fatalf("%s size %d: write %d: %d, %v", dir, size, n, m, err)
				}
				rest = rest[n:]
			}
			if err := w.Close(); err != nil {
				t.Fatalf("%s size %d: close: %v", dir, size, err)
			}
			// The file is buffered again: a plain write at the end works.
			if _, err := f.WriteAt([]byte("!"), int64(size)); err != nil {
				t.Fatalf("%s size %d: write after close: %v", dir, size, err)
			}
			f.Close()
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[:len(got)-1], data) || got[len(got)-1] != '!' {
				t.Fatalf("%s size %d (direct %v): the file differs (%d bytes)", dir, size, direct, len(got))
			}
		}
	}
}
