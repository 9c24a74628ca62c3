package fdpass

import (
	"context"
	"net"
	"os"
)

type connKey struct{}

// ConnContext is an http.Server's ConnContext: it makes a Listen
// connection reachable from its requests' contexts.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if fc, ok := c.(taker); ok {
		return context.WithValue(ctx, connKey{}, fc)
	}
	return ctx
}

type taker interface{ Take() *os.File }

// FromContext returns the file that came with the request whose context
// ctx is, or nil (none came, or the request did not arrive over a Listen
// socket). The caller closes it.
func FromContext(ctx context.Context) *os.File {
	if fc, ok := ctx.Value(connKey{}).(taker); ok {
		return fc.Take()
	}
	return nil
}
