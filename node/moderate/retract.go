package moderate

// Retraction: a publisher takes a package back.
//
// `myconet retract MRI [--reason]` signs a moderation.Retraction with the
// node's key, which must be the package's publisher key. The node sends it
// over /myconet/moderation/1.0.0 (op retract) to the package's aggregators
// and to the holders the DHT lists as providers, as a bundle:
//
//	bundle = u16 len(retraction) retraction root
//
// where root is the package's signed root block, so that a node that does
// not hold the package can still check the publisher: the root's hash must
// give the package CID, and the root names the publisher key. (A root too
// large for one request, above maxModRetract, is left out; holders check
// against their own copy.) Aggregators keep retractions and hand them to
// anyone who gathers the package's tallies (op retraction), so a holder
// that missed the push learns of it at its next refresh, and a node about
// to fetch the package learns before it fetches.
//
// A node that accepts a retraction keeps it (modstate, kind retraction:
// final, never expires), drops its replica and cache pins of the package,
// leaves it out of search, no longer provides it (the reprovide loop skips
// it; existing provider records expire), refuses it over retrieval and
// replication, and reads of it fail with CodeRetracted (HTTP 410 Gone at
// the gateway) giving the reason. Local pins stay: the owner chose them.
// A node's owner can keep a copy by pinning it local (`myconet site get`)
// while its blocks are still here; reads then work on that node, which
// says that the package was retracted (PackageInfo.Retracted).

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/metadata"
	"github.com/myconet/myconet/moderation"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/internal/p2px"
	"github.com/myconet/myconet/node/internal/svc"
	"github.com/myconet/myconet/store"
)

// retraction is an accepted retraction and the bundle it came in.
type retraction struct {
	r      moderation.Retraction
	bundle []byte
}

// why says what a retraction means, in words.
func (rt retraction) why() string {
	s := fmt.Sprintf("retracted by its publisher on %s", rt.r.Time.UTC().Format(time.RFC3339))
	if rt.r.Reason != "" {
		s += fmt.Sprintf(": %q", rt.r.Reason)
	}
	return s
}

// encodeRetractBundle joins a retraction encoding and the package root.
func encodeRetractBundle(rec, root []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(rec)))
	b = append(b, rec...)
	if len(b)+len(root)+4+maxModCID <= maxModRetract {
		b = append(b, root...)
	}
	return b
}

// decodeRetractBundle splits a bundle; root is nil when it was left out.
func decodeRetractBundle(b []byte) (moderation.Retraction, []byte, error) {
	if len(b) < 2 {
		return moderation.Retraction{}, nil, fmt.Errorf("%w: short retraction bundle", errModMalformed)
	}
	n := int(binary.BigEndian.Uint16(b))
	if n > moderation.MaxRetractionSize || n > len(b)-2 {
		return moderation.Retraction{}, nil, fmt.Errorf("%w: retraction of %d bytes", errModMalformed, n)
	}
	r, err := moderation.DecodeRetraction(b[2 : 2+n])
	if err != nil {
		return moderation.Retraction{}, nil, err
	}
	root := b[2+n:]
	if len(root) == 0 {
		root = nil
	}
	return r, root, nil
}

// retractions returns the retracted packages, loading them on first use.
// Must hold m.mu.
func (m *Service) retractionsLocked() map[cid.Cid]retraction {
	if m.retract != nil {
		return m.retract
	}
	m.retract = map[cid.Cid]retraction{}
	err := m.db.ModStates(store.ModRetraction, func(target, bundle []byte) bool {
		c, err := cid.Cast(target)
		if err != nil {
			return true
		}
		r, _, err := decodeRetractBundle(bundle)
		if err != nil || !r.Target.Equals(c) {
			m.log.Warn("moderation: kept retraction does not decode; ignored", "package", c, "err", err)
			return true
		}
		m.retract[c] = retraction{r: r, bundle: bytes.Clone(bundle)}
		return true
	})
	if err != nil {
		m.log.Warn("moderation: cannot read retractions", "err", err)
	}
	return m.retract
}

