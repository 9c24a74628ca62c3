package channels

import (
	"context"
	"errors"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/internal/svc"
	"github.com/myconet/myconet/store"
)

// Bookmarks lists the bookmarks.
func (s *Service) Bookmarks(ctx context.Context) ([]apitype.Bookmark, error) {
	bms, err := s.cfg.DB.Bookmarks()
	if err != nil {
		return nil, svc.StoreErr(err)
	}
	out := make([]apitype.Bookmark, len(bms))
	for i, b := range bms {
		out[i] = s.apiBookmark(b)
	}
	return out, nil
}

func (s *Service) apiBookmark(b store.Bookmark) apitype.Bookmark {
	out := apitype.Bookmark{Name: b.Name, MRI: b.Target, Created: b.Created, Follow: b.Follow}
	if m, err := mri.Parse(b.Target); err == nil && !m.Mutable() {
		out.URL = s.cfg.URL(m.Root, m.Path)
	}
	if b.Resolved.Defined() {
		if m, err := mri.New(b.Resolved, ""); err == nil {
			out.Resolved, out.ResolvedAt = m.String(), b.ResolvedAt
		}
	}
	return out
}

// BookmarkAdd adds a bookmark: one store transaction creates (or, with
// Force, replaces) the bookmark with its follow flag, so a refused request
// leaves the store as it was.
func (s *Service) BookmarkAdd(ctx context.Context, req apitype.BookmarkRequest) (apitype.Bookmark, error) {
	m, err := mri.Parse(req.Ref)
	if err != nil {
		return apitype.Bookmark{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	if req.Follow && !m.Mutable() {
		return apitype.Bookmark{}, apitype.Errorf(apitype.CodeInvalid, "%s names a package, not a channel (myco://PEER/NAME): there is nothing to follow", req.Ref)
	}
	b := store.Bookmark{Name: req.Name, Target: m.String(), Created: s.cfg.Now(), Follow: req.Follow}
	if err := s.cfg.DB.AddBookmark(b, req.Force); err != nil {
		if errors.Is(err, store.ErrExists) {
			old, _ := s.cfg.DB.Bookmark(req.Name)
			return apitype.Bookmark{}, apitype.Errorf(apitype.CodeInvalid, "bookmark %q already exists (→ %s): add --force to replace it", req.Name, old.Target)
		}
		return apitype.Bookmark{}, svc.StoreErr(err)
	}
	if req.Follow {
		s.followSoon()
	}
	return s.apiBookmark(b), nil
}

// BookmarkFollow turns following on or off for a bookmark. A followed
// bookmark of a mutable MRI (myco://<peer>/<channel>) has each new version
// fetched and pinned local as it appears, so it reads offline. Turning
// following off forgets the last resolution.
func (s *Service) BookmarkFollow(ctx context.Context, name string, follow bool) (apitype.Bookmark, error) {
	var out store.Bookmark
	err := s.cfg.DB.UpdateBookmark(name, func(b *store.Bookmark) error {
		if follow {
			if m, err := mri.Parse(b.Target); err != nil || !m.Mutable() {
				return apitype.Errorf(apitype.CodeInvalid, "bookmark %q names a package, not a channel: there is nothing to follow", name)
			}
		} else {
			b.Resolved, b.ResolvedAt = cid.Undef, time.Time{}
		}
		b.Follow = follow
		out = *b
		return nil
	})
	var coded *apitype.Error
	switch {
	case errors.As(err, &coded):
		return apitype.Bookmark{}, coded
	case errors.Is(err, store.ErrNotFound):
		return apitype.Bookmark{}, apitype.Errorf(apitype.CodeNotFound, "no bookmark named %q", name)
	case err != nil:
		return apitype.Bookmark{}, svc.StoreErr(err)
	}
	if follow {
		s.followSoon()
	}
	return s.apiBookmark(out), nil
}

// BookmarkRm removes a bookmark.
func (s *Service) BookmarkRm(ctx context.Context, name string) error {
	if _, err := s.cfg.DB.Bookmark(name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return apitype.Errorf(apitype.CodeNotFound, "no bookmark named %q", name)
		}
		return svc.StoreErr(err)
	}
	return svc.StoreErr(s.cfg.DB.DeleteBookmark(name))
}

// OpenURL is the gateway URL of a bookmark or a ref, a channel resolved
// to what it points at now (or, offline, to its kept resolution: Stale).
func (s *Service) OpenURL(ctx context.Context, nameOrRef string) (apitype.URLResponse, error) {
	target := nameOrRef
	var bm *store.Bookmark
	if b, err := s.cfg.DB.Bookmark(nameOrRef); err == nil {
		target, bm = b.Target, &b
	} else if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrBadName) {
		return apitype.URLResponse{}, svc.StoreErr(err)
	}
	if _, err := mri.Parse(target); err != nil {
		return apitype.URLResponse{}, apitype.Errorf(apitype.CodeInvalid, "%q is neither a bookmark nor a valid MRI: %v", nameOrRef, err)
	}
	m, stale, err := s.resolveKept(ctx, target)
	if err != nil {
		return apitype.URLResponse{}, err
	}
	out := apitype.URLResponse{URL: s.cfg.URL(m.Root, m.Path)}
	if stale != nil {
		out.Stale, out.ResolvedAt = true, stale.at
	} else if bm != nil && bm.Follow && !bm.Resolved.Equals(m.Root) {
		s.followSoon() // a new version: fetch and keep it now, not at the next round
	}
	return out, nil
}

// keptResolution is the last resolution of a channel that a followed
// bookmark kept.
type keptResolution struct {
	bookmark string
	target   cid.Cid
	at       time.Time
}

// keptResolutionOf returns the newest resolution that a bookmark following
// publisher's channel kept, or nil.
func (s *Service) keptResolutionOf(publisher, channel string) *keptResolution {
	bms, err := s.cfg.DB.Bookmarks()
	if err != nil {
		return nil
	}
	var best *keptResolution
	for _, b := range bms {
		if !b.Follow || !b.Resolved.Defined() {
			continue
		}
		m, err := mri.Parse(b.Target)
		if err != nil || !m.Mutable() || m.Publisher != publisher || m.Channel != channel {
			continue
		}
		if best == nil || b.ResolvedAt.After(best.at) {
			best = &keptResolution{bookmark: b.Name, target: b.Resolved, at: b.ResolvedAt}
		}
	}
	return best
}

// keepResolution records that the channel bookmark b follows pointed at
// target (fetched and pinned) now, unless the bookmark changed meanwhile.
func (s *Service) keepResolution(b store.Bookmark, target cid.Cid) {
	err := s.cfg.DB.UpdateBookmark(b.Name, func(cur *store.Bookmark) error {
		if cur.Target != b.Target || !cur.Follow {
			return errBookmarkChanged
		}
		cur.Resolved, cur.ResolvedAt = target, s.cfg.Now()
		return nil
	})
	if err != nil && !errors.Is(err, errBookmarkChanged) && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("follow: cannot keep the resolution", "bookmark", b.Name, "err", err)
	}
}

var errBookmarkChanged = errors.New("bookmark changed")
