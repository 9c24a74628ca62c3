package moderate

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	kbucket "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/moderation"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/internal/p2px"
)

// ---- the seam ----

// withheldWhy reports whether c is withheld, and why. Local rules answer
// first; then the decision, looked up as look allows: lookWait gathers a
// missing or stale one first, waiting at most modWait (user-facing reads);
// lookBackground answers at once and gathers it in the background (serving,
// taking replicas); lookCached only reads what the node knows (search,
// replication checks).
func (m *Service) withheldWhy(ctx context.Context, c cid.Cid, look modLook) (bool, string) {
	if !isPackageCID(c) {
		return m.blockWithheldWhy(ctx, c, look, m.withheldWhy)
	}
	if rt, ok := m.retractionOf(c); ok {
		return true, rt.why()
	}
	return m.moderatedWhy(ctx, c, look)
}

// moderatedWhy is withheldWhy without retractions: the local rules and the
// community's decision.
func (m *Service) moderatedWhy(ctx context.Context, c cid.Cid, look modLook) (bool, string) {
	if !isPackageCID(c) {
		return m.blockWithheldWhy(ctx, c, look, m.moderatedWhy)
	}
	switch m.localRule(c) {
	case "deny":
		return true, "remove: on this node's deny list (local override)"
	case "allow":
		return false, "keep: on this node's allow list (local override)"
	}
	wctx, cancel := context.WithTimeout(ctx, modWait)
	defer cancel()
	r := m.modDecision(wctx, c, false, false, look)
	return r.Withheld, r.Reason
}

// WithheldErr is the coded error of reading a withheld or retracted
// package (a retracted one the owner pinned local stays readable).
func (m *Service) WithheldErr(ctx context.Context, c cid.Cid) error {
	w, why := m.moderatedWhy(ctx, c, lookWait) // first: a refresh learns of retractions too
	if err := m.RetractedErr(c); err != nil {
		return err
	}
	if w {
		if !isPackageCID(c) { // why names the package
			return apitype.Errorf(apitype.CodeWithheld, "withheld by moderation: %s", why)
		}
		return apitype.Errorf(apitype.CodeWithheld, "withheld by moderation: %s (see `myconet moderation why %s`)", why, c)
	}
	return nil
}

// modLook is how far a decision lookup may go beyond what the node knows.
type modLook int

const (
	// lookWait refreshes a stale decision and waits for it (until ctx ends).
	lookWait modLook = iota
	// lookBackground answers at once and refreshes a stale decision in the
	// background (when fewer than maxModBackground refreshes run).
	lookBackground
	// lookCached answers from what the node knows and starts nothing: for
	// callers that ask about many packages at once (search).
	lookCached
)

// modDecision returns the cached decision about c, refreshing it as look
// allows when it is stale (or force is set) and the node is online.
func (m *Service) modDecision(ctx context.Context, c cid.Cid, force, verify bool, look modLook) (r apitype.TallyReport) {
	wait := look == lookWait
	s := m.modSettings()
	defer func() { m.markStale(&r, s) }()
	now := m.now()
	m.mu.Lock()
	e := m.cache[c]
	m.mu.Unlock()
	if e == nil {
		e = m.loadKeptDecision(c, s) // the last decision known before a restart
	}
	fresh := e != nil && now.Sub(e.at) < s.refresh && !force
	ns := m.network()
	if fresh || ns == nil || ns.mod == nil || look == lookCached {
		if e != nil {
			r := e.report
			m.applyLocal(&r, c, s)
			return r
		}
		r := m.decide(c, s, nil, nil)
		if ns == nil && r.Local == "" {
			r.Reason += " (offline: only local rules apply)"
		}
		return r
	}
	if verify { // not shared with other callers: a verifying refresh is the caller's own
		return m.refreshDecision(ctx, ns, c, true)
	}
	m.mu.Lock()
	ch, running := m.flight[c]
	if !running && (wait || len(m.flight) < maxModBackground) {
		running = true
		if m.flight == nil {
			m.flight = map[cid.Cid]chan struct{}{}
		}
		ch = make(chan struct{})
		m.flight[c] = ch
		ns.Go(func(nctx context.Context) {
			defer func() {
				m.mu.Lock()
				delete(m.flight, c)
				m.mu.Unlock()
				close(ch)
			}()
			rctx, cancel := context.WithTimeout(nctx, 2*modIOTimeout+closestLookupTimeout)
			defer cancel()
			m.refreshDecision(rctx, ns, c, false)
		})
	}
	m.mu.Unlock()
	if wait && running {
		select {
		case <-ch:
		case <-ctx.Done():
		}
	}
	m.mu.Lock()
	e = m.cache[c]
	m.mu.Unlock()
	if e != nil {
		r := e.report
		m.applyLocal(&r, c, s)
		return r
	}
	r = m.decide(c, s, nil, nil)
	r.Reason += " (tallies not gathered yet)"
	return r
}

