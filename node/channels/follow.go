package channels

import (
	"context"
	"time"
)

// followInterval is how often followed bookmarks of mutable MRIs are
// resolved, and new versions fetched.
const followInterval = 5 * time.Minute

// followSoon resolves the followed bookmarks in the background now, when
// the node is online.
func (s *Service) followSoon() { s.goOnline(s.followOnce) }

// follow runs followOnce every followInterval.
func (s *Service) follow(ctx context.Context) {
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.followOnce(ctx)
		t.Reset(followInterval)
	}
}

// RefreshFollowed resolves every followed bookmark now and fetches what it
// points at (the node also does this every few minutes).
func (s *Service) RefreshFollowed(ctx context.Context) { s.followOnce(ctx) }

// followOnce resolves every followed bookmark and fetches what it points at.
func (s *Service) followOnce(ctx context.Context) {
	bms, err := s.cfg.DB.Bookmarks()
	if err != nil {
		s.log.Warn("follow: cannot read bookmarks", "err", err)
		return
	}
	for _, b := range bms {
		if !b.Follow {
			continue
		}
		m, kept, err := s.resolveKept(ctx, b.Target)
		if err != nil || kept != nil { // a kept resolution is no news
			s.log.Debug("follow: resolve", "bookmark", b.Name, "err", err)
			continue
		}
		if err := s.cfg.Fetch(ctx, m.Root); err != nil {
			s.log.Debug("follow: fetch", "bookmark", b.Name, "target", m.Root, "err", err)
			continue
		}
		// Kept only once fetched and pinned, so that it opens offline.
		s.keepResolution(b, m.Root)
		s.log.Debug("follow: up to date", "bookmark", b.Name, "target", m.Root)
	}
}
