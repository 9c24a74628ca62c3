package node_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/client"
	"github.com/myconet/myconet/node/httpapi"
)

// treeFake is a fakeAPI that serves /get: a file whose reads fail after
// failAfter bytes with failErr.
type treeFake struct {
	*fakeAPI
	size      int64
	failAfter int64
	failErr   error
}

func (f *treeFake) Stat(ctx context.Context, ref string) (apitype.PathStat, error) {
	return apitype.PathStat{Type: "file", Size: f.size, Name: "x.bin"}, nil
}

func (f *treeFake) OpenFile(ctx context.Context, ref string) (apitype.ReadSeekCloser, apitype.PathStat, error) {
	st, _ := f.Stat(ctx, ref)
	return &failingFile{left: f.failAfter, err: f.failErr, size: f.size}, st, nil
}

func (f *treeFake) Cat(ctx context.Context, ref string, w io.Writer) error {
	_, err := io.Copy(w, &failingFile{left: f.failAfter, err: f.failErr, size: f.size})
	return err
}

func (f *treeFake) WriteTar(ctx context.Context, ref string, w io.Writer) error {
	return errors.New("not a directory")
}

// failingFile reads zeros, then fails.
type failingFile struct {
	left, size, off int64
	err             error
}

func (f *failingFile) Read(p []byte) (int, error) {
	if f.left == 0 {
		return 0, f.err
	}
	n := min(int64(len(p)), f.left)
	clear(p[:n])
	f.left -= n
	f.off += n
	return int(n), nil
}

func (f *failingFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekEnd:
		f.off = f.size + off
	case io.SeekStart:
		f.off = off
	}
	return f.off, nil
}

func (f *failingFile) Close() error { return nil }

// A failure after the first bytes of a file reaches the caller of Get as its
// real cause (the trailers), not as "unexpected EOF", and nothing is left at
// dest.
func TestClientGetFileTrailerError(t *testing.T) {
	f := &treeFake{fakeAPI: &fakeAPI{}, size: 1 << 20, failAfter: 300 << 10,
		failErr: fmt.Errorf("%w: fetch bafyx: no provider left (blocks still missing: 3)", apitype.ErrNotFound)}
	srv := httptest.NewServer(httpapi.New(f, testToken, testLogger(t)))
	t.Cleanup(srv.Close)
	c := client.New(srv.URL, testToken)
	t.Cleanup(func() { c.Close() })

	dest := filepath.Join(t.TempDir(), "out.bin")
	err := c.Get(t.Context(), "bafyx", dest, nil)
	if !errors.Is(err, apitype.ErrNotFound) || !strings.Contains(err.Error(), "blocks still missing: 3") {
		t.Fatalf("get: %v, want the server's error", err)
	}
	if _, serr := os.Lstat(dest); !os.IsNotExist(serr) {
		t.Fatalf("dest left behind after a failed get: %v", serr)
	}
}
