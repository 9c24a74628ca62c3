package node

// Community moderation, wired into the node.
//
// # Aggregators
//
// The aggregators of a package are the k nodes (moderation.aggregators,
// default 5) closest in the DHT's keyspace to the package's poll key, the
// bytes "myconet-poll/" + the binary package CID. The poll key differs from
// the provider key, so the nodes that count votes on a package are not the
// ones that hold its replicas. A voter finds them with one GetClosestPeers
// lookup and sends its vote to each over /myconet/moderation/1.0.0
// (moderation_wire.go); a DHT server that is itself among the k closest
// counts its own vote locally.
//
// An aggregator verifies a vote (size, target, time window, proof of work
// at moderation.pow_bits, signature) and counts it in the package's poll,
// one vote per voter, the later replacing the earlier. It keeps the votes
// and annotations in the store (buckets modrecords/modauthors): at most
// maxModVotes voters per package and maxModPerAuthor packages per voter
// key. On request it signs a fresh tally with the node's key, and sends
// the votes behind it so that anyone can recount.
//
// # Decisions
//
// A node decides about a package from the tallies of its aggregators:
// every tally must be signed by the peer that sent it, be about the
// package, and be recent; moderation.Policy (min_votes, remove_ratio,
// min_tallies, trusted and distrusted signers, the local allow and deny
// rules) turns them into keep, remove or undecided. Decisions are cached
// for moderation.refresh (default 10 minutes). withheld never waits: a
// missing or stale decision is gathered in the background (at most
// maxModBackground at a time) while the cached one (or none: served)
// answers. User-facing reads (resolve, ensureLocal) wait for a fresh
// decision, at most modWait; past that they fail open. The held packages
// the node has looked at are refreshed in the background. The last
// decision is kept on disk and applies after a restart and offline
// (moderation_kept.go); aggregators reconcile their votes with each other
// by digest (moderation_sync.go); a publisher can retract a package
// (moderation_retract.go); a withheld package is withheld under every
// name of its blocks (moderation_block.go).
//
// n.withheld(c) is the one seam the rest of the node asks: retrieval
// (serving blocks), replication (taking and spreading replicas), the
// gateway and the API (resolve), and search.

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/myconet/myconet/moderation"
	"github.com/myconet/myconet/store"
)

// Moderation tuning.
const (
	// DefaultAggregators is k, the number of aggregators of a package.
	DefaultAggregators = 5
	// DefaultModerationRefresh is how long a decision is trusted.
	DefaultModerationRefresh = 10 * time.Minute
	// modWait bounds how long a first look at a package waits for its
	// tallies before failing open.
	modWait = 5 * time.Second
	// annotationMaxAge: an aggregator refuses annotations handed to it that
	// were made longer ago (votes have no age limit: aggregators hand them
	// on to each other, and one counted vote per voter limits replays).
	annotationMaxAge = 24 * time.Hour
	// tallyMaxAge: a node ignores tallies older than this (aggregators sign
	// fresh ones on request).
	tallyMaxAge = time.Hour
	// maxModPerAuthor bounds the packages one voter (or annotator) key has
	// records on at one aggregator.
	maxModPerAuthor = 4096
	// maxModBackground bounds the refreshes that withheld starts without
	// waiting for them (hot paths: serving, search).
	maxModBackground = 4
	// modRefreshBatch bounds the held packages refreshed per background
	// pass (a pass every refresh/4).
	modRefreshBatch = 32
	// maxModPolls bounds the polls an aggregator keeps in memory.
	maxModPolls = 256
	// maxModCache bounds the decisions kept in memory.
	maxModCache = 1 << 16
)

// modState is the node's moderation state.
type modState struct {
	mu      sync.Mutex
	cache   map[cid.Cid]*modEntry        // guarded by mu
	flight  map[cid.Cid]chan struct{}    // refreshes in progress; guarded by mu
	content map[cid.Cid]cid.Cid          // content root → withheld package; guarded by mu
	rules   map[string]bool              // CID string → allow; nil until loaded; guarded by mu
	reject  map[string]int64             // "kind/reason" → count; guarded by mu
	retract map[cid.Cid]retraction       // retracted packages; nil until loaded; guarded by mu
	aggMu   sync.Mutex                   // serializes an aggregator's writes
	polls   map[cid.Cid]*moderation.Poll // polls read from the store; guarded by aggMu

	votesAccepted, annsAccepted, talliesServed, talliesUsed, votesServed atomic.Int64
	decisions                                                            atomic.Int64
	votesPulled, votesPushed                                             atomic.Int64 // aggregator sync

	// tallyHook, if set, rewrites the tallies this node signs (tests: a
	// lying aggregator).
	tallyHook atomic.Pointer[func(*moderation.Tally)]
}

// modEntry is a cached decision.
type modEntry struct {
	report TallyReport
	at     time.Time
}

// ModerationStats counts moderation work since the node started.
type ModerationStats struct {
	VotesAccepted       int64            `json:"votes_accepted"`
	AnnotationsAccepted int64            `json:"annotations_accepted"`
	TalliesServed       int64            `json:"tallies_served"`
	VotesServed         int64            `json:"votes_served"`
	TalliesUsed         int64            `json:"tallies_used"`
	Decisions           int64            `json:"decisions"`
	VotesPulled         int64            `json:"votes_pulled"` // counted from another aggregator by sync
	VotesPushed         int64            `json:"votes_pushed"` // handed to another aggregator by sync
	Messages            int64            `json:"messages"`
	Malformed           int64            `json:"malformed"`
	Rejected            map[string]int64 `json:"rejected"` // by "vote/low_pow", "tally/bad_signature", …
}

// ModerationStats returns the moderation counters.
func (n *Node) ModerationStats() ModerationStats {
	m := &n.mod
	s := ModerationStats{
		VotesAccepted: m.votesAccepted.Load(), AnnotationsAccepted: m.annsAccepted.Load(),
		TalliesServed: m.talliesServed.Load(), VotesServed: m.votesServed.Load(),
		TalliesUsed: m.talliesUsed.Load(), Decisions: m.decisions.Load(),
		VotesPulled: m.votesPulled.Load(), VotesPushed: m.votesPushed.Load(),
		Rejected: map[string]int64{},
	}
	m.mu.Lock()
	for k, v := range m.reject {
		s.Rejected[k] = v
	}
	m.mu.Unlock()
	if ns := n.network(); ns != nil && ns.mod != nil {
		s.Messages = ns.mod.sent.Load() + ns.mod.received.Load()
		s.Malformed = ns.mod.malformed.Load()
	}
	return s
}

