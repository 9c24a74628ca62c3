package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/names"
	"github.com/myconet/myconet/store"
)

// PublishResult describes one of this node's mutable channels.
type PublishResult struct {
	MRI     string    `json:"mri"`    // myco://<peer-id>/<channel>
	Target  string    `json:"target"` // the package MRI it points at
	Seq     uint64    `json:"seq"`
	Expires time.Time `json:"expires"`
}

// Publish points this node's channel at the package ref names: it signs a
// /myco-name/ record with the next sequence number and stores it in the DHT.
// The package is pinned local, since a channel should not point at content
// its publisher may drop.
func (n *Node) Publish(ctx context.Context, channel, ref string) (PublishResult, error) {
	if err := names.ValidateChannel(channel); err != nil {
		return PublishResult{}, coded(CodeInvalid, err)
	}
	ns := n.network()
	if ns == nil {
		return PublishResult{}, codedf(CodeNoDaemon, "publish needs the network: start `myconet daemon`")
	}
	m, err := n.resolveRef(ctx, ref)
	if err != nil {
		return PublishResult{}, err
	}
	if m.Root.Type() != cid.DagCBOR {
		return PublishResult{}, codedf(CodeInvalid, "%s is not a package (channels point at packages)", m.Root)
	}
	if err := n.ensureLocal(ctx, m.Root, store.ReasonLocal, nil); err != nil {
		return PublishResult{}, err
	}
	seq := uint64(1)
	if prev, err := n.db.Channel(channel); err == nil {
		seq = prev.Seq + 1
	} else if !errors.Is(err, store.ErrNotFound) {
		return PublishResult{}, storeErr(err)
	}
	rec, err := names.Publish(ctx, ns.dht, n.id.Priv, channel, m.Root, seq, names.DefaultTTL, n.now())
	if err != nil {
		return PublishResult{}, fmt.Errorf("publish %s: %w", channel, err)
	}
	cr := store.ChannelRecord{Name: channel, Target: m.Root.String(), Seq: seq, Published: n.now(), Expires: rec.Expires}
	if err := n.db.PutChannel(cr); err != nil {
		return PublishResult{}, storeErr(err)
	}
	n.log.Info("published channel", "channel", channel, "target", m.Root, "seq", seq)
	return n.publishResult(cr), nil
}

func (n *Node) publishResult(cr store.ChannelRecord) PublishResult {
	out := PublishResult{MRI: "myco://" + n.id.PeerID.String() + "/" + cr.Name, Target: cr.Target, Seq: cr.Seq, Expires: cr.Expires}
	if c, err := cid.Decode(cr.Target); err == nil {
		if m, err := mri.New(c, ""); err == nil {
			out.Target = m.String()
		}
	}
	return out
}

// Channels lists this node's channels (works offline).
func (n *Node) Channels(ctx context.Context) ([]PublishResult, error) {
	recs, err := n.db.Channels()
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]PublishResult, len(recs))
	for i, r := range recs {
		out[i] = n.publishResult(r)
	}
	return out, nil
}

// resolveRef parses ref and, for a mutable MRI, resolves the channel to the
// package it points at now (keeping the path, query and fragment).
func (n *Node) resolveRef(ctx context.Context, ref string) (mri.MRI, error) {
	m, err := mri.Parse(ref)
	if err != nil {
		return mri.MRI{}, coded(CodeInvalid, err)
	}
	if !m.Mutable() {
		return m, nil
	}
	pid, err := peer.Decode(m.Publisher)
	if err != nil {
		return mri.MRI{}, codedf(CodeInvalid, "%s: bad publisher peer ID: %v", ref, err)
	}
	var target cid.Cid
	if pid == n.id.PeerID { // our own channel: the local record is authoritative
		if cr, err := n.db.Channel(m.Channel); err == nil {
			target, _ = cid.Decode(cr.Target)
		}
	}
	if !target.Defined() {
		ns := n.network()
		if ns == nil {
			return mri.MRI{}, codedf(CodeNoDaemon, "%s: resolving another publisher's channel needs the network: start `myconet daemon`", ref)
		}
		rctx, cancel := context.WithTimeout(ctx, providerWait)
		defer cancel()
		rec, err := names.Resolve(rctx, ns.dht, pid, m.Channel, n.now())
		if err != nil {
			if errors.Is(err, names.ErrNotFound) {
				return mri.MRI{}, codedf(CodeNotFound, "%s: no record of this channel in the network", ref)
			}
			return mri.MRI{}, codedf(CodeNotFound, "%s: %v", ref, err)
		}
		target = rec.Target
	}
	out, err := mri.New(target, m.Path)
	if err != nil {
		return mri.MRI{}, coded(CodeInvalid, err)
	}
	out.Query, out.Fragment = m.Query, m.Fragment
	return out, nil
}

// republish re-signs every channel (same sequence, new created time) every
// names.RepublishInterval, so records outlive their expiry and the DHT's
// record age limit while this node runs.
func (n *Node) republish(ctx context.Context, ns *netState) {
	t := time.NewTimer(names.RepublishInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		recs, err := n.db.Channels()
		if err != nil {
			n.log.Warn("republish: cannot read channels", "err", err)
		}
		for _, cr := range recs {
			target, err := cid.Decode(cr.Target)
			if err != nil {
				continue
			}
			rec, err := names.Publish(ctx, ns.dht, n.id.Priv, cr.Name, target, cr.Seq, names.DefaultTTL, n.now())
			if err != nil {
				n.log.Warn("republish", "channel", cr.Name, "err", err)
				continue
			}
			cr.Published, cr.Expires = n.now(), rec.Expires
			_ = n.db.PutChannel(cr)
		}
		t.Reset(names.RepublishInterval)
	}
}