// applyLocal redoes a cached report's decision when a local rule now
// applies (rules change without clearing the cache).
func (m *Service) applyLocal(r *apitype.TallyReport, c cid.Cid, s modSettings) {
	r.Local = m.localRule(c)
	if r.Local == "" {
		return
	}
	d := m.policyWithRules(s).Decide(c.String(), nil)
	r.Decision, r.Reason, r.Withheld = d.Outcome.String(), d.Reason, d.Outcome == moderation.OutcomeRemove
}

// decide applies the policy to tallies and builds a report.
func (m *Service) decide(c cid.Cid, s modSettings, tallies []moderation.Tally, recount map[string]string) apitype.TallyReport {
	p := m.policyWithRules(s)
	d := p.Decide(c.String(), tallies)
	r := apitype.TallyReport{
		Package:  c.String(),
		Decision: d.Outcome.String(),
		Withheld: d.Outcome == moderation.OutcomeRemove,
		Reason:   d.Reason,
		Keep:     d.Keep,
		Remove:   d.Remove,
		Local:    m.localRule(c),
		Policy: apitype.PolicyInfo{
			MinVotes: cmpOr(s.policy.MinVotes, moderation.DefaultMinVotes), RemoveRatio: s.policy.RemoveRatio,
			MinTallies: cmpOr(s.policy.MinTallies, moderation.DefaultMinTallies), Aggregators: s.aggregators,
			PowBits: s.powBits, Trusted: peerIDs(s.policy.Trusted), Distrusted: peerIDs(s.policy.Distrusted),
		},
		Checked: m.now().UTC(),
	}
	if r.Policy.RemoveRatio == 0 {
		r.Policy.RemoveRatio = moderation.DefaultRemoveRatio
	}
	for _, t := range d.Used {
		r.Tallies = append(r.Tallies, tallyInfo(t, "", recount))
	}
	for _, it := range d.Ignored {
		r.Tallies = append(r.Tallies, tallyInfo(it.Tally, it.Why, recount))
	}
	return r
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func peerIDs(keys [][]byte) []string {
	out := []string{}
	for _, k := range keys {
		out = append(out, p2px.PeerIDFromEd25519(k).String())
	}
	return out
}

func tallyInfo(t moderation.Tally, ignored string, recount map[string]string) apitype.TallyInfo {
	return apitype.TallyInfo{
		Signer: p2px.PeerIDFromEd25519(t.Signer).String(), Keep: t.Keep, Remove: t.Remove,
		Digest: hex.EncodeToString(t.Digest[:]), Time: t.Time, Used: ignored == "", Ignored: ignored,
		Recount: recount[string(t.Signer)],
	}
}

// refreshDecision gathers tallies (and annotations) from c's aggregators,
// decides, and caches the result.
func (m *Service) refreshDecision(ctx context.Context, ns *netSession, c cid.Cid, verify bool) apitype.TallyReport {
	s := m.modSettings()
	aggs, err := m.aggregators(ctx, ns, c, s.aggregators)
	var errs []string
	if err != nil {
		errs = append(errs, "aggregator lookup: "+err.Error())
	}
	type answer struct {
		t       moderation.Tally
		ok      bool
		recount string
		anns    []moderation.Annotation
		err     string
	}
	answers := make([]answer, len(aggs))
	var wg sync.WaitGroup
	for i, p := range aggs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := &answers[i]
			t, rc, err := m.fetchTally(ctx, ns, p, c, verify, s)
			if err != nil {
				a.err = fmt.Sprintf("%s: %v", p, err)
			} else {
				a.t, a.ok, a.recount = t, true, rc
			}
			if anns, err := m.fetchAnnotations(ctx, ns, p, c); err == nil {
				a.anns = anns
			}
			m.fetchRetraction(ctx, ns, p, c)
		}()
	}
	wg.Wait()
	var tallies []moderation.Tally
	var anns []moderation.Annotation
	recount := map[string]string{}
	for _, a := range answers {
		if a.err != "" {
			errs = append(errs, a.err)
		}
		if a.ok {
			tallies = append(tallies, a.t)
			if a.recount != "" {
				recount[string(a.t.Signer)] = a.recount
			}
		}
		anns = append(anns, a.anns...)
	}
	m.talliesUsed.Add(int64(len(tallies)))
	m.learnAnnotations(c, anns)
	if len(tallies) == 0 && len(errs) > 0 {
		// No aggregator answered: the last known decision stands (stale)
		// until one does.
		if e := m.loadKeptDecision(c, s); e != nil {
			r := e.report
			r.Errors = errs
			m.cacheDecisionAt(c, r, m.now())
			return r
		}
	}
	r := m.decide(c, s, tallies, recount)
	r.Aggregators = len(aggs)
	r.Errors = errs
	r.Verified = verify
	m.cacheDecision(c, r)
	m.keepDecision(c, r.Checked, len(aggs), tallies)
	return r
}

