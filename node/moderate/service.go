package moderate

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
// (wire.go); a DHT server that is itself among the k closest
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
// (kept.go); aggregators reconcile their votes with each other
// by digest (sync.go); a publisher can retract a package
// (retract.go); a withheld package is withheld under every
// name of its blocks (block.go).
//
// Service.Withheld (withheld.go) is the one seam the rest of the node
// asks: retrieval (serving blocks), replication (taking and spreading
// replicas), the gateway and the API (resolve, through WithheldErr), and
// search (WithheldCached).

import (
	"crypto/ed25519"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/myconet/myconet/moderation"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/store"
)

// Moderation tuning.
const (
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

// Service is a node's moderation: its local rules, its decisions (cached,
// kept on disk), the retractions it knows, and, while the node is on the
// network, the aggregator and the protocol. It exists for the node's
// lifetime; StartNetwork and StopNetwork bracket each network session.
// Its methods are safe for concurrent use.
type Service struct {
	opt  Options
	db   *store.DB
	log  *slog.Logger
	key  ed25519.PrivateKey
	self peer.ID
	now  func() time.Time

	netMu sync.Mutex
	net   *netSession // while on the network; guarded by netMu

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
	report apitype.TallyReport
	at     time.Time
}

// Stats returns the moderation counters.
func (m *Service) Stats() apitype.ModerationStats {
	s := apitype.ModerationStats{
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
	if ns := m.network(); ns != nil && ns.mod != nil {
		s.Messages = ns.mod.sent.Load() + ns.mod.received.Load()
		s.Malformed = ns.mod.malformed.Load()
	}
	return s
}

// rejected counts and logs a refused record.
func (m *Service) rejected(kind string, from peer.ID, err error) {
	reason := rejectReason(err)
	m.mu.Lock()
	if m.reject == nil {
		m.reject = map[string]int64{}
	}
	m.reject[kind+"/"+reason]++
	m.mu.Unlock()
	m.log.Info("moderation: rejected", "kind", kind, "reason", reason, "peer", from, "err", err)
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

func (m *Service) modSettings() modSettings {
	mc := m.opt.Config()
	s := modSettings{
		policy: moderation.Policy{
			MinVotes: mc.MinVotes, RemoveRatio: float64(mc.RemoveRatio), MinTallies: mc.MinTallies,
			Trusted: peerKeys(mc.Trusted), Distrusted: peerKeys(mc.Distrusted),
		},
		powBits: mc.PowBits, aggregators: mc.Aggregators,
	}
	s.refresh, _ = time.ParseDuration(mc.Refresh)
	if s.refresh <= 0 {
		s.refresh = config.DefaultModerationRefresh
	}
	if s.aggregators <= 0 {
		s.aggregators = config.DefaultAggregators
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
		if k, err := config.PeerKey(s); err == nil {
			out = append(out, k)
		}
	}
	return out
}

// isPackageCID reports whether c can have a poll (a package root).
func isPackageCID(c cid.Cid) bool {
	return c.Defined() && c.Version() == 1 && c.Type() == cid.DagCBOR && c.Prefix().MhType == multihash.SHA2_256
}

// pollKey is the DHT key whose closest nodes aggregate c's votes.
func pollKey(c cid.Cid) string { return "myconet-poll/" + string(c.Bytes()) }

// ---- local rules ----

func (m *Service) modRules() map[string]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rules == nil {
		m.rules = map[string]bool{}
		rules, err := m.db.ModRules()
		if err != nil {
			m.log.Warn("moderation: cannot read local rules", "err", err)
		}
		for _, r := range rules {
			m.rules[r.Target] = r.Allow
		}
	}
	return m.rules
}

func (m *Service) localRule(c cid.Cid) (rule string) {
	rules := m.modRules()
	m.mu.Lock()
	defer m.mu.Unlock()
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
func (m *Service) policyWithRules(s modSettings) moderation.Policy {
	p := s.policy
	rules := m.modRules()
	m.mu.Lock()
	p.Allow, p.Deny = map[string]bool{}, map[string]bool{}
	for k, allow := range rules {
		if allow {
			p.Allow[k] = true
		} else {
			p.Deny[k] = true
		}
	}
	m.mu.Unlock()
	return p
}
