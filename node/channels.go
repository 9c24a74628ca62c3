package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/names"
	"github.com/myconet/myconet/store"
)

// Publish points this node's channel at the package ref names: it signs a
// /myco-name/ record with the next sequence number and stores it in the DHT.
// The package is pinned local, since a channel should not point at content
// its publisher may drop. When the DHT cannot take the record (no peers
// yet), the channel is kept and the result is Pending: the republisher
// announces it once the node has peers.
func (n *Node) Publish(ctx context.Context, channel, ref string) (apitype.PublishResult, error) {
	if err := names.ValidateChannel(channel); err != nil {
		return apitype.PublishResult{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	ns := n.network()
	if ns == nil {
		return apitype.PublishResult{}, apitype.Errorf(apitype.CodeNoDaemon, "publish needs the network: start `myconet daemon`")
	}
	m, err := n.resolveRef(ctx, ref)
	if err != nil {
		return apitype.PublishResult{}, err
	}
	if m.Root.Type() != cid.DagCBOR {
		return apitype.PublishResult{}, apitype.Errorf(apitype.CodeInvalid, "%s is not a package (channels point at packages)", m.Root)
	}
	if err := n.ensureLocal(ctx, m.Root, store.ReasonLocal, nil); err != nil {
		return apitype.PublishResult{}, err
	}
	n.chanMu.Lock() // the sequence number is read, signed and stored as one step
	defer n.chanMu.Unlock()
	seq := uint64(1)
	if prev, err := n.db.Channel(channel); err == nil {
		seq = prev.Seq + 1
	} else if !errors.Is(err, store.ErrNotFound) {
		return apitype.PublishResult{}, storeErr(err)
	}
	cr := store.ChannelRecord{Name: channel, Target: m.Root.String(), Seq: seq, Published: n.now()}
	rec, err := names.Publish(ctx, ns.dht, n.id.Priv, channel, m.Root, seq, names.DefaultTTL, n.now())
	switch {
	case err == nil:
		cr.Expires = rec.Expires
	case ctx.Err() != nil:
		return apitype.PublishResult{}, fmt.Errorf("publish %s: %w", channel, ctx.Err())
	case errors.Is(err, names.ErrBadTime), errors.Is(err, names.ErrBadChannel), errors.Is(err, names.ErrBadTarget):
		return apitype.PublishResult{}, apitype.Wrap(apitype.CodeInvalid, err)
	default: // the network could not take it now: kept, announced later
		n.log.Warn("channel kept, not yet in the network: it is announced as soon as the node has peers", "channel", channel, "err", err)
	}
	if err := n.db.PutChannel(cr); err != nil {
		return apitype.PublishResult{}, storeErr(err)
	}
	n.log.Info("published channel", "channel", channel, "target", m.Root, "seq", seq, "pending", cr.Expires.IsZero())
	return n.publishResult(cr), nil
}

func (n *Node) publishResult(cr store.ChannelRecord) apitype.PublishResult {
	out := apitype.PublishResult{MRI: "myco://" + n.id.PeerID.String() + "/" + cr.Name, Target: cr.Target, Seq: cr.Seq, Expires: cr.Expires, Pending: cr.Expires.IsZero()}
	if c, err := cid.Decode(cr.Target); err == nil {
		if m, err := mri.New(c, ""); err == nil {
			out.Target = m.String()
		}
	}
	return out
}

// Channels lists this node's channels (works offline).
func (n *Node) Channels(ctx context.Context) ([]apitype.PublishResult, error) {
	recs, err := n.db.Channels()
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]apitype.PublishResult, len(recs))
	for i, r := range recs {
		out[i] = n.publishResult(r)
	}
	return out, nil
}

// resolveRef parses ref and, for a mutable MRI, resolves the channel to the
// package it points at now (keeping the path, query and fragment). When the
// network cannot answer, a followed channel resolves to the last resolution
// its bookmark kept (see resolveRefKept).
func (n *Node) resolveRef(ctx context.Context, ref string) (mri.MRI, error) {
	m, _, err := n.resolveRefKept(ctx, ref)
	return m, err
}

// resolveRefKept is resolveRef that also says when the answer is a kept
// resolution (non-nil) rather than one the network gave now.
func (n *Node) resolveRefKept(ctx context.Context, ref string) (mri.MRI, *keptResolution, error) {
	m, err := mri.Parse(ref)
	if err != nil {
		return mri.MRI{}, nil, apitype.Wrap(apitype.CodeInvalid, err)
	}
	if !m.Mutable() {
		return m, nil, nil
	}
	target, err := n.resolveChannel(ctx, ref, m)
	var kept *keptResolution
	if err != nil {
		if kept = n.keptResolutionOf(m.Publisher, m.Channel); kept == nil {
			return mri.MRI{}, nil, err
		}
		n.log.Info("the network cannot resolve a followed channel: using the last resolution kept",
			"channel", ref, "bookmark", kept.bookmark, "target", kept.target, "age", n.now().Sub(kept.at).Round(time.Second), "err", err)
		target = kept.target
	}
	out, err := mri.New(target, m.Path)
	if err != nil {
		return mri.MRI{}, nil, apitype.Wrap(apitype.CodeInvalid, err)
	}
	out.Query, out.Fragment = m.Query, m.Fragment
	return out, kept, nil
}

