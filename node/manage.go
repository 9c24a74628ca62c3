package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/metadata"
	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/content"
	"github.com/myconet/myconet/store"
)

// Pins implements API.
func (n *Node) Pins(ctx context.Context) ([]apitype.PinInfo, error) {
	pins, err := n.db.Pins()
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]apitype.PinInfo, 0, len(pins))
	for _, p := range pins {
		m, _ := mri.New(p.Root, "")
		info := apitype.PinInfo{MRI: m.String(), Root: p.Root.String(), Reason: string(p.Reason), Size: p.Size, Created: p.Created, Accessed: p.Accessed}
		if rec, err := n.db.Package(p.Root); err == nil {
			info.Title = rec.Title
		}
		out = append(out, info)
	}
	return out, nil
}

// Unpin implements API.
func (n *Node) Unpin(ctx context.Context, ref, reason string) error {
	m, err := parseRef(ref)
	if err != nil {
		return err
	}
	pins, err := n.db.PinsOf(m.Root)
	if err != nil {
		return storeErr(err)
	}
	removed := 0
	for _, p := range pins {
		if reason != "" && string(p.Reason) != reason {
			continue
		}
		if err := n.db.RemovePin(m.Root, p.Reason); err != nil {
			return storeErr(err)
		}
		removed++
	}
	n.searchChanged(m.Root)
	n.unprovideGone(ctx)
	if removed == 0 {
		if reason != "" {
			return apitype.Errorf(apitype.CodeNotFound, "%s is not pinned with reason %q", m.Root, reason)
		}
		return apitype.Errorf(apitype.CodeNotFound, "%s is not pinned", m.Root)
	}
	return nil
}

// GC implements API. Package records whose root block is gone go too.
func (n *Node) GC(ctx context.Context) (apitype.GCResult, error) {
	res, err := n.db.GC(ctx)
	if err != nil {
		return apitype.GCResult{}, storeErr(err)
	}
	recs, err := n.db.Packages()
	if err != nil {
		return apitype.GCResult{}, storeErr(err)
	}
	for _, r := range recs {
		if ok, err := n.db.Has(r.CID); err == nil && !ok {
			if err := n.db.DeletePackage(r.CID); err != nil {
				return apitype.GCResult{}, storeErr(err)
			}
		}
	}
	n.searchChanged()
	n.unprovideGone(ctx)
	return apitype.GCResult{Removed: res.Removed, Freed: res.Freed}, nil
}

// Export implements API: a CARv1 rooted at the package (or at the UnixFS node
// the ref's path names).
func (n *Node) Export(ctx context.Context, ref string, w io.Writer) error {
	r, err := n.resolve(ctx, ref)
	if err != nil {
		return err
	}
	root := r.m.Root
	if r.m.Path != "" {
		root = r.stat.CID
	}
	return readErr(content.WriteCAR(ctx, n.db, []cid.Cid{root}, blockLinks, w), r.m)
}

// Import implements API: every block is verified; every root must be complete;
// package roots must carry a valid signature. Nothing becomes visible unless
// all of that holds.
func (n *Node) Import(ctx context.Context, r io.Reader) (apitype.ImportResult, error) {
	batch, err := n.db.NewBatch(store.BatchOptions{})
	if err != nil {
		return apitype.ImportResult{}, storeErr(err)
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
		return apitype.ImportResult{}, storeErr(err)
	}
	if err := batch.Flush(); err != nil {
		return apitype.ImportResult{}, storeErr(err)
	}
	now := n.now()
	type rootInfo struct {
		c   cid.Cid
		rec *store.PackageRecord
	}
	var infos []rootInfo
	for _, root := range roots {
		size := int64(0)
		err := content.Walk(ctx, n.db, root, blockLinks, func(c cid.Cid, data []byte) error {
			size += int64(len(data))
			return nil
		})
		if err != nil {
			return apitype.ImportResult{}, apitype.Errorf(apitype.CodeInvalid, "import: root %s is incomplete in the CAR: %v", root, err)
		}
		ri := rootInfo{c: root}
		if root.Type() == cid.DagCBOR {
			data, err := n.db.Get(root)
			if err != nil {
				return apitype.ImportResult{}, storeErr(err)
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
				return apitype.ImportResult{}, storeErr(err)
			}
			continue
		}
		if ri.rec != nil {
			if err := n.db.PutPackage(*ri.rec); err != nil {
				return apitype.ImportResult{}, storeErr(err)
			}
		}
		if err := n.db.AddPin(pin); err != nil {
			return apitype.ImportResult{}, storeErr(err)
		}
	}
	n.searchChanged()
	if ns := n.network(); ns != nil { // announce and replicate what was imported
		for _, ri := range infos {
			root := ri.c
			ns.goOwned(func(ctx context.Context) { n.provideContent(ctx, ns, root) })
			n.replicateNow(root)
		}
	}
	return res, nil
}

