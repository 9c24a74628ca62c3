package library

import (
	"context"
	"errors"
	"io"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/metadata"
	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/content"
	"github.com/myconet/myconet/node/internal/svc"
	"github.com/myconet/myconet/store"
)

// Pins implements API.
func (s *Service) Pins(ctx context.Context) ([]apitype.PinInfo, error) {
	pins, err := s.db.Pins()
	if err != nil {
		return nil, svc.StoreErr(err)
	}
	out := make([]apitype.PinInfo, 0, len(pins))
	for _, p := range pins {
		m, _ := mri.New(p.Root, "")
		info := apitype.PinInfo{MRI: m.String(), Root: p.Root.String(), Reason: string(p.Reason), Size: p.Size, Created: p.Created, Accessed: p.Accessed}
		if rec, err := s.db.Package(p.Root); err == nil {
			info.Title = rec.Title
		}
		out = append(out, info)
	}
	return out, nil
}

// Unpin implements API.
func (s *Service) Unpin(ctx context.Context, ref, reason string) error {
	m, err := ParseRef(ref)
	if err != nil {
		return err
	}
	pins, err := s.db.PinsOf(m.Root)
	if err != nil {
		return svc.StoreErr(err)
	}
	removed := 0
	for _, p := range pins {
		if reason != "" && string(p.Reason) != reason {
			continue
		}
		if err := s.db.RemovePin(m.Root, p.Reason); err != nil {
			return svc.StoreErr(err)
		}
		removed++
	}
	s.changed(m.Root)
	s.unprovide(ctx)
	if removed == 0 {
		if reason != "" {
			return apitype.Errorf(apitype.CodeNotFound, "%s is not pinned with reason %q", m.Root, reason)
		}
		return apitype.Errorf(apitype.CodeNotFound, "%s is not pinned", m.Root)
	}
	return nil
}

// GC implements API. Package records whose root block is gone go too.
func (s *Service) GC(ctx context.Context) (apitype.GCResult, error) {
	res, err := s.db.GC(ctx)
	if err != nil {
		return apitype.GCResult{}, svc.StoreErr(err)
	}
	recs, err := s.db.Packages()
	if err != nil {
		return apitype.GCResult{}, svc.StoreErr(err)
	}
	for _, r := range recs {
		if ok, err := s.db.Has(r.CID); err == nil && !ok {
			if err := s.db.DeletePackage(r.CID); err != nil {
				return apitype.GCResult{}, svc.StoreErr(err)
			}
		}
	}
	s.changed()
	s.unprovide(ctx)
	return apitype.GCResult{Removed: res.Removed, Freed: res.Freed}, nil
}

// Export implements API: a CARv1 rooted at the package (or at the UnixFS node
// the ref's path names).
func (s *Service) Export(ctx context.Context, ref string, w io.Writer) error {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	root := r.m.Root
	if r.m.Path != "" {
		root = r.stat.CID
	}
	return ReadErr(content.WriteCAR(ctx, s.db, []cid.Cid{root}, BlockLinks, w), r.m)
}

// Import implements API: every block is verified; every root must be complete;
// package roots must carry a valid signature. Nothing becomes visible unless
// all of that holds.
func (s *Service) Import(ctx context.Context, r io.Reader) (apitype.ImportResult, error) {
	batch, err := s.db.NewBatch(store.BatchOptions{})
	if err != nil {
		return apitype.ImportResult{}, svc.StoreErr(err)
	}
	defer batch.Abort()
	var res apitype.ImportResult
	roots, err := content.ReadCAR(ctx, r, func(c cid.Cid, data []byte) error {
		res.Blocks++
		res.Bytes += int64(len(data))
		return batch.Put(c, data)
	})
	if errors.Is(err, content.ErrBadCAR) {
		return apitype.ImportResult{}, apitype.Errorf(apitype.CodeInvalid, "import: %v", err)
	}
	if err != nil {
		return apitype.ImportResult{}, svc.StoreErr(err)
	}
	if err := batch.Flush(); err != nil {
		return apitype.ImportResult{}, svc.StoreErr(err)
	}
	now := s.now()
	type rootInfo struct {
		c   cid.Cid
		rec *store.PackageRecord
	}
	var infos []rootInfo
	for _, root := range roots {
		size := int64(0)
		err := content.Walk(ctx, s.db, root, BlockLinks, func(c cid.Cid, data []byte) error {
			size += int64(len(data))
			return nil
		})
		if err != nil {
			return apitype.ImportResult{}, apitype.Errorf(apitype.CodeInvalid, "import: root %s is incomplete in the CAR: %v", root, err)
		}
		ri := rootInfo{c: root}
		if root.Type() == cid.DagCBOR {
			data, err := s.db.Get(root)
			if err != nil {
				return apitype.ImportResult{}, svc.StoreErr(err)
			}
			p, err := metadata.Decode(data)
			if err != nil {
				return apitype.ImportResult{}, apitype.Errorf(apitype.CodeInvalid, "import: root %s is not a valid package: %v", root, err)
			}
			if err := p.Verify(); err != nil {
				return apitype.ImportResult{}, apitype.Errorf(apitype.CodeInvalid, "import: package %s: %v", root, err)
			}
			ri.rec = &store.PackageRecord{
				CID: root, Content: p.Content, Title: p.Meta.Title, Kind: p.Meta.Kind,
				Size: int64(p.Meta.Size), Files: int64(p.Meta.Files), Publisher: p.Publisher, Added: now,
			}
		}
		infos = append(infos, ri)
		m, _ := mri.New(root, "")
		res.Roots = append(res.Roots, m.String())
		_ = size
	}
	for i, ri := range infos {
		pin := store.Pin{Root: ri.c, Reason: store.ReasonLocal, Created: now, Accessed: now}
		if ri.rec != nil {
			pin.Size = ri.rec.Size
		}
		if i == 0 {
			if err := batch.Commit(store.Commit{Pin: pin, Package: ri.rec}); err != nil {
				return apitype.ImportResult{}, svc.StoreErr(err)
			}
			continue
		}
		if ri.rec != nil {
			if err := s.db.PutPackage(*ri.rec); err != nil {
				return apitype.ImportResult{}, svc.StoreErr(err)
			}
		}
		if err := s.db.AddPin(pin); err != nil {
			return apitype.ImportResult{}, svc.StoreErr(err)
		}
	}
	s.changed()
	for _, ri := range infos { // announce and replicate what was imported
		s.announce(ri.c)
	}
	return res, nil
}

// Quota returns the store's side of the quota: disk, pins, packages. The
// node adds the configured limits and the network's counters.
func (s *Service) Quota() (apitype.QuotaInfo, error) {
	u, err := s.db.Usage()
	if err != nil {
		return apitype.QuotaInfo{}, svc.StoreErr(err)
	}
	info := apitype.QuotaInfo{Disk: LimitOf(u.Quota), DiskUsed: u.Bytes, Blocks: u.Blocks, ByReason: map[string]int64{}}
	for r, b := range u.ByReason {
		info.ByReason[string(r)] = b
	}
	if pins, err := s.db.Pins(); err == nil {
		info.PinsCount = int64(len(pins))
	}
	if recs, err := s.db.Packages(); err == nil {
		info.Packages = int64(len(recs))
	}
	return info, nil
}

// LimitOf turns a limit in the internal convention (0 = none) into the
// API's (Unlimited).
func LimitOf(n int64) int64 {
	if n <= 0 {
		return apitype.Unlimited
	}
	return n
}
