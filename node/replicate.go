package node

// Replication and repair run in node/replication (the Replicator); the node
// builds it for each network start and reads R and quota.replicas from its
// config.

import (
	"context"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/replication"
	"github.com/myconet/myconet/store"
)

// replicator is netState's replication service.
type replicator = replication.Replicator

// startReplication registers the replication protocol and starts the loop;
// stopLibrary stops it. Nil if it could not start.
func (n *Node) startReplication(ns *netState) *replicator {
	n.mu.Lock()
	cpu := n.cfg.Quota.CPU
	n.mu.Unlock()
	r, err := replication.NewReplicator(replication.ReplicatorConfig{
		Store: n.db, Host: ns.p2p.Dialer(), DHT: ns.dht, Self: n.id.PeerID, // directly or relayed
		Interval: n.replInt, Workers: cpu,
		Replicas: n.replicaTarget, Quota: n.replicaQuota,
		Allow:    func(root cid.Cid) bool { return !n.withheld(root) },
		Withheld: n.withheldCached, // moderation: not spread further
		Fetch: func(ctx context.Context, root cid.Cid) error {
			return n.lib.EnsureLocal(ctx, root, store.ReasonReplica, nil)
		},
		Changed: n.searchChanged,
		Logger:  n.log.With("component", "replication"),
	})
	if err != nil { // only on a programming error
		n.log.Error("replication disabled", "err", err)
		return nil
	}
	return r
}

// stopLibrary stops replication and takes the library off the network,
// before the network itself stops.
func (n *Node) stopLibrary(ns *netState) {
	if ns != nil && ns.repl != nil {
		ns.repl.Close()
	}
	n.lib.StopNetwork()
}

// replicateNow asks for a check of root without waiting for its turn. It
// never blocks; a no-op offline.
func (n *Node) replicateNow(root cid.Cid) {
	if ns := n.network(); ns != nil && ns.repl != nil {
		ns.repl.Kick(root)
	}
}

// ReplicationStats returns the replication counters (zero offline).
func (n *Node) ReplicationStats() apitype.ReplicationStats {
	ns := n.network()
	if ns == nil || ns.repl == nil {
		return apitype.ReplicationStats{}
	}
	return ns.repl.Stats()
}

// replicaTarget reads R from the effective config.
func (n *Node) replicaTarget() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if r := n.cfg.Replication.Replicas; r > 0 {
		return r
	}
	return config.DefaultReplicas
}

// replicaQuota is quota.replicas in bytes, or Unlimited; 0 means the node
// takes no replicas.
func (n *Node) replicaQuota() int64 {
	n.mu.Lock()
	s := n.cfg.Quota.Replicas
	n.mu.Unlock()
	q, err := apitype.ParseLimit(s)
	if err != nil {
		return 0 // validated at load; never take replicas on a bad value
	}
	return q
}