// rejected counts and logs a refused record.
func (n *Node) rejected(kind string, from peer.ID, err error) {
	reason := rejectReason(err)
	n.mod.mu.Lock()
	if n.mod.reject == nil {
		n.mod.reject = map[string]int64{}
	}
	n.mod.reject[kind+"/"+reason]++
	n.mod.mu.Unlock()
	n.log.Info("moderation: rejected", "kind", kind, "reason", reason, "peer", from, "err", err)
}

// rejectReason names the class of a verification error for metrics.
func rejectReason(err error) string {
	switch {
	case errors.Is(err, moderation.ErrBadSignature):
		return "bad_signature"
	case errors.Is(err, moderation.ErrInsufficientWork):
		return "low_pow"
	case errors.Is(err, moderation.ErrWrongTarget):
		return "wrong_package"
	case errors.Is(err, moderation.ErrFuture):
		return "future"
	case errors.Is(err, moderation.ErrExpired):
		return "expired"
	case errors.Is(err, moderation.ErrTooLarge):
		return "oversized"
	case errors.Is(err, moderation.ErrPollFull), errors.Is(err, store.ErrModTargetFull):
		return "poll_full"
	case errors.Is(err, store.ErrModAuthorFull):
		return "author_limit"
	case errors.Is(err, errDuplicate):
		return "duplicate"
	case errors.Is(err, errSuperseded):
		return "superseded"
	case errors.Is(err, moderation.ErrTallyMismatch):
		return "recount_mismatch"
	case errors.Is(err, errWrongSigner):
		return "wrong_signer"
	case errors.Is(err, moderation.ErrDecode), errors.Is(err, moderation.ErrInvalid), errors.Is(err, errModMalformed):
		return "malformed"
	}
	return "other"
}

var (
	errDuplicate   = errors.New("duplicate: this exact record is already counted")
	errSuperseded  = errors.New("superseded: a later record by the same author is counted")
	errWrongSigner = errors.New("tally is not signed by the aggregator that sent it")
)

// modSettings is the moderation part of the effective config.
type modSettings struct {
	policy      moderation.Policy
	powBits     int
	aggregators int
	refresh     time.Duration
}

func (n *Node) modSettings() modSettings {
	n.mu.Lock()
	mc := n.cfg.Moderation
	n.mu.Unlock()
	s := modSettings{
		policy: moderation.Policy{
			MinVotes: mc.MinVotes, RemoveRatio: float64(mc.RemoveRatio), MinTallies: mc.MinTallies,
			Trusted: peerKeys(mc.Trusted), Distrusted: peerKeys(mc.Distrusted),
		},
		powBits: mc.PowBits, aggregators: mc.Aggregators,
	}
	s.refresh, _ = time.ParseDuration(mc.Refresh)
	if s.refresh <= 0 {
		s.refresh = DefaultModerationRefresh
	}
	if s.aggregators <= 0 {
		s.aggregators = DefaultAggregators
	}
	if s.powBits <= 0 {
		s.powBits = moderation.DefaultDifficulty
	}
	return s
}

// peerKeys converts peer IDs (validated by the config) to raw Ed25519 keys.
func peerKeys(ids []string) [][]byte {
	var out [][]byte
	for _, s := range ids {
		if k, err := peerKey(s); err == nil {
			out = append(out, k)
		}
	}
	return out
}

// peerKey returns the raw Ed25519 key of a peer ID.
func peerKey(s string) ([]byte, error) {
	id, err := peer.Decode(s)
	if err != nil {
		return nil, err
	}
	return peerRawKey(id)
}

func peerRawKey(id peer.ID) ([]byte, error) {
	pk, err := id.ExtractPublicKey()
	if err != nil {
		return nil, fmt.Errorf("peer %s: %w", id, err)
	}
	if pk.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("peer %s: not an Ed25519 key", id)
	}
	return pk.Raw()
}

// isPackageCID reports whether c can have a poll (a package root).
func isPackageCID(c cid.Cid) bool {
	return c.Defined() && c.Version() == 1 && c.Type() == cid.DagCBOR && c.Prefix().MhType == multihash.SHA2_256
}

// pollKey is the DHT key whose closest nodes aggregate c's votes.
func pollKey(c cid.Cid) string { return "myconet-poll/" + string(c.Bytes()) }

// ---- local rules ----

func (n *Node) modRules() map[string]bool {
	m := &n.mod
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rules == nil {
		m.rules = map[string]bool{}
		rules, err := n.db.ModRules()
		if err != nil {
			n.log.Warn("moderation: cannot read local rules", "err", err)
		}
		for _, r := range rules {
			m.rules[r.Target] = r.Allow
		}
	}
	return m.rules
}

func (n *Node) localRule(c cid.Cid) (rule string) {
	rules := n.modRules()
	n.mod.mu.Lock()
	defer n.mod.mu.Unlock()
	allow, ok := rules[c.String()]
	switch {
	case !ok:
		return ""
	case allow:
		return "allow"
	}
	return "deny"
}

// policyWithRules returns the configured policy with the local rules.
func (n *Node) policyWithRules(s modSettings) moderation.Policy {
	p := s.policy
	rules := n.modRules()
	n.mod.mu.Lock()
	p.Allow, p.Deny = map[string]bool{}, map[string]bool{}
	for k, allow := range rules {
		if allow {
			p.Allow[k] = true
		} else {
			p.Deny[k] = true
		}
	}
	n.mod.mu.Unlock()
	return p
}

// ---- the seam ----

