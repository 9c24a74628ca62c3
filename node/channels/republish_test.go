package channels

import (
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/node/names"
)

func TestRepublishDue(t *testing.T) {
	ids := func(lo, hi int) []peer.ID {
		var out []peer.ID
		for i := lo; i < hi; i++ {
			out = append(out, peer.ID(fmt.Sprint("p", i)))
		}
		return out
	}
	t0 := time.Unix(1_000_000, 0)
	var r republishState
	if r.due(t0, nil, false) {
		t.Fatal("due with an empty routing table")
	}
	if !r.due(t0, ids(0, 1), false) {
		t.Fatal("first round not due once the table has a peer")
	}
	r.done(t0, ids(0, 1), false)
	if r.due(t0.Add(republishMinGap-time.Second), ids(0, 1), false) || !r.due(t0.Add(republishMinGap), ids(0, 1), false) {
		t.Fatal("a failed round is not retried after republishMinGap")
	}
	r.done(t0, ids(0, 1), true)
	if r.due(t0.Add(time.Hour-time.Second), ids(0, 1), false) {
		t.Fatal("due again with the same table")
	}
	if !r.due(t0.Add(time.Second), ids(0, 1), true) || r.due(t0.Add(time.Second), nil, true) {
		t.Fatal("a pending channel does not start a round as soon as there are peers")
	}
	if !r.due(t0.Add(names.RepublishInterval), ids(0, 1), false) {
		t.Fatal("not due after RepublishInterval")
	}
	if r.due(t0.Add(republishMinGap-time.Second), ids(0, 2), false) || !r.due(t0.Add(republishMinGap), ids(0, 2), false) {
		t.Fatal("a newcomer in a small table does not start a round after republishMinGap")
	}
	// A large table waits for a quarter of newcomers.
	r.done(t0, ids(0, 40), true)
	at := t0.Add(2 * republishMinGap)
	if r.due(at, ids(0, 49), false) || !r.due(at, ids(0, 50), false) {
		t.Fatal("a large table: due at the wrong share of newcomers")
	}
	if names.RepublishInterval*4 > names.DefaultTTL {
		t.Fatalf("RepublishInterval %v is not well inside the record TTL %v", names.RepublishInterval, names.DefaultTTL)
	}
}