// cacheDecision stores r and keeps the content-root map in step.
func (m *Service) cacheDecision(c cid.Cid, r apitype.TallyReport) { m.cacheDecisionAt(c, r, m.now()) }

// cacheDecisionAt is cacheDecision of a decision last refreshed at at.
func (m *Service) cacheDecisionAt(c cid.Cid, r apitype.TallyReport, at time.Time) *modEntry {
	var content cid.Cid
	if pkg, err := m.loadPackage(c); err == nil && pkg != nil {
		content = pkg.Content
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cache == nil {
		m.cache = map[cid.Cid]*modEntry{}
		m.content = map[cid.Cid]cid.Cid{}
	}
	if len(m.cache) >= maxModCache {
		for k := range m.cache { // drop an arbitrary entry
			delete(m.cache, k)
			break
		}
	}
	old := m.cache[c]
	e := &modEntry{report: r, at: at}
	m.cache[c] = e
	m.decisions.Add(1)
	if content.Defined() {
		if r.Withheld {
			m.content[content] = c
		} else if m.content[content] == c {
			delete(m.content, content)
		}
	}
	if old == nil || old.report.Decision != r.Decision {
		// A first "undecided" is what nearly every package gets on a read:
		// only a decision that withholds or keeps, or a change, is news.
		level := slog.LevelInfo
		if old == nil && r.Decision == moderation.OutcomeUndecided.String() {
			level = slog.LevelDebug
		}
		m.log.Log(context.Background(), level, "moderation: decision", "package", c, "decision", r.Decision, "reason", r.Reason)
	}
	return e
}

// forgetDecision drops the cached decision about c (its poll changed here).
func (m *Service) forgetDecision(c cid.Cid) {
	m.mu.Lock()
	if e := m.cache[c]; e != nil {
		e.at = time.Time{}
	}
	m.mu.Unlock()
}

// forgetAllDecisions marks every cached decision stale (the policy changed).
func (m *Service) forgetAllDecisions() {
	m.mu.Lock()
	for _, e := range m.cache {
		e.at = time.Time{}
	}
	m.mu.Unlock()
}

// aggregators returns the k peers closest to c's poll key, this node
// included when it is a DHT server or already holds votes on c (a DHT
// client that others reached as a connected peer, as in a young network of
// two, must count the votes it accepted).
func (m *Service) aggregators(ctx context.Context, ns *netSession, c cid.Cid, k int) ([]peer.ID, error) {
	key := pollKey(c)
	lctx, cancel := context.WithTimeout(ctx, closestLookupTimeout)
	closest, err := ns.dht.GetClosestPeers(lctx, key)
	cancel()
	self := ns.dht.Mode() == dht.ModeServer || m.holdsVotes(c)
	if err != nil && len(closest) == 0 {
		if self {
			return []peer.ID{m.self}, err
		}
		return nil, err
	}
	cands := slices.DeleteFunc(slices.Clone(closest), func(p peer.ID) bool { return p == m.self })
	if self {
		cands = append(cands, m.self)
	}
	cands = kbucket.SortClosestPeers(cands, kbucket.ConvertKey(key))
	return cands[:min(k, len(cands))], nil
}

// fetchTally asks p for a tally of c (with verify: and the votes behind it,
// recounted) and checks it.
func (m *Service) fetchTally(ctx context.Context, ns *netSession, p peer.ID, c cid.Cid, verify bool, s modSettings) (moderation.Tally, string, error) {
	var t moderation.Tally
	var votes []moderation.Vote
	var err error
	switch {
	case p == m.self && !verify:
		t, err = m.signTally(c)
	case p == m.self:
		var payload []byte
		if payload, err = m.votesPayload(c); err == nil {
			t, votes, err = decodeVotesPayload(payload)
		}
	case verify:
		var payload []byte
		if payload, err = ns.mod.ask(ctx, p, modRequest{Op: modOpVotes, Target: c}); err == nil {
			t, votes, err = decodeVotesPayload(payload)
		}
	default:
		var payload []byte
		if payload, err = ns.mod.ask(ctx, p, modRequest{Op: modOpTally, Target: c}); err == nil {
			t, err = moderation.DecodeTally(payload)
		}
	}
	if err != nil {
		var ae *modAnswerError
		if errors.As(err, &ae) || !errors.Is(err, errModMalformed) && !errors.Is(err, moderation.ErrDecode) &&
			!errors.Is(err, moderation.ErrInvalid) && !errors.Is(err, moderation.ErrTooLarge) {
			return t, "", err // unreachable or refused: not a bad record
		}
		m.rejected("tally", p, err)
		return t, "", err
	}
	if err := m.checkTally(t, p, c); err != nil {
		m.rejected("tally", p, err)
		return t, "", err
	}
	if !verify {
		return t, "", nil
	}
	if err := moderation.Recount(t, votes, s.powBits, m.now()); err != nil {
		m.rejected("tally", p, err)
		return t, "", err
	}
	return t, "ok", nil
}

// checkTally checks a tally that p sent about c.
func (m *Service) checkTally(t moderation.Tally, p peer.ID, c cid.Cid) error {
	if !t.Target.Equals(c) {
		return fmt.Errorf("%w: tally of %s", moderation.ErrWrongTarget, t.Target)
	}
	key, err := config.PeerRawKey(p)
	if err != nil || !bytes.Equal(key, t.Signer) {
		return errWrongSigner
	}
	return moderation.VerifyTally(t, m.now(), tallyMaxAge, moderation.DefaultMaxSkew)
}

// fetchAnnotations asks p for the annotations it holds on c; each is
// verified (any age) before use.
func (m *Service) fetchAnnotations(ctx context.Context, ns *netSession, p peer.ID, c cid.Cid) ([]moderation.Annotation, error) {
	if p == m.self {
		return nil, nil // already in the store
	}
	payload, err := ns.mod.ask(ctx, p, modRequest{Op: modOpAnnotations, Target: c})
	if err != nil {
		return nil, err
	}
	anns, err := decodeAnnotationsPayload(payload)
	if err != nil {
		m.rejected("annotation", p, err)
		return nil, err
	}
	s := m.modSettings()
	out := anns[:0]
	for _, a := range anns {
		if err := moderation.CheckAnnotationTarget(a, c); err != nil {
			m.rejected("annotation", p, err)
			continue
		}
		if err := moderation.VerifyAnnotation(a, s.powBits, m.now(), 0, moderation.DefaultMaxSkew); err != nil {
			m.rejected("annotation", p, err)
			continue
		}
		out = append(out, a)
	}
	return out, nil
}
