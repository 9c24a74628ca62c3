package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/httpapi"
)

// NewInProcess returns a client of api (usually an offline *node.Node) that
// speaks the real HTTP API, served by httpapi.New over in-memory
// connections: the CLI runs the same code with and without a daemon. Close
// the client to stop the server; api itself stays open.
func NewInProcess(api apitype.API, log *slog.Logger) *Client {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	ln := newPipeListener()
	srv := &http.Server{
		Handler:           httpapi.New(api, token, log),
		ReadHeaderTimeout: 10 * time.Second,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // returns when ln or srv closes
	}()
	c := newClient("http://localhost", token, func(ctx context.Context, _, _ string) (net.Conn, error) {
		return ln.dial(ctx)
	})
	var once sync.Once
	var cerr error
	c.close = func() error {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				cerr = srv.Close()
			}
			<-done
		})
		return cerr
	}
	return c
}

// pipeListener is a net.Listener whose connections are net.Pipe pairs.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial(ctx context.Context) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		client.Close()
		server.Close()
		return nil, errors.New("in-process API: closed")
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "in-process" }