// withheldWhy reports whether c is withheld, and why. Local rules answer
// first; then the decision, looked up as look allows: lookWait gathers a
// missing or stale one first, waiting at most modWait (user-facing reads);
// lookBackground answers at once and gathers it in the background (serving,
// taking replicas); lookCached only reads what the node knows (search,
// replication checks).
func (n *Node) withheldWhy(ctx context.Context, c cid.Cid, look modLook) (bool, string) {
	if !isPackageCID(c) {
		return n.blockWithheldWhy(ctx, c, look, n.withheldWhy)
	}
	if rt, ok := n.retractionOf(c); ok {
		return true, rt.why()
	}
	return n.moderatedWhy(ctx, c, look)
}

// moderatedWhy is withheldWhy without retractions: the local rules and the
// community's decision.
func (n *Node) moderatedWhy(ctx context.Context, c cid.Cid, look modLook) (bool, string) {
	if !isPackageCID(c) {
		return n.blockWithheldWhy(ctx, c, look, n.moderatedWhy)
	}
	switch n.localRule(c) {
	case "deny":
		return true, "remove: on this node's deny list (local override)"
	case "allow":
		return false, "keep: on this node's allow list (local override)"
	}
	wctx, cancel := context.WithTimeout(ctx, modWait)
	defer cancel()
	r := n.modDecision(wctx, c, false, false, look)
	return r.Withheld, r.Reason
}