// retractionOf returns the retraction of package c, if this node knows one.
func (m *Service) retractionOf(c cid.Cid) (retraction, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rt, ok := m.retractionsLocked()[c]
	return rt, ok
}

// Retracted reports whether the node knows package c to be retracted.
func (m *Service) Retracted(c cid.Cid) bool {
	_, ok := m.retractionOf(c)
	return ok
}

// retractedRef returns the retracted package that c names: c itself, or
// every package whose DAG holds block c (none served).
func (m *Service) retractedRef(c cid.Cid) (cid.Cid, retraction, bool) {
	if isPackageCID(c) {
		rt, ok := m.retractionOf(c)
		return c, rt, ok
	}
	roots, err := m.db.BlockRoots(c)
	if err != nil {
		return cid.Undef, retraction{}, false
	}
	var first cid.Cid
	var rt retraction
	for _, p := range roots {
		if !isPackageCID(p) {
			continue
		}
		r, ok := m.retractionOf(p)
		if !ok {
			return cid.Undef, retraction{}, false // also in a package that stands
		}
		if !first.Defined() {
			first, rt = p, r
		}
	}
	return first, rt, first.Defined()
}

// pinnedLocal reports whether the owner pinned c local.
func (m *Service) pinnedLocal(c cid.Cid) bool {
	pins, err := m.db.PinsOf(c)
	if err != nil {
		return false
	}
	for _, p := range pins {
		if p.Reason == store.ReasonLocal {
			return true
		}
	}
	return false
}

// RetractedErr is the coded error of reading a retracted package without
// a local pin of it (nil otherwise).
func (m *Service) RetractedErr(c cid.Cid) error {
	pkg, rt, ok := m.retractedRef(c)
	if !ok || m.pinnedLocal(pkg) {
		return nil
	}
	return apitype.Errorf(apitype.CodeRetracted, "%s was %s", pkg, rt.why())
}

// checkRetraction verifies a retraction of target against the package
// root: this node's copy when it holds one, else the bundle's.
func (m *Service) checkRetraction(target cid.Cid, r moderation.Retraction, bundleRoot []byte) ([]byte, error) {
	if !isPackageCID(target) {
		return nil, fmt.Errorf("%w: %s is not a package CID", moderation.ErrInvalid, target)
	}
	root, err := m.db.Get(target)
	if err != nil {
		root = bundleRoot
	}
	if root == nil {
		return nil, fmt.Errorf("%w: the package root is neither here nor in the bundle: cannot check the publisher", moderation.ErrInvalid)
	}
	if sum, err := target.Prefix().Sum(root); err != nil || !sum.Equals(target) {
		return nil, fmt.Errorf("%w: the bundle's root block is not %s", moderation.ErrWrongTarget, target)
	}
	pkg, err := metadata.Decode(root)
	if err != nil {
		return nil, fmt.Errorf("%w: package root: %v", moderation.ErrInvalid, err)
	}
	if err := moderation.VerifyRetraction(r, target, pkg.Publisher, m.now(), moderation.DefaultMaxSkew); err != nil {
		return nil, err
	}
	return root, nil
}

// acceptRetraction verifies a retraction bundle about target and applies it.
func (m *Service) acceptRetraction(from peer.ID, target cid.Cid, bundle []byte) (string, error) {
	r, bundleRoot, err := decodeRetractBundle(bundle)
	var root []byte
	if err == nil {
		root, err = m.checkRetraction(target, r, bundleRoot)
	}
	if err != nil {
		m.rejected("retraction", from, err)
		return "", err
	}
	if _, ok := m.retractionOf(target); ok {
		return "duplicate", nil
	}
	rec, err := r.Encode()
	if err != nil {
		return "", err
	}
	if err := m.applyRetraction(target, retraction{r: r, bundle: encodeRetractBundle(rec, root)}); err != nil {
		return "", err
	}
	return "retracted", nil
}

