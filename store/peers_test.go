package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/myconet/myconet/store"
	"github.com/myconet/myconet/store/storetest"
)

func TestPeersKeepsMostRecent(t *testing.T) {
	db := storetest.Open(t, store.Config{})
	base := time.Unix(1_700_000_000, 0)
	var recs []store.PeerRecord
	for i := range store.MaxPeers + 10 {
		recs = append(recs, store.PeerRecord{ID: fmt.Sprintf("peer%03d", i), Addrs: []string{"/ip4/127.0.0.1/tcp/1"}, Seen: base.Add(time.Duration(i) * time.Second)})
	}
	if err := db.PutPeers(recs); err != nil {
		t.Fatal(err)
	}
	got, err := db.Peers()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != store.MaxPeers || got[0].ID != fmt.Sprintf("peer%03d", store.MaxPeers+9) {
		t.Fatalf("got %d peers, first %+v", len(got), got[0])
	}
	// Re-putting a peer replaces it.
	if err := db.PutPeers([]store.PeerRecord{{ID: "peer000", Seen: base.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	got, _ = db.Peers()
	if got[0].ID != "peer000" || len(got) != store.MaxPeers {
		t.Fatalf("after re-put: %d peers, first %s", len(got), got[0].ID)
	}
}
