package node

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/library"
)

// Quota implements API: the store's side from the library, the limits
// from the config, the traffic from the network.
func (n *Node) Quota(ctx context.Context) (apitype.QuotaInfo, error) {
	info, err := n.lib.Quota()
	if err != nil {
		return apitype.QuotaInfo{}, err
	}
	n.mu.Lock()
	q := n.cfg.Quota
	n.mu.Unlock()
	up, _ := apitype.ParseRate(q.Upload)
	down, _ := apitype.ParseRate(q.Download)
	mem, _ := apitype.ParseSize(q.Memory)
	info.Upload, info.Download, info.Memory = library.LimitOf(up), library.LimitOf(down), library.LimitOf(mem)
	info.Replicas, _ = apitype.ParseLimit(q.Replicas)
	info.Conns, info.CPU = int64(q.Connections), int64(q.CPU)
	if ns := n.network(); ns != nil {
		info.Uploaded, info.Downloaded = ns.up.Total(), ns.down.Total()
	}
	return info, nil
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
			ns.p2p.SetConnLimit(next.Quota.Connections)
		}
		if key == "quota.cpu" && ns.repl != nil {
			ns.repl.SetWorkers(next.Quota.CPU)
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