// applyRetraction keeps rt and acts on it: replica and cache pins of the
// package (and cache pins of its bare content root) go, search forgets it.
func (m *Service) applyRetraction(c cid.Cid, rt retraction) error {
	if err := m.db.PutModState(store.ModRetraction, c.Bytes(), rt.bundle); err != nil {
		return svc.StoreErr(err)
	}
	m.mu.Lock()
	m.retractionsLocked()[c] = rt
	m.mu.Unlock()
	roots := []cid.Cid{c}
	if rec, err := m.db.Package(c); err == nil && rec.Content.Defined() {
		roots = append(roots, rec.Content)
	}
	dropped := 0
	for _, root := range roots {
		for _, reason := range []store.Reason{store.ReasonReplica, store.ReasonCache} {
			if root != c && reason == store.ReasonReplica {
				continue
			}
			if err := m.db.RemovePin(root, reason); err == nil {
				dropped++
			} else if !errors.Is(err, store.ErrNotPinned) {
				m.log.Warn("moderation: retraction: cannot drop a pin", "root", root, "reason", reason, "err", err)
			}
		}
	}
	m.opt.Changed(c)
	m.log.Info("moderation: package retracted by its publisher", "package", c, "reason", rt.r.Reason,
		"pinsDropped", dropped, "keptLocal", m.pinnedLocal(c))
	return nil
}

// fetchRetraction asks aggregator p whether it holds a retraction of c,
// and applies one that verifies.
func (m *Service) fetchRetraction(ctx context.Context, ns *netSession, p peer.ID, c cid.Cid) {
	if p == m.self {
		return
	}
	if _, ok := m.retractionOf(c); ok {
		return
	}
	payload, err := ns.mod.ask(ctx, p, modRequest{Op: modOpRetraction, Target: c})
	if err != nil || len(payload) == 0 {
		return
	}
	_, _ = m.acceptRetraction(p, c, payload)
}

// answerRetraction is the answer to op retraction.
func (m *Service) answerRetraction(c cid.Cid) []byte {
	rt, ok := m.retractionOf(c)
	if !ok {
		return nil
	}
	return rt.bundle
}

// RetractedNote is PackageInfo.Retracted of c.
func (m *Service) RetractedNote(c cid.Cid) string {
	if _, rt, ok := m.retractedRef(c); ok {
		return rt.why()
	}
	return ""
}

// KeepRetracted handles the owner pinning a retracted package local: the
// pin is made when the package's whole DAG is still on this node (kept is
// true); otherwise a CodeRetracted error says it is gone. A package that is
// not retracted, or another reason, is left to ensureLocal (false, nil).
func (m *Service) KeepRetracted(root cid.Cid, reason store.Reason) (kept bool, err error) {
	if reason != store.ReasonLocal || !isPackageCID(root) {
		return false, nil
	}
	rt, ok := m.retractionOf(root)
	if !ok {
		return false, nil
	}
	if !m.dagComplete(root) {
		return false, apitype.Errorf(apitype.CodeRetracted, "%s was %s; its blocks are no longer on this node, and other nodes no longer serve it", root, rt.why())
	}
	now := m.now()
	if err := m.db.AddPin(store.Pin{Root: root, Reason: store.ReasonLocal, Created: now, Accessed: now}); err != nil {
		return false, svc.StoreErr(err)
	}
	m.opt.Changed(root)
	m.log.Info("moderation: owner keeps a retracted package", "package", root, "retraction", rt.why())
	return true, nil
}

