package node

import (
	"context"
	"time"

	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/store"
)

// followInterval is how often followed bookmarks of mutable MRIs are
// resolved, and new versions fetched.
const followInterval = 5 * time.Minute

// BookmarkFollow implements API: it turns following on or off for a bookmark. A followed
// bookmark of a mutable MRI (myco://<peer>/<channel>) has each new version
// fetched and pinned local as it appears, so it reads offline.
func (n *Node) BookmarkFollow(ctx context.Context, name string, follow bool) (Bookmark, error) {
	b, err := n.db.Bookmark(name)
	if err != nil {
		return Bookmark{}, storeErr(err)
	}
	if follow {
		if m, err := mri.Parse(b.Target); err != nil || !m.Mutable() {
			return Bookmark{}, codedf(CodeInvalid, "bookmark %q names a package, not a channel: there is nothing to follow", name)
		}
	}
	b.Follow = follow
	if err := n.db.PutBookmark(b); err != nil {
		return Bookmark{}, storeErr(err)
	}
	if follow {
		if ns := n.network(); ns != nil {
			ns.goOwned(func(ctx context.Context) { n.followOnce(ctx) })
		}
	}
	return n.apiBookmark(b), nil
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
		m, err := n.resolveRef(ctx, b.Target)
		if err != nil {
			n.log.Debug("follow: resolve", "bookmark", b.Name, "err", err)
			continue
		}
		if err := n.ensureLocal(ctx, m.Root, store.ReasonLocal, nil); err != nil {
			n.log.Debug("follow: fetch", "bookmark", b.Name, "target", m.Root, "err", err)
			continue
		}
		n.log.Debug("follow: up to date", "bookmark", b.Name, "target", m.Root)
	}
}
