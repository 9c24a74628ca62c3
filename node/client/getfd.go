package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/fdpass"
)

// getFD is Get of a file through the daemon's Unix socket: the client
// creates dest and hands its descriptor to the daemon, which writes the
// file as the package arrives (POST /get/fd), so the bytes do not cross a
// socket to the client and back into the kernel. done is false when the
// ref names a directory: the caller then gets it as a tar (dest is left
// absent). Every daemon with the socket offers /get/fd.
func (c *Client) getFD(ctx context.Context, ref, dest string, progress func(apitype.Progress)) (done bool, reterr error) {
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return true, fmt.Errorf("get: %w", err)
	}
	defer func() {
		f.Close()
		if reterr != nil || !done {
			os.Remove(dest)
		}
	}()
	hc := &http.Client{Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return fdpass.Dial(ctx, c.sock, f)
		},
		DisableKeepAlives: true, // the descriptor goes with one request
	}}
	defer hc.CloseIdleConnections()
	body, _ := json.Marshal(apitype.RefRequest{Ref: ref})
	resp, err := c.do(ctx, hc, http.MethodPost, "/get/fd", nil, bytes.NewReader(body), "application/json")
	if err != nil {
		return true, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusConflict: // a directory
		return false, nil
	case resp.StatusCode/100 != 2:
		return true, decodeError(resp)
	}
	last, err := readProgress[apitype.Progress](ctx, "/get/fd", resp, progress)
	if err == nil && progress != nil {
		progress(last) // the whole file: the progress lines are throttled
	}
	return true, err
}