// dagComplete reports whether every block of root's DAG is in the store.
func (m *Service) dagComplete(root cid.Cid) bool {
	seen := map[cid.Cid]bool{}
	stack := []cid.Cid{root}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[c] {
			continue
		}
		seen[c] = true
		if c.Type() == cid.Raw {
			if ok, err := m.db.Has(c); err != nil || !ok {
				return false
			}
			continue
		}
		data, err := m.db.Get(c)
		if err != nil {
			return false
		}
		links, err := m.opt.Links(c, data)
		if err != nil {
			return false
		}
		stack = append(stack, links...)
	}
	return true
}

// ---- API ----

// Retract signs a retraction of a package this node published, applies
// it here, and sends it to the package's aggregators and holders
// (Node.Retract). Offline it fails with CodeNoDaemon.
func (m *Service) Retract(ctx context.Context, req apitype.RetractRequest) (apitype.RetractResult, error) {
	c, err := m.packageRef(ctx, req.Ref)
	if err != nil {
		return apitype.RetractResult{}, err
	}
	pkg, root, err := svc.PackageRoot(m.db, c)
	if err != nil {
		return apitype.RetractResult{}, apitype.Errorf(apitype.CodeNotFound, "retract: the package root of %s is not in the local store (retract from the publisher's node)", c)
	}
	if !bytes.Equal(pkg.Publisher, m.key.Public().(ed25519.PublicKey)) {
		return apitype.RetractResult{}, apitype.Errorf(apitype.CodeInvalid, "retract: only the publisher %s can retract %s; this node is %s",
			p2px.PeerIDFromEd25519(pkg.Publisher).String(), c, m.self)
	}
	ns := m.network()
	if ns == nil || ns.mod == nil {
		return apitype.RetractResult{}, apitype.Errorf(apitype.CodeNoDaemon, "retract needs the network: start `myconet daemon`")
	}
	r, err := moderation.NewRetraction(m.key, c, req.Reason, m.now())
	if err != nil {
		return apitype.RetractResult{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	rec, err := r.Encode()
	if err != nil {
		return apitype.RetractResult{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	rt := retraction{r: r, bundle: encodeRetractBundle(rec, root)}
	if old, ok := m.retractionOf(c); ok {
		rt = old // already retracted: spread the first one again
	} else if err := m.applyRetraction(c, rt); err != nil {
		return apitype.RetractResult{}, err
	}
	res := apitype.RetractResult{Package: c.String(), Reason: rt.r.Reason, KeptLocal: m.pinnedLocal(c)}
	s := m.modSettings()
	aggs, _ := m.aggregators(ctx, ns, c, s.aggregators)
	res.Aggregators = m.sendRetraction(ctx, ns, aggs, c, rt.bundle)
	seen := map[peer.ID]bool{m.self: true}
	for _, p := range aggs {
		seen[p] = true
	}
	pctx, cancel := context.WithTimeout(ctx, closestLookupTimeout)
	var holders []peer.ID
	for ai := range ns.dht.FindProvidersAsync(pctx, c, maxProviders) {
		if !seen[ai.ID] {
			seen[ai.ID] = true
			if len(ai.Addrs) > 0 {
				ns.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, 10*time.Minute)
			}
			holders = append(holders, ai.ID)
		}
	}
	cancel()
	res.Holders = m.sendRetraction(ctx, ns, holders, c, rt.bundle)
	for _, a := range append(res.Aggregators, res.Holders...) {
		if a.Error == "" {
			res.Accepted++
		}
	}
	return res, nil
}

// sendRetraction sends a bundle to peers (this node answers itself).
func (m *Service) sendRetraction(ctx context.Context, ns *netSession, peers []peer.ID, c cid.Cid, bundle []byte) []apitype.AggregatorAnswer {
	out := make([]apitype.AggregatorAnswer, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i].Peer = p.String()
			if p == m.self {
				out[i].Result = "retracted"
				return
			}
			b, err := ns.mod.ask(ctx, p, modRequest{Op: modOpRetract, Target: c, Record: bundle})
			if err != nil {
				out[i].Error = err.Error()
				return
			}
			out[i].Result = string(b)
		}()
	}
	wg.Wait()
	return out
}
