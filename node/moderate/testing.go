package moderate

import (
	"context"
	"crypto/ed25519"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/moderation"
)

// Test seams, for the multi-node tests of package node.

// SetTallyHookForTest makes the node a lying aggregator: f changes the
// counts (or digest) of each tally it hands out, and it signs the lie with
// its own key, so the tally verifies.
func (m *Service) SetTallyHookForTest(f func(*moderation.Tally)) {
	h := func(t *moderation.Tally) {
		f(t)
		t.Sig = make([]byte, ed25519.SignatureSize)
		enc, err := t.Encode()
		if err != nil {
			return
		}
		msg := append([]byte("myconet-tally/v1\n"), enc[:len(enc)-ed25519.SignatureSize]...)
		t.Sig = ed25519.Sign(m.key, msg)
	}
	m.tallyHook.Store(&h)
}

// AggregatorsForTest returns the aggregators the node finds for c.
func (m *Service) AggregatorsForTest(ctx context.Context, c cid.Cid) ([]peer.ID, error) {
	return m.aggregators(ctx, m.network(), c, m.modSettings().aggregators)
}

// SendForTest sends a raw record about c to p (kind: "vote", "annotation"
// or "retraction", the last a bundle), and returns p's answer.
func (m *Service) SendForTest(ctx context.Context, p peer.ID, c cid.Cid, kind string, rec []byte) (string, error) {
	op := modOpVote
	switch kind {
	case "annotation":
		op = modOpAnnotate
	case "retraction":
		op = modOpRetract
	}
	out, err := m.network().mod.ask(ctx, p, modRequest{Op: op, Target: c, Record: rec})
	return string(out), err
}

// RetractBundleForTest is the bundle a retraction travels in.
func RetractBundleForTest(rec, root []byte) []byte { return encodeRetractBundle(rec, root) }