// withheldErr is the coded error of reading a withheld or retracted
// package (a retracted one the owner pinned local stays readable).
func (n *Node) withheldErr(ctx context.Context, c cid.Cid) error {
	w, why := n.moderatedWhy(ctx, c, lookWait) // first: a refresh learns of retractions too
	if err := n.retractedErr(c); err != nil {
		return err
	}
	if w {
		if !isPackageCID(c) { // why names the package
			return codedf(CodeWithheld, "withheld by moderation: %s", why)
		}
		return codedf(CodeWithheld, "withheld by moderation: %s (see `myconet moderation why %s`)", why, c)
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
func (n *Node) modDecision(ctx context.Context, c cid.Cid, force, verify bool, look modLook) (r TallyReport) {
	wait := look == lookWait
	s := n.modSettings()
	defer func() { n.markStale(&r, s) }()
	m := &n.mod
	now := n.now()
	m.mu.Lock()
	e := m.cache[c]
	m.mu.Unlock()
	if e == nil {
		e = n.loadKeptDecision(c, s) // the last decision known before a restart
	}
	fresh := e != nil && now.Sub(e.at) < s.refresh && !force
	ns := n.network()
	if fresh || ns == nil || ns.mod == nil || look == lookCached {
		if e != nil {
			r := e.report
			n.applyLocal(&r, c, s)
			return r
		}
		r := n.decide(c, s, nil, nil)
		if ns == nil && r.Local == "" {
			r.Reason += " (offline: only local rules apply)"
		}
		return r
	}
	if verify { // not shared with other callers: a verifying refresh is the caller's own
		return n.refreshDecision(ctx, ns, c, true)
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
		ns.goOwned(func(nctx context.Context) {
			defer func() {
				m.mu.Lock()
				delete(m.flight, c)
				m.mu.Unlock()
				close(ch)
			}()
			rctx, cancel := context.WithTimeout(nctx, 2*modIOTimeout+closestLookupTimeout)
			defer cancel()
			n.refreshDecision(rctx, ns, c, false)
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
		n.applyLocal(&r, c, s)
		return r
	}
	r = n.decide(c, s, nil, nil)
	r.Reason += " (tallies not gathered yet)"
	return r
}

// applyLocal redoes a cached report's decision when a local rule now
// applies (rules change without clearing the cache).
func (n *Node) applyLocal(r *TallyReport, c cid.Cid, s modSettings) {
	r.Local = n.localRule(c)
	if r.Local == "" {
		return
	}
	d := n.policyWithRules(s).Decide(c.String(), nil)
	r.Decision, r.Reason, r.Withheld = d.Outcome.String(), d.Reason, d.Outcome == moderation.OutcomeRemove
}

// decide applies the policy to tallies and builds a report.
func (n *Node) decide(c cid.Cid, s modSettings, tallies []moderation.Tally, recount map[string]string) TallyReport {
	p := n.policyWithRules(s)
	d := p.Decide(c.String(), tallies)
	r := TallyReport{
		Package:  c.String(),
		Decision: d.Outcome.String(),
		Withheld: d.Outcome == moderation.OutcomeRemove,
		Reason:   d.Reason,
		Keep:     d.Keep,
		Remove:   d.Remove,
		Local:    n.localRule(c),
		Policy: PolicyInfo{
			MinVotes: cmpOr(s.policy.MinVotes, moderation.DefaultMinVotes), RemoveRatio: s.policy.RemoveRatio,
			MinTallies: cmpOr(s.policy.MinTallies, moderation.DefaultMinTallies), Aggregators: s.aggregators,
			PowBits: s.powBits, Trusted: peerIDs(s.policy.Trusted), Distrusted: peerIDs(s.policy.Distrusted),
		},
		Checked: n.now().UTC(),
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
		out = append(out, PeerIDFromEd25519(k))
	}
	return out
}

func tallyInfo(t moderation.Tally, ignored string, recount map[string]string) TallyInfo {
	return TallyInfo{
		Signer: PeerIDFromEd25519(t.Signer), Keep: t.Keep, Remove: t.Remove,
		Digest: hex.EncodeToString(t.Digest[:]), Time: t.Time, Used: ignored == "", Ignored: ignored,
		Recount: recount[string(t.Signer)],
	}
}

// refreshDecision gathers tallies (and annotations) from c's aggregators,
// decides, and caches the result.
func (n *Node) refreshDecision(ctx context.Context, ns *netState, c cid.Cid, verify bool) TallyReport {
	s := n.modSettings()
	aggs, err := n.aggregators(ctx, ns, c, s.aggregators)
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
			t, rc, err := n.fetchTally(ctx, ns, p, c, verify, s)
			if err != nil {
				a.err = fmt.Sprintf("%s: %v", p, err)
			} else {
				a.t, a.ok, a.recount = t, true, rc
			}
			if anns, err := n.fetchAnnotations(ctx, ns, p, c); err == nil {
				a.anns = anns
			}
			n.fetchRetraction(ctx, ns, p, c)
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
	n.mod.talliesUsed.Add(int64(len(tallies)))
	n.learnAnnotations(c, anns)
	if len(tallies) == 0 && len(errs) > 0 {
		// No aggregator answered: the last known decision stands (stale)
		// until one does.
		if e := n.loadKeptDecision(c, s); e != nil {
			r := e.report
			r.Errors = errs
			n.cacheDecisionAt(c, r, n.now())
			return r
		}
	}
	r := n.decide(c, s, tallies, recount)
	r.Aggregators = len(aggs)
	r.Errors = errs
	r.Verified = verify
	n.cacheDecision(c, r)
	n.keepDecision(c, r.Checked, len(aggs), tallies)
	return r
}

// cacheDecision stores r and keeps the content-root map in step.
func (n *Node) cacheDecision(c cid.Cid, r TallyReport) { n.cacheDecisionAt(c, r, n.now()) }

// cacheDecisionAt is cacheDecision of a decision last refreshed at at.
func (n *Node) cacheDecisionAt(c cid.Cid, r TallyReport, at time.Time) *modEntry {
	var content cid.Cid
	if pkg, err := n.loadPackage(c); err == nil && pkg != nil {
		content = pkg.Content
	}
	m := &n.mod
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
		n.log.Log(context.Background(), level, "moderation: decision", "package", c, "decision", r.Decision, "reason", r.Reason)
	}
	return e
}

// forgetDecision drops the cached decision about c (its poll changed here).
func (n *Node) forgetDecision(c cid.Cid) {
	n.mod.mu.Lock()
	if e := n.mod.cache[c]; e != nil {
		e.at = time.Time{}
	}
	n.mod.mu.Unlock()
}

// forgetAllDecisions marks every cached decision stale (the policy changed).
func (n *Node) forgetAllDecisions() {
	n.mod.mu.Lock()
	for _, e := range n.mod.cache {
		e.at = time.Time{}
	}
	n.mod.mu.Unlock()
}

// aggregators returns the k peers closest to c's poll key, this node
// included when it is a DHT server or already holds votes on c (a DHT
// client that others reached as a connected peer, as in a young network of
// two, must count the votes it accepted).
func (n *Node) aggregators(ctx context.Context, ns *netState, c cid.Cid, k int) ([]peer.ID, error) {
	key := pollKey(c)
	lctx, cancel := context.WithTimeout(ctx, closestLookupTimeout)
	closest, err := ns.dht.GetClosestPeers(lctx, key)
	cancel()
	self := ns.dht.Mode() == dht.ModeServer || n.holdsVotes(c)
	if err != nil && len(closest) == 0 {
		if self {
			return []peer.ID{n.id.PeerID}, err
		}
		return nil, err
	}
	cands := slices.DeleteFunc(slices.Clone(closest), func(p peer.ID) bool { return p == n.id.PeerID })
	if self {
		cands = append(cands, n.id.PeerID)
	}
	cands = kbucket.SortClosestPeers(cands, kbucket.ConvertKey(key))
	return cands[:min(k, len(cands))], nil
}

// fetchTally asks p for a tally of c (with verify: and the votes behind it,
// recounted) and checks it.
func (n *Node) fetchTally(ctx context.Context, ns *netState, p peer.ID, c cid.Cid, verify bool, s modSettings) (moderation.Tally, string, error) {
	var t moderation.Tally
	var votes []moderation.Vote
	var err error
	switch {
	case p == n.id.PeerID && !verify:
		t, err = n.signTally(c)
	case p == n.id.PeerID:
		var payload []byte
		if payload, err = n.votesPayload(c); err == nil {
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
		n.rejected("tally", p, err)
		return t, "", err
	}
	if err := n.checkTally(t, p, c); err != nil {
		n.rejected("tally", p, err)
		return t, "", err
	}
	if !verify {
		return t, "", nil
	}
	if err := moderation.Recount(t, votes, s.powBits, n.now()); err != nil {
		n.rejected("tally", p, err)
		return t, "", err
	}
	return t, "ok", nil
}

// checkTally checks a tally that p sent about c.
func (n *Node) checkTally(t moderation.Tally, p peer.ID, c cid.Cid) error {
	if !t.Target.Equals(c) {
		return fmt.Errorf("%w: tally of %s", moderation.ErrWrongTarget, t.Target)
	}
	key, err := peerRawKey(p)
	if err != nil || !bytes.Equal(key, t.Signer) {
		return errWrongSigner
	}
	return moderation.VerifyTally(t, n.now(), tallyMaxAge, moderation.DefaultMaxSkew)
}

// fetchAnnotations asks p for the annotations it holds on c; each is
// verified (any age) before use.
func (n *Node) fetchAnnotations(ctx context.Context, ns *netState, p peer.ID, c cid.Cid) ([]moderation.Annotation, error) {
	if p == n.id.PeerID {
		return nil, nil // already in the store
	}
	payload, err := ns.mod.ask(ctx, p, modRequest{Op: modOpAnnotations, Target: c})
	if err != nil {
		return nil, err
	}
	anns, err := decodeAnnotationsPayload(payload)
	if err != nil {
		n.rejected("annotation", p, err)
		return nil, err
	}
	s := n.modSettings()
	out := anns[:0]
	for _, a := range anns {
		if err := moderation.CheckAnnotationTarget(a, c); err != nil {
			n.rejected("annotation", p, err)
			continue
		}
		if err := moderation.VerifyAnnotation(a, s.powBits, n.now(), 0, moderation.DefaultMaxSkew); err != nil {
			n.rejected("annotation", p, err)
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// ---- the aggregator ----

// startModeration registers the protocol; StartNetwork calls it.
func (n *Node) startModeration(ns *netState) *modService {
	svc := newModService(dialHost{ns.host, ns}, n.handleModeration, n.log.With("component", "moderation"))
	ns.goOwned(func(ctx context.Context) { n.modRefreshLoop(ctx) })
	ns.goOwned(func(ctx context.Context) { n.modSyncLoop(ctx, ns) })
	return svc
}

// handleModeration answers one request of the protocol.
func (n *Node) handleModeration(ctx context.Context, from peer.ID, req modRequest) (byte, []byte) {
	switch req.Op {
	case modOpVote:
		out, err := n.acceptVote(from, req.Target, req.Record)
		if err != nil {
			return modRejected, []byte(rejectReason(err) + ": " + err.Error())
		}
		return modOK, []byte(out)
	case modOpAnnotate:
		out, err := n.acceptAnnotation(from, req.Target, req.Record)
		if err != nil {
			return modRejected, []byte(rejectReason(err) + ": " + err.Error())
		}
		return modOK, []byte(out)
	case modOpTally:
		t, err := n.signTally(req.Target)
		if err == nil {
			var b []byte
			if b, err = t.Encode(); err == nil {
				return modOK, b
			}
		}
		return modRejected, []byte(err.Error())
	case modOpVotes:
		b, err := n.votesPayload(req.Target)
		if err != nil {
			return modRejected, []byte(err.Error())
		}
		return modOK, b
	case modOpRetract:
		out, err := n.acceptRetraction(from, req.Target, req.Record)
		if err != nil {
			return modRejected, []byte(rejectReason(err) + ": " + err.Error())
		}
		return modOK, []byte(out)
	case modOpRetraction:
		return modOK, n.answerRetraction(req.Target)
	case modOpAnnotations:
		recs, err := n.db.ModRecords(store.ModAnnotation, req.Target.Bytes())
		if err != nil {
			return modBusy, nil
		}
		return modOK, appendRecords(nil, recs[:min(len(recs), maxModAnns)])
	}
	return modRejected, []byte("unknown op")
}

// holdsVotes reports whether this node, as an aggregator, stored votes on c.
func (n *Node) holdsVotes(c cid.Cid) bool {
	recs, err := n.db.ModRecords(store.ModVote, c.Bytes())
	return err == nil && len(recs) > 0
}

// loadPoll returns c's poll, from memory or the store. Stored votes were
// verified when they arrived and are not verified again. Must hold aggMu.
func (n *Node) loadPoll(c cid.Cid) (*moderation.Poll, error) {
	if p := n.mod.polls[c]; p != nil {
		return p, nil
	}
	recs, err := n.db.ModRecords(store.ModVote, c.Bytes())
	if err != nil {
		return nil, err
	}
	poll := moderation.NewPoll(c, maxModVotes)
	for _, r := range recs {
		v, err := moderation.DecodeVote(r)
		if err != nil {
			n.log.Warn("moderation: stored vote does not decode", "package", c, "err", err)
			continue
		}
		_, _ = poll.Add(v)
	}
	if n.mod.polls == nil || len(n.mod.polls) >= maxModPolls {
		n.mod.polls = map[cid.Cid]*moderation.Poll{} // start over: a cache, not the truth
	}
	n.mod.polls[c] = poll
	return poll, nil
}

// acceptVote verifies and counts a vote handed to this aggregator.
func (n *Node) acceptVote(from peer.ID, target cid.Cid, rec []byte) (string, error) {
	err := func() error {
		if !isPackageCID(target) {
			return fmt.Errorf("%w: %s is not a package CID", moderation.ErrInvalid, target)
		}
		return nil
	}()
	var v moderation.Vote
	if err == nil {
		v, err = moderation.DecodeVote(rec)
	}
	if err == nil {
		err = moderation.CheckTarget(v, target)
	}
	if err == nil {
		// No age limit: a signed vote stays valid however old (aggregators
		// hand votes on to each other); one counted vote per voter and
		// package is what limits a replay.
		err = moderation.Verify(v, n.modSettings().powBits, n.now(), 0, moderation.DefaultMaxSkew)
	}
	if err != nil {
		n.rejected("vote", from, err)
		return "", err
	}
	res, err := n.countVote(target, v, rec)
	if err != nil {
		n.rejected("vote", from, err)
		return "", err
	}
	n.mod.votesAccepted.Add(1)
	n.log.Info("moderation: vote counted", "package", target, "choice", v.Choice, "voter", PeerIDFromEd25519(v.Voter), "result", res)
	return res.String(), nil
}

// countVote counts a verified vote in target's poll and keeps it.
func (n *Node) countVote(target cid.Cid, v moderation.Vote, rec []byte) (moderation.AddResult, error) {
	n.mod.aggMu.Lock()
	defer n.mod.aggMu.Unlock()
	poll, err := n.loadPoll(target)
	if err != nil {
		return 0, err
	}
	res, err := poll.Add(v)
	switch {
	case err != nil:
	case res == moderation.Duplicate:
		err = errDuplicate
	case res == moderation.Superseded:
		err = errSuperseded
	default:
		err = n.db.PutModRecord(store.ModVote, target.Bytes(), v.Voter, rec, store.ModLimits{PerTarget: maxModVotes, PerAuthor: maxModPerAuthor})
		if err != nil {
			delete(n.mod.polls, target) // the poll in memory counted it: read it again
		}
	}
	if err == nil {
		n.forgetDecision(target)
	}
	return res, err
}

// acceptAnnotation verifies and keeps an annotation handed to this node.
func (n *Node) acceptAnnotation(from peer.ID, target cid.Cid, rec []byte) (string, error) {
	a, err := moderation.DecodeAnnotation(rec)
	if err == nil {
		err = moderation.CheckAnnotationTarget(a, target)
	}
	if err == nil {
		err = moderation.VerifyAnnotation(a, n.modSettings().powBits, n.now(), annotationMaxAge, moderation.DefaultMaxSkew)
	}
	if err != nil {
		n.rejected("annotation", from, err)
		return "", err
	}
	res, err := n.storeAnnotation(a, rec)
	if err != nil {
		n.rejected("annotation", from, err)
		return "", err
	}
	n.mod.annsAccepted.Add(1)
	n.reindexSearch(target)
	return res, nil
}

// storeAnnotation keeps a (verified) annotation unless the store holds a
// later one of its annotator.
func (n *Node) storeAnnotation(a moderation.Annotation, rec []byte) (string, error) {
	n.mod.aggMu.Lock()
	defer n.mod.aggMu.Unlock()
	recs, err := n.db.ModRecords(store.ModAnnotation, a.Target.Bytes())
	if err != nil {
		return "", err
	}
	res := "added"
	for _, r := range recs {
		old, err := moderation.DecodeAnnotation(r)
		if err != nil || !bytes.Equal(old.Annotator, a.Annotator) {
			continue
		}
		switch c := old.Time.Compare(a.Time); {
		case bytes.Equal(r, rec):
			return "", errDuplicate
		case c > 0 || c == 0 && bytes.Compare(r, rec) > 0:
			return "", errSuperseded
		}
		res = "replaced"
	}
	err = n.db.PutModRecord(store.ModAnnotation, a.Target.Bytes(), a.Annotator, rec, store.ModLimits{PerTarget: maxModAnns, PerAuthor: maxModPerAuthor})
	return res, err
}

// learnAnnotations keeps annotations fetched from aggregators and reindexes
// the package when they changed what the node knows.
func (n *Node) learnAnnotations(c cid.Cid, anns []moderation.Annotation) {
	changed := false
	for _, a := range anns {
		rec, err := a.Encode()
		if err != nil {
			continue
		}
		if _, err := n.storeAnnotation(a, rec); err == nil {
			changed = true
		}
	}
	if changed {
		n.reindexSearch(c)
	}
}

// signTally signs a tally of this node's poll on c.
func (n *Node) signTally(c cid.Cid) (moderation.Tally, error) {
	if !isPackageCID(c) {
		return moderation.Tally{}, fmt.Errorf("%s is not a package CID", c)
	}
	n.mod.aggMu.Lock()
	poll, err := n.loadPoll(c)
	var t moderation.Tally
	if err == nil {
		t, err = moderation.NewTally(n.id.Ed25519(), poll, n.now())
	}
	n.mod.aggMu.Unlock()
	if err != nil {
		return t, err
	}
	if h := n.mod.tallyHook.Load(); h != nil {
		(*h)(&t)
	}
	n.mod.talliesServed.Add(1)
	return t, nil
}

// votesPayload is the answer to op votes: a tally and its votes.
func (n *Node) votesPayload(c cid.Cid) ([]byte, error) {
	if !isPackageCID(c) {
		return nil, fmt.Errorf("%s is not a package CID", c)
	}
	n.mod.aggMu.Lock()
	poll, err := n.loadPoll(c)
	var t moderation.Tally
	var votes []moderation.Vote
	if err == nil {
		t, err = moderation.NewTally(n.id.Ed25519(), poll, n.now())
		votes = poll.Votes()
	}
	n.mod.aggMu.Unlock()
	if err != nil {
		return nil, err
	}
	if h := n.mod.tallyHook.Load(); h != nil {
		(*h)(&t)
	}
	tb, err := t.Encode()
	if err != nil {
		return nil, err
	}
	var recs [][]byte
	for _, v := range votes {
		if b, err := v.Encode(); err == nil {
			recs = append(recs, b)
		}
	}
	n.mod.votesServed.Add(int64(len(recs)))
	return appendRecords(tb, recs), nil
}

// modRefreshLoop keeps the decisions about the packages this node holds
// fresh, so that serving them and answering searches (withheldCached)
// follow the votes. A decision is refreshed once it is stale; a held
// package nobody has asked about gets its first look one refresh interval
// after the loop first saw it, so that a node full of packages spreads its
// lookups rather than making them all at start. At most modRefreshBatch
// lookups per pass (every refresh/4).
func (n *Node) modRefreshLoop(ctx context.Context) {
	seen := map[cid.Cid]time.Time{} // held package → when this loop first saw it
	var pruned time.Time            // when kept decisions were last pruned
	for {
		s := n.modSettings()
		t := time.NewTimer(jitter(max(s.refresh/4, 10*time.Millisecond)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		pins, err := n.db.Pins()
		if err != nil {
			continue
		}
		now := n.now()
		held := map[cid.Cid]bool{}
		var due []cid.Cid
		n.mod.mu.Lock()
		for _, p := range pins {
			c := p.Root
			if held[c] || !isPackageCID(c) {
				continue
			}
			held[c] = true
			if _, ok := seen[c]; !ok {
				seen[c] = now
			}
			e := n.mod.cache[c]
			if e != nil && now.Sub(e.at) >= s.refresh || e == nil && now.Sub(seen[c]) >= s.refresh {
				due = append(due, c)
			}
		}
		n.mod.mu.Unlock()
		for c := range seen {
			if !held[c] {
				delete(seen, c)
			}
		}
		if now.Sub(pruned) >= 24*time.Hour {
			pruned = now
			n.pruneKeptDecisions(held)
		}
		for _, c := range due[:min(len(due), modRefreshBatch)] {
			if ctx.Err() != nil {
				return
			}
			n.modDecision(ctx, c, false, false, lookWait)
		}
	}
}

// ---- API ----

// VoteRequest is the body of POST /api/v1/moderation/vote.
type VoteRequest struct {
	Ref    string `json:"ref"`
	Choice string `json:"choice"` // keep | remove
	Reason string `json:"reason,omitempty"`
}

// AnnotateRequest is the body of POST /api/v1/moderation/annotate.
type AnnotateRequest struct {
	Ref    string            `json:"ref"`
	Tags   []string          `json:"tags,omitempty"`
	Titles map[string]string `json:"titles,omitempty"` // language → title
	Note   string            `json:"note,omitempty"`
}

// Delivery is the outcome of Vote and Annotate.
type Delivery struct {
	Package     string             `json:"package"`
	Kind        string             `json:"kind"` // vote | annotation
	Choice      string             `json:"choice,omitempty"`
	Author      string             `json:"author"` // peer ID of the voter or annotator
	WorkBits    int                `json:"work_bits"`
	WorkSeconds float64            `json:"work_seconds"`
	Aggregators []AggregatorAnswer `json:"aggregators"`
	Accepted    int                `json:"accepted"`
}

// AggregatorAnswer is one aggregator's answer to a delivery.
type AggregatorAnswer struct {
	Peer   string `json:"peer"`
	Result string `json:"result,omitempty"` // added, replaced, …
	Error  string `json:"error,omitempty"`
}

// TallyReport is a node's view of a package's poll: the tallies it used
// and ignored, its policy and its decision.
type TallyReport struct {
	Package     string      `json:"package"`
	Decision    string      `json:"decision"` // keep | remove | undecided
	Withheld    bool        `json:"withheld"`
	Reason      string      `json:"reason"`
	Keep        int         `json:"keep"`            // combined counted keep votes
	Remove      int         `json:"remove"`          // combined counted remove votes
	Local       string      `json:"local,omitempty"` // allow | deny: this node's own rule
	Policy      PolicyInfo  `json:"policy"`
	Aggregators int         `json:"aggregators"` // asked
	Tallies     []TallyInfo `json:"tallies"`
	Errors      []string    `json:"errors,omitempty"` // aggregators that did not answer usefully
	Verified    bool        `json:"verified,omitempty"`
	Checked     time.Time   `json:"checked"`               // when the tallies were gathered
	Stale       bool        `json:"stale,omitempty"`       // not refreshed for longer than moderation.refresh
	Age         int64       `json:"age,omitempty"`         // seconds since Checked, when stale
	Retracted   string      `json:"retracted,omitempty"`   // the publisher's retraction, in words
	Explanation string      `json:"explanation,omitempty"` // the decision in one paragraph
}

// PolicyInfo is the policy a decision was made under.
type PolicyInfo struct {
	MinVotes    int      `json:"min_votes"`
	RemoveRatio float64  `json:"remove_ratio"`
	MinTallies  int      `json:"min_tallies"`
	Aggregators int      `json:"aggregators"`
	PowBits     int      `json:"pow_bits"`
	Trusted     []string `json:"trusted"`
	Distrusted  []string `json:"distrusted"`
}

// TallyInfo is one aggregator's signed tally.
type TallyInfo struct {
	Signer  string    `json:"signer"` // peer ID
	Keep    int       `json:"keep"`
	Remove  int       `json:"remove"`
	Digest  string    `json:"digest"` // hex
	Time    time.Time `json:"time"`
	Used    bool      `json:"used"`
	Ignored string    `json:"ignored,omitempty"` // why not used
	Recount string    `json:"recount,omitempty"` // "ok" after --verify
}

// ModerationRule is a local override.
type ModerationRule struct {
	Package string `json:"package"`
	Rule    string `json:"rule"` // allow | deny | "" (cleared)
	Title   string `json:"title,omitempty"`
}

// ModerationRuleRequest is the body of POST /api/v1/moderation/rules.
type ModerationRuleRequest struct {
	Ref  string `json:"ref"`
	Rule string `json:"rule"` // allow | deny | clear
}

// packageRef resolves ref to a package CID that can have a poll.
func (n *Node) packageRef(ctx context.Context, ref string) (cid.Cid, error) {
	m, err := n.resolveRef(ctx, ref)
	if err != nil {
		return cid.Undef, err
	}
	if !isPackageCID(m.Root) {
		return cid.Undef, codedf(CodeInvalid, "%s is not a package (votes and annotations name a package root)", m.Root)
	}
	return m.Root, nil
}

// Vote implements API.
func (n *Node) Vote(ctx context.Context, req VoteRequest) (Delivery, error) {
	choice, err := moderation.ParseChoice(req.Choice)
	if err != nil {
		return Delivery{}, codedf(CodeInvalid, "vote: want keep or remove, got %q", req.Choice)
	}
	c, err := n.packageRef(ctx, req.Ref)
	if err != nil {
		return Delivery{}, err
	}
	ns := n.network()
	if ns == nil || ns.mod == nil {
		return Delivery{}, codedf(CodeNoDaemon, "vote needs the network: start `myconet daemon`")
	}
	s := n.modSettings()
	start := time.Now()
	v, err := moderation.NewVote(n.id.Ed25519(), c, choice, req.Reason, n.now(), s.powBits)
	if err != nil {
		return Delivery{}, coded(CodeInvalid, err)
	}
	took := time.Since(start)
	rec, err := v.Encode()
	if err != nil {
		return Delivery{}, coded(CodeInvalid, err)
	}
	d := Delivery{Package: c.String(), Kind: "vote", Choice: choice.String(), Author: n.id.PeerID.String(),
		WorkBits: s.powBits, WorkSeconds: took.Seconds()}
	n.deliver(ctx, ns, c, modOpVote, rec, s, &d)
	n.forgetDecision(c)
	if d.Accepted == 0 {
		return d, fmt.Errorf("vote reached no aggregator of %s (%s)", c, deliveryErrors(d))
	}
	return d, nil
}

// Annotate implements API.
func (n *Node) Annotate(ctx context.Context, req AnnotateRequest) (Delivery, error) {
	c, err := n.packageRef(ctx, req.Ref)
	if err != nil {
		return Delivery{}, err
	}
	ns := n.network()
	if ns == nil || ns.mod == nil {
		return Delivery{}, codedf(CodeNoDaemon, "annotate needs the network: start `myconet daemon`")
	}
	a := moderation.Annotation{Target: c, Tags: slices.Clone(req.Tags), Note: req.Note}
	sort.Strings(a.Tags)
	a.Tags = slices.Compact(a.Tags)
	if len(req.Titles) > 0 {
		a.Titles = req.Titles
	}
	s := n.modSettings()
	start := time.Now()
	a, err = moderation.NewAnnotation(n.id.Ed25519(), a, n.now(), s.powBits)
	if err != nil {
		return Delivery{}, coded(CodeInvalid, err)
	}
	took := time.Since(start)
	rec, err := a.Encode()
	if err != nil {
		return Delivery{}, coded(CodeInvalid, err)
	}
	d := Delivery{Package: c.String(), Kind: "annotation", Author: n.id.PeerID.String(), WorkBits: s.powBits, WorkSeconds: took.Seconds()}
	n.deliver(ctx, ns, c, modOpAnnotate, rec, s, &d)
	// The author sees it at once, aggregator or not.
	if _, err := n.storeAnnotation(a, rec); err == nil || errors.Is(err, errDuplicate) {
		n.reindexSearch(c)
	}
	if d.Accepted == 0 {
		return d, fmt.Errorf("annotation reached no aggregator of %s (%s)", c, deliveryErrors(d))
	}
	return d, nil
}

func deliveryErrors(d Delivery) string {
	if len(d.Aggregators) == 0 {
		return "none found: is the node connected?"
	}
	var errs []string
	for _, a := range d.Aggregators {
		errs = append(errs, a.Peer+": "+a.Error)
	}
	return fmt.Sprint(errs)
}

// deliver sends a vote or annotation to c's aggregators.
func (n *Node) deliver(ctx context.Context, ns *netState, c cid.Cid, op modOp, rec []byte, s modSettings, d *Delivery) {
	aggs, _ := n.aggregators(ctx, ns, c, s.aggregators)
	d.Aggregators = make([]AggregatorAnswer, len(aggs))
	var wg sync.WaitGroup
	for i, p := range aggs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ans := &d.Aggregators[i]
			ans.Peer = p.String()
			var out []byte
			var err error
			switch {
			case p == n.id.PeerID && op == modOpVote:
				var r string
				r, err = n.acceptVote(p, c, rec)
				out = []byte(r)
			case p == n.id.PeerID:
				var r string
				r, err = n.acceptAnnotation(p, c, rec)
				out = []byte(r)
			default:
				out, err = ns.mod.ask(ctx, p, modRequest{Op: op, Target: c, Record: rec})
			}
			if err != nil {
				ans.Error = err.Error()
				return
			}
			ans.Result = string(out)
		}()
	}
	wg.Wait()
	for _, a := range d.Aggregators {
		if a.Error == "" {
			d.Accepted++
		}
	}
}

// Tally implements API.
func (n *Node) Tally(ctx context.Context, ref string, verify bool) (TallyReport, error) {
	c, err := n.packageRef(ctx, ref)
	if err != nil {
		return TallyReport{}, err
	}
	ns := n.network()
	if ns == nil || ns.mod == nil {
		return TallyReport{}, codedf(CodeNoDaemon, "tally needs the network: start `myconet daemon` (`myconet moderation why` shows the local rules offline)")
	}
	return n.explained(c, n.modDecision(ctx, c, true, verify, lookWait)), nil
}

// ModerationWhy implements API.
func (n *Node) ModerationWhy(ctx context.Context, ref string) (TallyReport, error) {
	c, err := n.packageRef(ctx, ref)
	if err != nil {
		return TallyReport{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, modWait)
	defer cancel()
	return n.explained(c, n.modDecision(wctx, c, false, false, lookWait)), nil
}

// ModerationSet implements API.
func (n *Node) ModerationSet(ctx context.Context, ref, rule string) (ModerationRule, error) {
	c, err := n.packageRef(ctx, ref)
	if err != nil {
		return ModerationRule{}, err
	}
	switch rule {
	case "allow", "deny", "clear":
	default:
		return ModerationRule{}, codedf(CodeInvalid, "moderation rule: want allow, deny or clear, got %q", rule)
	}
	if err := n.db.SetModRule(c.String(), rule == "allow", rule == "clear"); err != nil {
		return ModerationRule{}, storeErr(err)
	}
	rules := n.modRules()
	n.mod.mu.Lock()
	if rule == "clear" {
		delete(rules, c.String())
	} else {
		rules[c.String()] = rule == "allow"
	}
	n.mod.mu.Unlock()
	n.reindexSearch(c)
	out := ModerationRule{Package: c.String(), Rule: rule}
	if rule == "clear" {
		out.Rule = ""
	}
	if pkg, err := n.loadPackage(c); err == nil && pkg != nil {
		out.Title = pkg.Meta.Title
	}
	return out, nil
}

// ModerationRules implements API.
func (n *Node) ModerationRules(ctx context.Context) ([]ModerationRule, error) {
	rules, err := n.db.ModRules()
	if err != nil {
		return nil, storeErr(err)
	}
	out := []ModerationRule{}
	for _, r := range rules {
		mr := ModerationRule{Package: r.Target, Rule: "deny"}
		if r.Allow {
			mr.Rule = "allow"
		}
		if c, err := cid.Decode(r.Target); err == nil {
			if pkg, err := n.loadPackage(c); err == nil && pkg != nil {
				mr.Title = pkg.Meta.Title
			}
		}
		out = append(out, mr)
	}
	return out, nil
}

// ---- annotations on info and in search ----

// AnnotationCount is one annotated value and how many distinct people gave it.
type AnnotationCount struct {
	Value  string `json:"value"`
	People int    `json:"people"`
}

// Annotations is what community annotations say about a package.
type Annotations struct {
	People int                          `json:"people"` // distinct annotators
	Tags   []AnnotationCount            `json:"tags,omitempty"`
	Titles map[string][]AnnotationCount `json:"titles,omitempty"` // by language
	Notes  []AnnotationCount            `json:"notes,omitempty"`
}

// annotationSummary summarizes the annotations the store holds on c.
func (n *Node) annotationSummary(c cid.Cid) moderation.Summary {
	recs, err := n.db.ModRecords(store.ModAnnotation, c.Bytes())
	if err != nil || len(recs) == 0 {
		return moderation.Summary{}
	}
	anns := make([]moderation.Annotation, 0, len(recs))
	for _, r := range recs {
		if a, err := moderation.DecodeAnnotation(r); err == nil {
			anns = append(anns, a)
		}
	}
	return moderation.Summarize(c, anns)
}

// communityAnnotations is Info's view of c's annotations (nil when none).
func (n *Node) communityAnnotations(c cid.Cid) *Annotations {
	if !isPackageCID(c) {
		return nil
	}
	s := n.annotationSummary(c)
	if s.Annotators == 0 {
		return nil
	}
	conv := func(cs []moderation.Count) []AnnotationCount {
		out := make([]AnnotationCount, len(cs))
		for i, x := range cs {
			out[i] = AnnotationCount{x.Value, x.Annotators}
		}
		return out
	}
	a := &Annotations{People: s.Annotators, Tags: conv(s.Tags), Notes: conv(s.Notes)}
	if len(s.Titles) > 0 {
		a.Titles = map[string][]AnnotationCount{}
		for l, ts := range s.Titles {
			a.Titles[l] = conv(ts)
		}
	}
	return a
}

// annotationTags is the 4th argument of search.DocFromMeta: the tags the
// community gave c.
func (n *Node) annotationTags(c cid.Cid) []string {
	s := n.annotationSummary(c)
	var out []string
	for _, t := range s.Tags {
		out = append(out, t.Value)
	}
	return out
}
