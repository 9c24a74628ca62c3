package library

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"

	"github.com/myconet/myconet/metadata"
	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/content"
	"github.com/myconet/myconet/node/internal/p2px"
	"github.com/myconet/myconet/node/internal/svc"
	"github.com/myconet/myconet/store"
)

// resolved is a ref turned into local objects.
type resolved struct {
	m    mri.MRI
	kept *time.Time        // the ref was a channel resolved from a followed bookmark's last resolution, made then
	pkg  *metadata.Package // nil for a bare UnixFS root
	stat apitype.PathStat
	nd   ipld.Node
	rd   *content.Reader // reads the DAG (fetching on demand when streaming)
	rb   *remoteBlocks   // what rd reads through while streaming; else nil
}

// LoadPackage reads and decodes the package root; a bare UnixFS root yields nil.
func (s *Service) LoadPackage(root cid.Cid) (*metadata.Package, error) {
	return s.loadPackageFrom(s.db, root)
}

// loadPackageFrom is LoadPackage reading through bs.
func (s *Service) loadPackageFrom(bs content.Blocks, root cid.Cid) (*metadata.Package, error) {
	if root.Type() != cid.DagCBOR {
		ok, err := s.db.Has(root)
		if !ok && err == nil && bs != content.Blocks(s.db) {
			err = bs.View(root, func([]byte) error { return nil }) // fetch it
			ok = err == nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, svc.StoreErr(err)
		} else if !ok {
			return nil, apitype.Errorf(apitype.CodeNotFound, "%s is not in the local store", root)
		}
		return nil, nil
	}
	data, err := bs.Get(root)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apitype.Errorf(apitype.CodeNotFound, "package %s is not in the local store", root)
	}
	if err != nil {
		return nil, svc.StoreErr(err)
	}
	p, err := metadata.Decode(data)
	if err != nil {
		return nil, apitype.Errorf(apitype.CodeCorrupt, "%s is not a valid package: %v", root, err)
	}
	return p, nil
}

// resolve turns a ref into the package and the UnixFS node its path names,
// with the whole package in the store (fetched first if need be).
func (s *Service) resolve(ctx context.Context, ref string) (*resolved, error) {
	return s.resolveFor(ctx, ref, false)
}

// resolveStreaming is resolve for reads of a few blocks (stat, info, ls, one
// file or a range of it): when the package is not held, they read through
// the network, fetching the blocks they need first, while the whole package
// is fetched in the background.
func (s *Service) resolveStreaming(ctx context.Context, ref string) (*resolved, error) {
	return s.resolveFor(ctx, ref, true)
}

func (s *Service) resolveFor(ctx context.Context, ref string, stream bool) (*resolved, error) {
	m, kept, err := s.resolveRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := s.withheld(ctx, m.Root); err != nil {
		return nil, err
	}
	// Only a pinned root is whole: a root merely present may be the top of
	// a fetch in flight (a replica being taken) or of an interrupted one.
	// ensureLocal joins the fetch in flight, or completes what is missing.
	bs := content.Blocks(s.db)
	var rb *remoteBlocks
	if ok, err := s.Have(m.Root); err != nil {
		return nil, err
	} else if !ok {
		switch rb = s.streamFrom(ctx, m.Root, stream); {
		case rb != nil:
			bs = rb
		case stream && s.network() == nil && s.hasBlock(m.Root):
			// Offline: read what is here; a block that is not fails the
			// read that needs it.
		default:
			if err := s.EnsureLocal(ctx, m.Root, store.ReasonCache, nil); err != nil {
				return nil, err
			}
		}
	}
	pkg, err := s.loadPackageFrom(bs, m.Root)
	if err != nil {
		return nil, err
	}
	r := &resolved{m: m, kept: kept, pkg: pkg, rd: content.NewReader(bs), rb: rb}
	r.stat.Package, r.stat.Content = m.Root, m.Root
	if pkg != nil {
		r.stat.Content = pkg.Content
		r.stat.Entry = pkg.Meta.Entry
		r.stat.Title = pkg.Meta.Title
	}
	segs := m.Segments()
	nd, st, err := r.rd.Resolve(ctx, r.stat.Content, segs)
	if err != nil {
		return nil, ReadErr(err, m)
	}
	r.nd = nd
	r.stat.CID, r.stat.Type, r.stat.Size, r.stat.Target = st.CID, st.Type, st.Size, st.Target
	if len(segs) > 0 {
		r.stat.Name = segs[len(segs)-1]
	} else if r.stat.Type == content.TypeFile {
		// The signed name travels with the package; packages made before
		// it fall back on the name kept with this node's pin.
		if pkg != nil && pkg.Meta.Name != "" {
			r.stat.Name = pkg.Meta.Name
		} else {
			r.stat.Name = s.pinnedName(m.Root)
		}
	}
	_ = s.db.Touch(m.Root)
	return r, nil
}

