package node

import (
	"context"
	"time"

	"github.com/myconet/myconet/store"
)

// followInterval is how often followed bookmarks of mutable MRIs are
// resolved, and new versions fetched.
const followInterval = 5 * time.Minute

// followSoon resolves the followed bookmarks in the background now, when
// the node is online.
func (n *Node) followSoon() {
	if ns := n.network(); ns != nil {
		ns.goOwned(func(ctx context.Context) { n.followOnce(ctx) })
	}
}

// follow runs followOnce every followInterval.
func (n *Node) follow(ctx context.Context) {
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n.followOnce(ctx)
		t.Reset(followInterval)
	}
}

// RefreshFollowed resolves every followed bookmark now and fetches what it
// points at (the node also does this every few minutes).
func (n *Node) RefreshFollowed(ctx context.Context) { n.followOnce(ctx) }

// followOnce resolves every followed bookmark and fetches what it points at.
func (n *Node) followOnce(ctx context.Context) {
	bms, err := n.db.Bookmarks()
	if err != nil {
		n.log.Warn("follow: cannot read bookmarks", "err", err)
		return
	}
	for _, b := range bms {
		if !b.Follow {
			continue
		}
		m, kept, err := n.resolveRefKept(ctx, b.Target)
		if err != nil || kept != nil { // a kept resolution is no news
			n.log.Debug("follow: resolve", "bookmark", b.Name, "err", err)
			continue
		}
		if err := n.ensureLocal(ctx, m.Root, store.ReasonLocal, nil); err != nil {
			n.log.Debug("follow: fetch", "bookmark", b.Name, "target", m.Root, "err", err)
			continue
		}
		// Kept only once fetched and pinned, so that it opens offline.
		n.keepResolution(b, m.Root)
		n.log.Debug("follow: up to date", "bookmark", b.Name, "target", m.Root)
	}
}