// Quota implements API.
func (n *Node) Quota(ctx context.Context) (apitype.QuotaInfo, error) {
	u, err := n.db.Usage()
	if err != nil {
		return apitype.QuotaInfo{}, storeErr(err)
	}
	n.mu.Lock()
	q := n.cfg.Quota
	n.mu.Unlock()
	info := apitype.QuotaInfo{Disk: limitOf(u.Quota), DiskUsed: u.Bytes, Blocks: u.Blocks, ByReason: map[string]int64{}}
	for r, b := range u.ByReason {
		info.ByReason[string(r)] = b
	}
	up, _ := apitype.ParseRate(q.Upload)
	down, _ := apitype.ParseRate(q.Download)
	mem, _ := apitype.ParseSize(q.Memory)
	info.Upload, info.Download, info.Memory = limitOf(up), limitOf(down), limitOf(mem)
	info.Replicas, _ = apitype.ParseLimit(q.Replicas)
	info.Conns, info.CPU = int64(q.Connections), int64(q.CPU)
	if ns := n.network(); ns != nil {
		info.Uploaded, info.Downloaded = ns.up.Total(), ns.down.Total()
	}
	if pins, err := n.db.Pins(); err == nil {
		info.PinsCount = int64(len(pins))
	}
	if recs, err := n.db.Packages(); err == nil {
		info.Packages = int64(len(recs))
	}
	return info, nil
}

// limitOf turns a limit in the internal convention (0 = none) into the
// API's (Unlimited).
func limitOf(n int64) int64 {
	if n <= 0 {
		return apitype.Unlimited
	}
	return n
}

// quotaKeys maps `quota set` resources to config keys.
var quotaKeys = map[string]string{
	"disk": "quota.disk", "upload": "quota.upload", "download": "quota.download",
	"memory": "quota.memory", "connections": "quota.connections", "replicas": "quota.replicas", "cpu": "quota.cpu",
}

// SetQuota implements API.
func (n *Node) SetQuota(ctx context.Context, resource, value string) (apitype.QuotaInfo, error) {
	key, ok := quotaKeys[resource]
	if !ok {
		return apitype.QuotaInfo{}, apitype.Errorf(apitype.CodeInvalid, "unknown quota %q (want disk, upload, download, memory, connections, replicas or cpu)", resource)
	}
	if err := n.ConfigSet(ctx, key, value); err != nil {
		return apitype.QuotaInfo{}, err
	}
	return n.Quota(ctx)
}

// ConfigShow implements API.
func (n *Node) ConfigShow(ctx context.Context) (string, error) {
	data, err := os.ReadFile(filepath.Join(n.home, config.ConfigFile))
	if err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	return string(data), nil
}

// ConfigGet implements API.
func (n *Node) ConfigGet(ctx context.Context, key string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cfg.GetKey(key)
}

// ConfigSet implements API: change the key in the file as it is on disk
// (never writing this run's overrides), validate, write, then apply what can
// change on a running node.
func (n *Node) ConfigSet(ctx context.Context, key, value string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	path := filepath.Join(n.home, config.ConfigFile)
	file, err := config.LoadConfig(path)
	if err != nil {
		return apitype.Wrap(apitype.CodeInvalid, err)
	}
	if err := file.SetKey(key, value); err != nil {
		return apitype.Wrap(apitype.CodeInvalid, err)
	}
	if err := file.Validate(); err != nil {
		return apitype.Wrap(apitype.CodeInvalid, err)
	}
	next, err := n.effective(file)
	if err != nil {
		return err
	}
	if next.Quota.Disk != n.cfg.Quota.Disk {
		q, _ := apitype.ParseSize(next.Quota.Disk)
		if err := n.db.SetDiskQuota(q); err != nil {
			return storeErr(err)
		}
	}
	if err := config.WriteConfigKey(path, key, file); err != nil { // keeps the file's comments
		return err
	}
	n.cfg = next
	defer n.moderationConfigChanged(key) // takes only the moderation lock
	if key == "quota.memory" && n.memQuota {
		n.applyMemoryQuotaLocked()
	}
	if ns := n.net; ns != nil { // bandwidth quotas apply to the running network
		up, _ := apitype.ParseRate(next.Quota.Upload)
		down, _ := apitype.ParseRate(next.Quota.Download)
		ns.up.SetRate(up)
		ns.down.SetRate(down)
		if key == "quota.connections" {
			ns.setConnLimit(next.Quota.Connections)
		}
		if key == "quota.cpu" && ns.repl != nil {
			ns.repl.setWorkers(next.Quota.CPU)
		}
		if key == "overlay.firewall" {
			ns.applyFirewall(next)
		}
	}
	return nil
}

// ApplyMemoryQuota makes quota.memory the Go runtime's soft memory limit, now
// and whenever it changes. Only a daemon calls it: the limit is process-wide.
func (n *Node) ApplyMemoryQuota() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.memQuota = true
	n.applyMemoryQuotaLocked()
}

// applyMemoryQuotaLocked sets the limit. Must hold n.mu.
func (n *Node) applyMemoryQuotaLocked() {
	limit, _ := apitype.ParseSize(n.cfg.Quota.Memory)
	if limit <= 0 {
		limit = math.MaxInt64
	}
	debug.SetMemoryLimit(limit)
}
