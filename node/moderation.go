package node

import (
	"context"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/moderate"
	"github.com/myconet/myconet/store"
)

// Community moderation lives in node/moderate; the node builds the service
// (newModeration), puts it on the network with each session (network.go),
// and hands the API's moderation methods to it.

// newModeration builds the moderation service once the store and the
// identity exist.
func (n *Node) newModeration() (*moderate.Service, error) {
	return moderate.New(moderate.Options{
		DB:     n.db,
		Logger: n.log,
		Key:    n.id.Ed25519(),
		Now:    n.now,
		Config: func() config.ModerationConfig {
			n.mu.Lock()
			defer n.mu.Unlock()
			return n.cfg.Moderation
		},
		Resolve: n.resolveRef,
		Links:   blockLinks,
		Reindex: n.reindexSearch,
		Changed: n.searchChanged,
	})
}

// startModeration puts moderation on the network; StartNetwork calls it.
func (n *Node) startModeration(ns *netState) *moderate.Service {
	if err := n.mod.StartNetwork(ns.ctx, moderate.Network{Host: ns.p2p.Dialer(), DHT: ns.dht}); err != nil {
		n.log.Error("moderation did not start", "err", err)
		return nil
	}
	return n.mod
}

// ModerationStats returns the moderation counters.
func (n *Node) ModerationStats() apitype.ModerationStats { return n.mod.Stats() }

// Vote implements API.
func (n *Node) Vote(ctx context.Context, req apitype.VoteRequest) (apitype.Delivery, error) {
	return n.mod.Vote(ctx, req)
}

// Annotate implements API.
func (n *Node) Annotate(ctx context.Context, req apitype.AnnotateRequest) (apitype.Delivery, error) {
	return n.mod.Annotate(ctx, req)
}

// Retract implements API.
func (n *Node) Retract(ctx context.Context, req apitype.RetractRequest) (apitype.RetractResult, error) {
	return n.mod.Retract(ctx, req)
}

// Tally implements API.
func (n *Node) Tally(ctx context.Context, ref string, verify bool) (apitype.TallyReport, error) {
	return n.mod.Tally(ctx, ref, verify)
}

// ModerationWhy implements API.
func (n *Node) ModerationWhy(ctx context.Context, ref string) (apitype.TallyReport, error) {
	return n.mod.Why(ctx, ref)
}

// ModerationSet implements API.
func (n *Node) ModerationSet(ctx context.Context, ref, rule string) (apitype.ModerationRule, error) {
	return n.mod.SetRule(ctx, ref, rule)
}

// ModerationRules implements API.
func (n *Node) ModerationRules(ctx context.Context) ([]apitype.ModerationRule, error) {
	return n.mod.Rules(ctx)
}

// The seams the rest of the node asks (moderate.Service documents them).

func (n *Node) withheldErr(ctx context.Context, c cid.Cid) error { return n.mod.WithheldErr(ctx, c) }
func (n *Node) retractedErr(c cid.Cid) error                     { return n.mod.RetractedErr(c) }
func (n *Node) retracted(c cid.Cid) bool                         { return n.mod.Retracted(c) }
func (n *Node) retractedNote(c cid.Cid) string                   { return n.mod.RetractedNote(c) }
func (n *Node) annotationTags(c cid.Cid) []string                { return n.mod.AnnotationTags(c) }
func (n *Node) communityAnnotations(c cid.Cid) *apitype.Annotations {
	return n.mod.Annotations(c)
}
func (n *Node) keepRetracted(root cid.Cid, reason store.Reason) (bool, error) {
	return n.mod.KeepRetracted(root, reason)
}
func (n *Node) moderationConfigChanged(key string) { n.mod.ConfigChanged(key) }
