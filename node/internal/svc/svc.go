// Package svc holds what the node's services need alike: a group of
// goroutines a service owns and waits for when it stops, the API codes of
// store errors, and reading a package root out of the store. Of this
// module it imports only node/apitype, metadata and store.
package svc

import (
	"context"
	"errors"
	"sync"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/metadata"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/store"
)

// Group is the goroutines of one service (or one network session of it):
// Go starts one, Stop cancels their context and waits for them, and nothing
// starts once Stop began. Its methods are safe for concurrent use.
type Group struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	stopped bool // guarded by mu
}

// NewGroup returns a group whose goroutines' context ends with parent or Stop.
func NewGroup(parent context.Context) *Group {
	g := &Group{}
	g.ctx, g.cancel = context.WithCancel(parent)
	return g
}

// Go runs f on a goroutine of the group, with the group's context; after
// Stop began it does nothing.
func (g *Group) Go(f func(ctx context.Context)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		f(g.ctx)
	}()
}

// Context is the context the group's goroutines get.
func (g *Group) Context() context.Context { return g.ctx }

// Stopping reports whether Stop began.
func (g *Group) Stopping() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stopped
}

// Cancel ends the goroutines' context, and Go starts nothing from then on.
// A service that must unblock its goroutines some other way (closing a
// transport) does that between Cancel and Wait.
func (g *Group) Cancel() {
	g.mu.Lock()
	g.stopped = true
	g.mu.Unlock()
	g.cancel()
}

// Wait waits for the goroutines Go started.
func (g *Group) Wait() { g.wg.Wait() }

// Stop is Cancel and Wait. It is idempotent.
func (g *Group) Stop() {
	g.Cancel()
	g.Wait()
}

// StoreErr gives store errors their API codes.
func StoreErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return apitype.Wrap(apitype.CodeNotFound, err)
	case errors.Is(err, store.ErrQuota):
		return apitype.Wrap(apitype.CodeQuota, err)
	case errors.Is(err, store.ErrCorrupt):
		return apitype.Wrap(apitype.CodeCorrupt, err)
	case errors.Is(err, store.ErrLocked):
		return apitype.Wrap(apitype.CodeLocked, err)
	case errors.Is(err, store.ErrBadName), errors.Is(err, store.ErrNotPinned):
		return apitype.Wrap(apitype.CodeInvalid, err)
	}
	return err
}

// PackageRoot reads and decodes a package root block held in db, and
// returns its bytes too.
func PackageRoot(db *store.DB, c cid.Cid) (*metadata.Package, []byte, error) {
	data, err := db.Get(c)
	if err != nil {
		return nil, nil, err
	}
	pkg, err := metadata.Decode(data)
	if err != nil {
		return nil, nil, err
	}
	return pkg, data, nil
}