// resolveChannel resolves the mutable MRI m (ref as the user wrote it) to
// the package it points at now: our own channels from the store, others'
// through the DHT.
func (n *Node) resolveChannel(ctx context.Context, ref string, m mri.MRI) (cid.Cid, error) {
	pid, err := peer.Decode(m.Publisher)
	if err != nil {
		return cid.Undef, apitype.Errorf(apitype.CodeInvalid, "%s: bad publisher peer ID: %v", ref, err)
	}
	if pid == n.id.PeerID { // our own channel: the local record is authoritative
		if cr, err := n.db.Channel(m.Channel); err == nil {
			if target, err := cid.Decode(cr.Target); err == nil {
				return target, nil
			}
		}
	}
	ns := n.network()
	if ns == nil {
		return cid.Undef, apitype.Errorf(apitype.CodeNoDaemon, "%s: resolving another publisher's channel needs the network: start `myconet daemon`", ref)
	}
	rctx, cancel := context.WithTimeout(ctx, providerWait)
	defer cancel()
	rec, err := names.Resolve(rctx, ns.dht, pid, m.Channel, n.now())
	if err != nil {
		if errors.Is(err, names.ErrNotFound) {
			return cid.Undef, apitype.Errorf(apitype.CodeNotFound, "%s: no record of this channel in the network", ref)
		}
		return cid.Undef, apitype.Errorf(apitype.CodeNotFound, "%s: %v", ref, err)
	}
	return rec.Target, nil
}

// Republishing. The DHT keeps records in memory only, so a node that
// restarts has lost the ones it held: a publisher puts its records again as
// soon as its routing table has peers after start, again when peers that
// were not there at the last round joined (restarted nodes, empty of
// records), at most every republishMinGap, and every names.RepublishInterval
// (1 h, records being valid names.DefaultTTL, 48 h) in any case.
const (
	// republishCheck is how often the routing table is looked at.
	republishCheck = time.Second
	// republishMinGap spaces rounds started by newcomers, and retries after a
	// round that failed.
	republishMinGap = 30 * time.Second
)

// republish runs rounds of republishOnce while the network runs.
func (n *Node) republish(ctx context.Context, ns *netState) {
	t := time.NewTicker(republishCheck)
	defer t.Stop()
	var r republishState
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rt := ns.dht.RoutingTable().ListPeers()
		now := time.Now()
		if !r.due(now, rt, len(rt) > 0 && n.channelsPending()) {
			continue
		}
		ok := n.republishOnce(ctx, ns)
		r.done(now, rt, ok)
	}
}

// republishState decides when a round of republishing is due.
type republishState struct {
	last    time.Time        // the last successful round; zero before the first
	retry   time.Time        // no round before this after a failed one
	reached map[peer.ID]bool // the routing table at the last successful round
}

// due reports whether a round should start now, given the routing table rt
// and whether a channel was published but not yet stored in the network.
func (r *republishState) due(now time.Time, rt []peer.ID, pending bool) bool {
	if len(rt) == 0 || now.Before(r.retry) {
		return false
	}
	if pending || r.last.IsZero() || now.Sub(r.last) >= names.RepublishInterval {
		return true
	}
	if now.Sub(r.last) < republishMinGap {
		return false
	}
	// Newcomers: in a small network any one may be where a record belongs;
	// in a large one, wait until a quarter of the table is new.
	fresh := 0
	for _, p := range rt {
		if !r.reached[p] {
			fresh++
		}
	}
	return fresh > 0 && (len(r.reached) < 20 || fresh*4 >= len(r.reached))
}

// done records the outcome of a round started at now with table rt.
func (r *republishState) done(now time.Time, rt []peer.ID, ok bool) {
	if !ok {
		r.retry = now.Add(republishMinGap)
		return
	}
	r.last, r.retry = now, time.Time{}
	r.reached = make(map[peer.ID]bool, len(rt))
	for _, p := range rt {
		r.reached[p] = true
	}
}

// republishOnce re-signs every channel (same sequence, new created time) and
// puts it into the DHT. It reports whether every record was stored.
func (n *Node) republishOnce(ctx context.Context, ns *netState) bool {
	recs, err := n.db.Channels()
	if err != nil {
		n.log.Warn("republish: cannot read channels", "err", err)
		return false
	}
	ok := true
	for _, cr := range recs {
		target, err := cid.Decode(cr.Target)
		if err != nil {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, providerWait)
		rec, err := names.Publish(pctx, ns.dht, n.id.Priv, cr.Name, target, cr.Seq, names.DefaultTTL, n.now())
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				n.log.Warn("republish", "channel", cr.Name, "err", err)
			}
			ok = false
			continue
		}
		n.republished(cr, rec.Expires)
		n.log.Debug("republished channel", "channel", cr.Name, "seq", cr.Seq, "expires", rec.Expires)
	}
	return ok
}

// channelsPending reports whether a channel was published while the network
// could not take its record.
func (n *Node) channelsPending() bool {
	recs, err := n.db.Channels()
	if err != nil {
		return false
	}
	for _, cr := range recs {
		if cr.Expires.IsZero() {
			return true
		}
	}
	return false
}

// republished notes the new expiry of channel cr, unless a Publish changed
// the channel meanwhile (its newer record wins in the DHT by sequence).
func (n *Node) republished(cr store.ChannelRecord, expires time.Time) {
	n.chanMu.Lock()
	defer n.chanMu.Unlock()
	cur, err := n.db.Channel(cr.Name)
	if err != nil || cur.Seq != cr.Seq || cur.Target != cr.Target {
		return
	}
	cur.Published, cur.Expires = n.now(), expires
	if err := n.db.PutChannel(cur); err != nil {
		n.log.Warn("republish: cannot store the channel", "channel", cr.Name, "err", err)
	}
}
