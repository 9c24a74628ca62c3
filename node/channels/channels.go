package channels

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/internal/svc"
	"github.com/myconet/myconet/node/names"
	"github.com/myconet/myconet/store"
)

// Publish points this node's channel at the package ref names: it signs a
// /myco-name/ record with the next sequence number and stores it in the DHT.
// The package is pinned local, since a channel should not point at content
// its publisher may drop. When the DHT cannot take the record (no peers
// yet), the channel is kept and the result is Pending: the republisher
// announces it once the node has peers.
func (s *Service) Publish(ctx context.Context, channel, ref string) (apitype.PublishResult, error) {
	if err := names.ValidateChannel(channel); err != nil {
		return apitype.PublishResult{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	d := s.online()
	if d == nil {
		return apitype.PublishResult{}, apitype.Errorf(apitype.CodeNoDaemon, "publish needs the network: start `myconet daemon`")
	}
	m, _, err := s.Resolve(ctx, ref)
	if err != nil {
		return apitype.PublishResult{}, err
	}
	if m.Root.Type() != cid.DagCBOR {
		return apitype.PublishResult{}, apitype.Errorf(apitype.CodeInvalid, "%s is not a package (channels point at packages)", m.Root)
	}
	if err := s.cfg.Fetch(ctx, m.Root); err != nil {
		return apitype.PublishResult{}, err
	}
	s.pubMu.Lock() // the sequence number is read, signed and stored as one step
	defer s.pubMu.Unlock()
	seq := uint64(1)
	if prev, err := s.cfg.DB.Channel(channel); err == nil {
		seq = prev.Seq + 1
	} else if !errors.Is(err, store.ErrNotFound) {
		return apitype.PublishResult{}, svc.StoreErr(err)
	}
	cr := store.ChannelRecord{Name: channel, Target: m.Root.String(), Seq: seq, Published: s.cfg.Now()}
	rec, err := names.Publish(ctx, d, s.cfg.Key, channel, m.Root, seq, names.DefaultTTL, s.cfg.Now())
	switch {
	case err == nil:
		cr.Expires = rec.Expires
	case ctx.Err() != nil:
		return apitype.PublishResult{}, fmt.Errorf("publish %s: %w", channel, ctx.Err())
	case errors.Is(err, names.ErrBadTime), errors.Is(err, names.ErrBadChannel), errors.Is(err, names.ErrBadTarget):
		return apitype.PublishResult{}, apitype.Wrap(apitype.CodeInvalid, err)
	default: // the network could not take it now: kept, announced later
		s.log.Warn("channel kept, not yet in the network: it is announced as soon as the node has peers", "channel", channel, "err", err)
	}
	if err := s.cfg.DB.PutChannel(cr); err != nil {
		return apitype.PublishResult{}, svc.StoreErr(err)
	}
	s.log.Info("published channel", "channel", channel, "target", m.Root, "seq", seq, "pending", cr.Expires.IsZero())
	return s.publishResult(cr), nil
}

func (s *Service) publishResult(cr store.ChannelRecord) apitype.PublishResult {
	out := apitype.PublishResult{MRI: "myco://" + s.cfg.Self.String() + "/" + cr.Name, Target: cr.Target, Seq: cr.Seq, Expires: cr.Expires, Pending: cr.Expires.IsZero()}
	if c, err := cid.Decode(cr.Target); err == nil {
		if m, err := mri.New(c, ""); err == nil {
			out.Target = m.String()
		}
	}
	return out
}

// Channels lists this node's channels (works offline).
func (s *Service) Channels(ctx context.Context) ([]apitype.PublishResult, error) {
	recs, err := s.cfg.DB.Channels()
	if err != nil {
		return nil, svc.StoreErr(err)
	}
	out := make([]apitype.PublishResult, len(recs))
	for i, r := range recs {
		out[i] = s.publishResult(r)
	}
	return out, nil
}

// Resolve parses ref and, for a mutable MRI, resolves the channel to the
// package it points at now (keeping the path, query and fragment). When the
// network cannot answer, a followed channel resolves to the last resolution
// its bookmark kept: kept is then the time that resolution was made (nil
// for an answer the network gave now).
func (s *Service) Resolve(ctx context.Context, ref string) (m mri.MRI, kept *time.Time, err error) {
	m, k, err := s.resolveKept(ctx, ref)
	if k != nil {
		kept = &k.at
	}
	return m, kept, err
}

// resolveKept is Resolve with the kept resolution it used, if any.
func (s *Service) resolveKept(ctx context.Context, ref string) (mri.MRI, *keptResolution, error) {
	m, err := mri.Parse(ref)
	if err != nil {
		return mri.MRI{}, nil, apitype.Wrap(apitype.CodeInvalid, err)
	}
	if !m.Mutable() {
		return m, nil, nil
	}
	target, err := s.resolveChannel(ctx, ref, m)
	var kept *keptResolution
	if err != nil {
		if kept = s.keptResolutionOf(m.Publisher, m.Channel); kept == nil {
			return mri.MRI{}, nil, err
		}
		s.log.Info("the network cannot resolve a followed channel: using the last resolution kept",
			"channel", ref, "bookmark", kept.bookmark, "target", kept.target, "age", s.cfg.Now().Sub(kept.at).Round(time.Second), "err", err)
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
func (s *Service) resolveChannel(ctx context.Context, ref string, m mri.MRI) (cid.Cid, error) {
	pid, err := peer.Decode(m.Publisher)
	if err != nil {
		return cid.Undef, apitype.Errorf(apitype.CodeInvalid, "%s: bad publisher peer ID: %v", ref, err)
	}
	if pid == s.cfg.Self { // our own channel: the local record is authoritative
		if cr, err := s.cfg.DB.Channel(m.Channel); err == nil {
			if target, err := cid.Decode(cr.Target); err == nil {
				return target, nil
			}
		}
	}
	d := s.online()
	if d == nil {
		return cid.Undef, apitype.Errorf(apitype.CodeNoDaemon, "%s: resolving another publisher's channel needs the network: start `myconet daemon`", ref)
	}
	rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	rec, err := names.Resolve(rctx, d, pid, m.Channel, s.cfg.Now())
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
func (s *Service) republish(ctx context.Context, d *dht.IpfsDHT) {
	t := time.NewTicker(republishCheck)
	defer t.Stop()
	var r republishState
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rt := d.RoutingTable().ListPeers()
		now := time.Now()
		if !r.due(now, rt, len(rt) > 0 && s.channelsPending()) {
			continue
		}
		ok := s.republishOnce(ctx, d)
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
func (s *Service) republishOnce(ctx context.Context, d *dht.IpfsDHT) bool {
	recs, err := s.cfg.DB.Channels()
	if err != nil {
		s.log.Warn("republish: cannot read channels", "err", err)
		return false
	}
	ok := true
	for _, cr := range recs {
		target, err := cid.Decode(cr.Target)
		if err != nil {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, resolveTimeout)
		rec, err := names.Publish(pctx, d, s.cfg.Key, cr.Name, target, cr.Seq, names.DefaultTTL, s.cfg.Now())
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("republish", "channel", cr.Name, "err", err)
			}
			ok = false
			continue
		}
		s.republished(cr, rec.Expires)
		s.log.Debug("republished channel", "channel", cr.Name, "seq", cr.Seq, "expires", rec.Expires)
	}
	return ok
}

// channelsPending reports whether a channel was published while the network
// could not take its record.
func (s *Service) channelsPending() bool {
	recs, err := s.cfg.DB.Channels()
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
func (s *Service) republished(cr store.ChannelRecord, expires time.Time) {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	cur, err := s.cfg.DB.Channel(cr.Name)
	if err != nil || cur.Seq != cr.Seq || cur.Target != cr.Target {
		return
	}
	cur.Published, cur.Expires = s.cfg.Now(), expires
	if err := s.cfg.DB.PutChannel(cur); err != nil {
		s.log.Warn("republish: cannot store the channel", "channel", cr.Name, "err", err)
	}
}
