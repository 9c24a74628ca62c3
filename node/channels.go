package node

import (
	"context"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/channels"
	"github.com/myconet/myconet/store"
)

// newChannels builds the channels and bookmarks service (node/channels) on
// the node's store and key, fetching through the node and linking to its
// gateway.
func (n *Node) newChannels() *channels.Service {
	return channels.New(channels.Config{
		DB: n.db, Logger: n.baseLog, Key: n.id.Priv, Self: n.id.PeerID, Now: n.now,
		Fetch: func(ctx context.Context, root cid.Cid) error {
			return n.ensureLocal(ctx, root, store.ReasonLocal, nil)
		},
		URL: n.GatewayURL,
	})
}

// Publish implements API: see channels.Service.Publish (it needs the
// network).
func (n *Node) Publish(ctx context.Context, channel, ref string) (apitype.PublishResult, error) {
	return n.chans.Publish(ctx, channel, ref)
}

// Channels lists this node's channels (works offline).
func (n *Node) Channels(ctx context.Context) ([]apitype.PublishResult, error) {
	return n.chans.Channels(ctx)
}

// Bookmarks implements API.
func (n *Node) Bookmarks(ctx context.Context) ([]apitype.Bookmark, error) {
	return n.chans.Bookmarks(ctx)
}

// BookmarkAdd implements API.
func (n *Node) BookmarkAdd(ctx context.Context, req apitype.BookmarkRequest) (apitype.Bookmark, error) {
	return n.chans.BookmarkAdd(ctx, req)
}

// BookmarkFollow implements API.
func (n *Node) BookmarkFollow(ctx context.Context, name string, follow bool) (apitype.Bookmark, error) {
	return n.chans.BookmarkFollow(ctx, name, follow)
}

// BookmarkRm implements API.
func (n *Node) BookmarkRm(ctx context.Context, name string) error {
	return n.chans.BookmarkRm(ctx, name)
}

// OpenURL implements API.
func (n *Node) OpenURL(ctx context.Context, nameOrRef string) (apitype.URLResponse, error) {
	return n.chans.OpenURL(ctx, nameOrRef)
}

// RefreshFollowed resolves every followed bookmark now and fetches what it
// points at (the node also does this every few minutes).
func (n *Node) RefreshFollowed(ctx context.Context) { n.chans.RefreshFollowed(ctx) }

// resolveRef parses ref and, for a mutable MRI, resolves the channel to
// the package it points at now (see channels.Service.Resolve).
func (n *Node) resolveRef(ctx context.Context, ref string) (mri.MRI, error) {
	m, _, err := n.chans.Resolve(ctx, ref)
	return m, err
}