// Reader reads DAGs out of the store.
func (s *Service) Reader() *content.Reader { return content.NewReader(s.db) }

// Stat describes what ref names.
func (s *Service) Stat(ctx context.Context, ref string) (apitype.PathStat, error) {
	r, err := s.resolveStreaming(ctx, ref)
	if err != nil {
		return apitype.PathStat{}, err
	}
	return r.stat, nil
}

// OpenFile opens the file ref names for random access.
func (s *Service) OpenFile(ctx context.Context, ref string) (apitype.ReadSeekCloser, apitype.PathStat, error) {
	r, err := s.resolveStreaming(ctx, ref)
	if err != nil {
		return nil, apitype.PathStat{}, err
	}
	f, err := r.rd.Open(ctx, r.nd)
	if err != nil {
		return nil, apitype.PathStat{}, ReadErr(err, r.m)
	}
	return f, r.stat, nil
}

// WriteTar writes the directory ref names as a tar stream.
func (s *Service) WriteTar(ctx context.Context, ref string, w io.Writer) error {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	return ReadErr(s.Reader().WriteTar(ctx, r.nd, w), r.m)
}

// Add implements API.
func (s *Service) Add(ctx context.Context, req apitype.AddRequest, progress func(apitype.Progress)) (apitype.AddResult, error) {
	meta := metadata.Meta{
		Title: req.Title, Description: req.Description, Tags: metadata.FoldTags(req.Tags), Kind: req.Kind,
		Language: req.Language, License: req.License, Authors: req.Authors, Entry: req.Entry,
		Created: s.now().UTC().Truncate(time.Second),
	}
	if req.Previous != "" {
		pm, err := ParseRef(req.Previous)
		if err != nil {
			return apitype.AddResult{}, apitype.Errorf(apitype.CodeInvalid, "previous: %v", err)
		}
		meta.Previous = pm.Root
	}
	if err := meta.Validate(); err != nil {
		return apitype.AddResult{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	if req.Path == "" {
		return apitype.AddResult{}, apitype.Errorf(apitype.CodeInvalid, "add: no path given")
	}
	plan, err := content.PlanPathOptions(req.Path, content.PlanOptions{Hidden: req.Hidden, NoFollowLinks: req.NoFollowLinks})
	if err != nil {
		return apitype.AddResult{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	if plan.IsDir && meta.Entry == "" && (meta.Kind == "" || meta.Kind == metadata.KindSite) {
		if st, err := os.Stat(path.Join(plan.Path, "index.html")); err == nil && st.Mode().IsRegular() {
			meta.Entry = "index.html"
			if meta.Kind == "" {
				meta.Kind = metadata.KindSite
			}
		}
	}
	if name := fileName(plan); metadata.CheckName(name) == nil {
		meta.Name = name // a name no reader could write (a control character, too long) stays local only
	}
	batch, err := s.db.NewBatch(store.BatchOptions{Expected: plan.Bytes})
	if err != nil {
		return apitype.AddResult{}, svc.StoreErr(err)
	}
	defer batch.Abort() // a no-op once committed

	var onProgress func(content.Progress)
	if progress != nil {
		onProgress = func(p content.Progress) {
			progress(apitype.Progress{Bytes: p.Bytes, Total: p.Total, Blocks: p.Blocks, Files: p.Files})
		}
	}
	// The batch takes the leaves' CRC-32C from the importer (content.SumSink).
	res, err := content.Import(ctx, batch, plan, content.ImportOptions{Hidden: req.Hidden, Progress: onProgress})
	if err != nil {
		if errors.Is(err, content.ErrUnreadable) || errors.Is(err, content.ErrSymlink) {
			return apitype.AddResult{}, apitype.Wrap(apitype.CodeInvalid, err)
		}
		return apitype.AddResult{}, svc.StoreErr(err)
	}
	if err := batch.Flush(); err != nil {
		return apitype.AddResult{}, svc.StoreErr(err)
	}
	if meta.Entry != "" {
		segs, err := entrySegments(meta.Entry)
		if err == nil {
			_, _, err = content.NewReader(s.db).Resolve(ctx, res.Root, segs)
		}
		if err != nil {
			return apitype.AddResult{}, apitype.Errorf(apitype.CodeInvalid, "metadata: entry: %q is not in the package", meta.Entry)
		}
	}
	meta.Size, meta.Files = uint64(res.Bytes), uint64(res.Files)
	pkg, err := metadata.New(res.Root, meta, s.opt.Key)
	if err != nil {
		return apitype.AddResult{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	enc, err := pkg.Encode()
	if err != nil {
		return apitype.AddResult{}, err
	}
	pc, err := pkg.CID()
	if err != nil {
		return apitype.AddResult{}, err
	}
	now := s.now()
	err = batch.Commit(store.Commit{
		Blocks: []store.Block{{CID: pc, Data: enc}},
		Pin:    store.Pin{Root: pc, Reason: store.ReasonLocal, Name: fileName(plan), Created: now, Accessed: now, Size: res.Bytes},
		Package: &store.PackageRecord{
			CID: pc, Content: res.Root, Title: meta.Title, Kind: meta.Kind, Size: res.Bytes,
			Files: res.Files, Publisher: pkg.Publisher, Added: now,
		},
	})
	if err != nil {
		return apitype.AddResult{}, svc.StoreErr(err)
	}
	s.changed(pc)
	s.announce(pc)
	m, _ := mri.New(pc, "")
	s.log.Info("added package", "package", pc, "title", meta.Title, "bytes", res.Bytes, "files", res.Files)
	out := apitype.AddResult{MRI: m.String(), Package: pc.String(), Content: res.Root.String(), Size: res.Bytes, Files: res.Files}
	if l := plan.Links; l.Followed+l.Kept > 0 {
		out.Links = &apitype.LinkReport{Followed: l.Followed, Kept: l.Kept, Dangling: l.Dangling, Examples: l.Examples}
	}
	return out, nil
}

// entrySegments splits a metadata entry (already validated: relative, no "..").
func entrySegments(entry string) ([]string, error) {
	clean := path.Clean(entry)
	if clean == "." || path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return nil, fmt.Errorf("bad entry %q", entry)
	}
	return strings.Split(clean, "/"), nil
}

// Info implements API.
func (s *Service) Info(ctx context.Context, ref string) (apitype.PackageInfo, error) {
	r, err := s.resolveStreaming(ctx, ref)
	if err != nil {
		return apitype.PackageInfo{}, err
	}
	root, _ := mri.New(r.m.Root, "")
	info := apitype.PackageInfo{
		MRI:     root.String(),
		Package: r.stat.Package.String(),
		Content: r.stat.Content.String(),
	}
	if r.pkg != nil {
		info.Meta = apiMeta(r.pkg.Meta)
		info.Publisher = p2px.PeerIDFromEd25519(r.pkg.Publisher).String()
		info.PublisherKey = base64.StdEncoding.EncodeToString(r.pkg.Publisher)
		info.SignatureValid = r.pkg.Verify() == nil
	}
	if r.m.Path == "" && r.stat.Type == content.TypeFile {
		info.Name = r.stat.Name
	}
	if r.m.Path != "" {
		info.Path = r.m.Path
		info.PathCID = r.stat.CID.String()
		info.PathType = r.stat.Type
		info.PathSize = r.stat.Size
	}
	pins, err := s.db.PinsOf(r.m.Root)
	if err != nil {
		return apitype.PackageInfo{}, svc.StoreErr(err)
	}
	for _, p := range pins {
		info.Pins = append(info.Pins, string(p.Reason))
	}
	if s.opt.Annotations != nil {
		info.Annotations = s.opt.Annotations(r.m.Root)
	}
	if s.opt.RetractedNote != nil {
		info.Retracted = s.opt.RetractedNote(r.m.Root)
	}
	if r.kept != nil {
		info.Stale, info.ResolvedAt = true, *r.kept
	}
	return info, nil
}

func apiMeta(m metadata.Meta) apitype.Meta {
	out := apitype.Meta{
		Title: m.Title, Description: m.Description, Tags: m.Tags, Language: m.Language,
		License: m.License, Authors: m.Authors, Kind: m.Kind, Entry: m.Entry, Name: m.Name, Size: m.Size, Files: m.Files,
	}
	if !m.Created.IsZero() {
		out.Created = m.Created.UTC().Format(time.RFC3339)
	}
	if m.Previous.Defined() {
		out.Previous = m.Previous.String()
	}
	return out
}

// Ls implements API.
func (s *Service) Ls(ctx context.Context, ref string) ([]apitype.Entry, error) {
	r, err := s.resolveStreaming(ctx, ref)
	if err != nil {
		return nil, err
	}
	if r.stat.Type != content.TypeDir {
		return []apitype.Entry{{Name: r.stat.Name, CID: r.stat.CID.String(), Size: r.stat.Size, Type: r.stat.Type}}, nil
	}
	ents, err := r.rd.List(ctx, r.nd)
	if err != nil {
		return nil, ReadErr(err, r.m)
	}
	out := make([]apitype.Entry, len(ents))
	for i, e := range ents {
		out[i] = apitype.Entry{Name: e.Name, CID: e.Stat.CID.String(), Size: e.Stat.Size, Type: e.Stat.Type}
	}
	return out, nil
}

// Cat implements API.
func (s *Service) Cat(ctx context.Context, ref string, w io.Writer) error {
	r, err := s.resolveStreaming(ctx, ref)
	if err != nil {
		return err
	}
	if r.stat.Type != content.TypeFile {
		return apitype.Errorf(apitype.CodeInvalid, "%s is a %s, not a file (use ls or get)", r.m, r.stat.Type)
	}
	r.rb.follow() // read from the start, as the whole fetch brings it
	return ReadErr(r.rd.WriteFile(ctx, r.nd, w, nil), r.m)
}

// Get implements API.
func (s *Service) Get(ctx context.Context, ref, dest string, progress func(apitype.Progress)) error {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(dest); err == nil {
		return apitype.Errorf(apitype.CodeInvalid, "%s already exists", dest)
	}
	var onProgress func(content.Progress)
	if progress != nil {
		total := r.stat.Size
		onProgress = func(p content.Progress) {
			progress(apitype.Progress{Bytes: p.Bytes, Total: total, Files: p.Files})
		}
	}
	if err := s.Reader().WriteTree(ctx, r.nd, dest, onProgress); err != nil {
		return ReadErr(err, r.m)
	}
	return nil
}

var _ content.SumSink = (*store.Batch)(nil)

// fileName is the name a single file is added under, kept with its pin (a
// directory's entries carry their own names; a lone file's root has none).
func fileName(plan content.Plan) string {
	if plan.IsDir {
		return ""
	}
	return filepath.Base(plan.Path)
}

// pinnedName is the file name kept with root's pins, if any.
func (s *Service) pinnedName(root cid.Cid) string {
	pins, err := s.db.PinsOf(root)
	if err != nil {
		return ""
	}
	for _, p := range pins {
		if p.Name != "" {
			return p.Name
		}
	}
	return ""
}
