package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/myconet/myconet/node/apitype"
)

// OpenGet starts the download of what a ref names, as GET /get answers it:
// typ is "file" (the body is the file's bytes) or "dir" (the body is a tar
// stream of the directory's contents). Reading the body to its end returns
// the server's trailer error, if any, instead of io.EOF, so a failure after
// the headers is never taken for a short file. The caller closes the body.
func (c *Client) OpenGet(ctx context.Context, ref string) (typ string, body io.ReadCloser, err error) {
	resp, err := c.request(ctx, http.MethodGet, "/get", refQuery(ref), nil, "")
	if err != nil {
		return "", nil, err
	}
	typ = resp.Header.Get(apitype.HeaderType)
	if typ != "file" && typ != "dir" {
		resp.Body.Close()
		return "", nil, fmt.Errorf("the API answered an unknown %s %q", apitype.HeaderType, typ)
	}
	return typ, &trailerBody{ctx: ctx, resp: resp}, nil
}

// trailerBody is a response body whose end reports the trailer error.
type trailerBody struct {
	ctx  context.Context
	resp *http.Response
}

func (b *trailerBody) Read(p []byte) (int, error) {
	n, err := b.resp.Body.Read(p)
	switch {
	case errors.Is(err, io.EOF):
		if terr := trailerError(b.resp); terr != nil {
			return n, terr
		}
	case err != nil && b.ctx.Err() != nil:
		return n, b.ctx.Err()
	}
	return n, err
}

func (b *trailerBody) Close() error { return b.resp.Body.Close() }
