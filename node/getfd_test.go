package node_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/client"
	"github.com/myconet/myconet/node/fdpass"
)

// TestGetThroughSocket: with a daemon running, get of a file hands the
// daemon the file to write over <home>/api.sock; a directory still comes as
// a tar; the endpoint refuses what it must.
func TestGetThroughSocket(t *testing.T) {
	if !fdpass.Supported {
		t.Skip("passing file descriptors needs Linux (" + runtime.GOOS + ")")
	}
	n := newTestNode(t)
	leakcheck.Check(t)
	ctx := t.Context()
	apiAddr, _, _ := startRun(t, n, node.RunOptions{APIAddr: "127.0.0.1:0", GatewayAddr: "none"})
	sock := filepath.Join(n.Home(), apitype.SocketFile)
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket: %v %v", fi, err)
	}
	c, err := client.FromHome(ctx, n.Home())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// A file of an awkward size (several direct chunks and a tail).
	data := make([]byte, 9<<20+4321)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	src := filepath.Join(t.TempDir(), "film.bin")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := c.Add(ctx, apitype.AddRequest{Path: src, Title: "Film"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.bin")
	var last apitype.Progress
	if err := c.Get(ctx, res.MRI, out, func(p apitype.Progress) { last = p }); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Fatalf("the file differs (%d bytes, want %d)", len(got), len(data))
	}
	if last.Bytes != int64(len(data)) || last.Total != int64(len(data)) {
		t.Errorf("last progress %+v", last)
	}
	if m, err := c.Metrics(ctx); err != nil || !strings.Contains(m, `path="POST /api/v1/get/fd"`) {
		t.Fatalf("the get did not go through /get/fd (%v)", err)
	}

	// A directory comes as a tar, as before.
	tree := map[string]string{"index.html": "<p>hi</p>", "a/b.txt": "bee"}
	dres, err := c.Add(ctx, apitype.AddRequest{Path: writeTree(t, tree), Title: "Site"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dout := filepath.Join(t.TempDir(), "site")
	if err := c.Get(ctx, dres.MRI, dout, nil); err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, dout); !maps.Equal(got, tree) {
		t.Fatalf("directory: %v", got)
	}

	// A ref that names nothing: one error, no file left.
	bad := filepath.Join(t.TempDir(), "bad")
	if err := c.Get(ctx, res.MRI+"/nope", bad, nil); err == nil {
		t.Fatal("get of a missing path succeeded")
	}
	if _, err := os.Lstat(bad); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed get left %s: %v", bad, err)
	}

	token, _ := os.ReadFile(filepath.Join(n.Home(), apitype.TokenFile))
	call := func(dial func(ctx context.Context, _, _ string) (net.Conn, error)) (int, string) {
		hc := &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
		defer hc.CloseIdleConnections()
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+apiAddr+apitype.APIPrefix+"/get/fd", strings.NewReader(`{"ref":"`+res.MRI+`"}`))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	viaFile := func(f *os.File) func(ctx context.Context, _, _ string) (net.Conn, error) {
		return func(ctx context.Context, _, _ string) (net.Conn, error) { return fdpass.Dial(ctx, sock, f) }
	}
	// Over TCP no descriptor can come: refused, naming what is missing.
	if code, body := call((&net.Dialer{}).DialContext); code != http.StatusBadRequest || !strings.Contains(body, "no file descriptor") {
		t.Errorf("over tcp: %d %s", code, body)
	}
	// A file that is not empty is not overwritten.
	keep := filepath.Join(t.TempDir(), "keep")
	if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	kf, err := os.OpenFile(keep, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer kf.Close()
	if code, body := call(viaFile(kf)); code != http.StatusBadRequest || !strings.Contains(body, "not empty") {
		t.Errorf("non-empty file: %d %s", code, body)
	}
	if got, _ := os.ReadFile(keep); string(got) != "mine" {
		t.Errorf("the file was changed: %q", got)
	}
	// Nor is a file the client could only read.
	ro, err := os.Open(filepath.Join(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if code, body := call(viaFile(ro)); code != http.StatusBadRequest {
		t.Errorf("a directory: %d %s", code, body)
	}
	// Without the token, nothing is written.
	ef, err := os.Create(filepath.Join(t.TempDir(), "empty"))
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	hc := &http.Client{Transport: &http.Transport{DialContext: viaFile(ef), DisableKeepAlives: true}}
	resp, err := hc.Post("http://"+apiAddr+apitype.APIPrefix+"/get/fd", "application/json", strings.NewReader(`{"ref":"`+res.MRI+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	hc.CloseIdleConnections()
	if fi, _ := ef.Stat(); resp.StatusCode != http.StatusUnauthorized || fi.Size() != 0 {
		t.Errorf("without the token: %d, %d bytes written", resp.StatusCode, fi.Size())
	}
}
