package names

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	ds "github.com/ipfs/go-datastore"
	dsq "github.com/ipfs/go-datastore/query"
	dssync "github.com/ipfs/go-datastore/sync"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	record "github.com/libp2p/go-libp2p-record"
	recpb "github.com/libp2p/go-libp2p-record/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/myconet/myconet/internal/leakcheck"
	"google.golang.org/protobuf/proto"
)

// dhtNode is one member of the test network.
type dhtNode struct {
	priv  crypto.PrivKey
	id    peer.ID
	dht   *dht.IpfsDHT
	store ds.Batching
}

// stored returns the value this node holds locally under key, or nil.
func (n *dhtNode) stored(t *testing.T, key string) []byte {
	t.Helper()
	res, err := n.store.Query(context.Background(), dsq.Query{})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	for e := range res.Next() {
		if e.Error != nil {
			t.Fatal(e.Error)
		}
		var rec recpb.Record
		if proto.Unmarshal(e.Value, &rec) == nil && string(rec.GetKey()) == key {
			return rec.GetValue()
		}
	}
	return nil
}

// acceptAll is the validator of a lying node: it takes any value and prefers
// the newest one it is given.
type acceptAll struct{}

func (acceptAll) Validate(string, []byte) error        { return nil }
func (acceptAll) Select(string, [][]byte) (int, error) { return 0, nil }

// newTestNetwork starts n DHT servers on a mocknet with the protocol prefix
// /myconet, linked in a ring, and waits until every node has its ring
// neighbours in its routing table. Even nodes are wired with dht.Validator
// (only our namespaces), odd ones with dht.NamespacedValidator (ours added to
// the defaults), to show both work together. The node at index liar, if
// non-negative, accepts any /myco-name/ value. Everything is closed on
// cleanup.
func newTestNetwork(t *testing.T, n, liar int) []*dhtNode {
	t.Helper()
	mn := mocknet.New()
	nodes := make([]*dhtNode, n)
	for i := range nodes {
		priv := testKey(t, uint64(100+i))
		addr := ma.StringCast(fmt.Sprintf("/ip6/100::%x/tcp/4242", i+1))
		h, err := mn.AddPeer(priv, addr)
		if err != nil {
			t.Fatal(err)
		}
		store := dssync.MutexWrap(ds.NewMapDatastore())
		opts := []dht.Option{
			dht.Mode(dht.ModeServer),
			dht.ProtocolPrefix("/myconet"),
			dht.DisableAutoRefresh(),
			dht.Datastore(store),
		}
		switch {
		case i == liar:
			opts = append(opts, dht.Validator(record.NamespacedValidator{
				NameNamespace: acceptAll{},
				AddrNamespace: acceptAll{},
			}))
		case i%2 == 0:
			opts = append(opts, dht.Validator(Validators(nil)))
		default:
			opts = append(opts,
				dht.NamespacedValidator(NameNamespace, NameValidator{}),
				dht.NamespacedValidator(AddrNamespace, AddrValidator{}))
		}
		d, err := dht.New(h, opts...)
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = &dhtNode{priv: priv, id: h.ID(), dht: d, store: store}
	}
	// Cleanups run last-in first-out: DHTs close before the mocknet.
	t.Cleanup(func() { mn.Close() })
	for _, nd := range nodes {
		t.Cleanup(func() { nd.dht.Close() })
	}
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	for i := range nodes {
		if _, err := mn.ConnectPeers(nodes[i].id, nodes[(i+1)%n].id); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for i, nd := range nodes {
		for _, j := range []int{(i + 1) % n, (i + n - 1) % n} {
			for nd.dht.RoutingTable().Find(nodes[j].id) == "" {
				select {
				case <-ctx.Done():
					t.Fatalf("node %d never got node %d into its routing table", i, j)
				case <-time.After(5 * time.Millisecond):
				}
			}
		}
	}
	return nodes
}

func opCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestDHTNames(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-node test")
	}
	leakcheck.Check(t)
	const n, liar = 9, 8
	nodes := newTestNetwork(t, n, liar)
	pub := nodes[0]
	key := NameKey(pub.id, "site")
	p1, p2 := testCID(t, "version 1"), testCID(t, "version 2")

	// Nothing published yet.
	if _, err := Resolve(opCtx(t), nodes[4].dht, pub.id, "site", time.Now()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("resolve before publishing: %v, want ErrNotFound", err)
	}

	rec1, err := Publish(opCtx(t), pub.dht, pub.priv, "site", p1, 1, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got, err := Resolve(opCtx(t), nodes[4].dht, pub.id, "site", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 1 || got.Target != p1 {
		t.Fatalf("resolved seq %d target %s, want 1 %s", got.Seq, got.Target, p1)
	}

	rec2, err := Publish(opCtx(t), pub.dht, pub.priv, "site", p2, 2, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resolveAll := func(what string) {
		t.Helper()
		for i, nd := range nodes[:liar] {
			got, err := Resolve(opCtx(t), nd.dht, pub.id, "site", time.Now())
			if err != nil {
				t.Fatalf("%s: node %d: %v", what, i, err)
			}
			if got.Seq != 2 || got.Target != p2 {
				t.Fatalf("%s: node %d resolved seq %d target %s, want 2 %s", what, i, got.Seq, got.Target, p2)
			}
		}
	}
	resolveAll("after seq 2")
	b2 := mustEncode(t, rec2)
	holders := 0
	held := make([]bool, liar)
	for i, nd := range nodes[:liar] {
		if bytes.Equal(nd.stored(t, key), b2) {
			held[i] = true
			holders++
		}
	}
	if holders == 0 {
		t.Fatal("no node stores seq 2")
	}
	t.Logf("%d of %d honest nodes store seq 2", holders, liar)

	// An older sequence number does not replace a newer one: not through
	// the publisher's own DHT ...
	if _, err := Publish(opCtx(t), pub.dht, pub.priv, "site", p1, 1, 0, time.Now()); err == nil {
		t.Error("publishing seq 1 after seq 2: no error")
	}
	// ... nor when a node that accepts anything pushes the old, validly
	// signed record to its peers.
	b1 := mustEncode(t, rec1)
	if err := nodes[liar].dht.PutValue(opCtx(t), key, b1); err != nil {
		t.Fatalf("liar put: %v", err)
	}
	for i, nd := range nodes[:liar] {
		if held[i] && !bytes.Equal(nd.stored(t, key), b2) {
			t.Errorf("node %d held seq 2 and lost it to seq 1", i)
		}
	}
	resolveAll("after an old record was pushed")

	// A forged record (seq 99, signature of seq 2) is refused by an honest
	// node's own PutValue ...
	w := rawFrom(t, rec2)
	w.seq = 99
	forged := appendBytes(w.unsigned(), rec2.Signature)
	if err := nodes[3].dht.PutValue(opCtx(t), key, forged); !errors.Is(err, ErrBadSignature) {
		t.Errorf("honest put of a forged record: %v, want ErrBadSignature", err)
	}
	// ... and by every honest peer the liar pushes it to.
	if err := nodes[liar].dht.PutValue(opCtx(t), key, forged); err != nil {
		t.Fatalf("liar put: %v", err)
	}
	if !bytes.Equal(nodes[liar].stored(t, key), forged) {
		t.Fatal("the liar does not even store its forgery")
	}
	for i, nd := range nodes[:liar] {
		if bytes.Equal(nd.stored(t, key), forged) {
			t.Errorf("node %d stored the forged record", i)
		}
	}
	resolveAll("after a forged record was pushed")
	for i, nd := range nodes[:liar] {
		if v := nd.stored(t, key); v != nil && !bytes.Equal(v, b2) && !bytes.Equal(v, b1) {
			t.Errorf("node %d stores something else: %x", i, v)
		}
	}

	// The owner republishes seq 2 with a fresh validity: the later created
	// time wins the tie everywhere.
	later := rec2.Created.Add(time.Minute)
	rec2b, err := Publish(opCtx(t), pub.dht, pub.priv, "site", p2, 2, 0, later)
	if err != nil {
		t.Fatalf("republish: %v", err)
	}
	for i, nd := range nodes[:liar] {
		got, err := Resolve(opCtx(t), nd.dht, pub.id, "site", later)
		if err != nil {
			t.Fatalf("after republish: node %d: %v", i, err)
		}
		if !got.Created.Equal(rec2b.Created) || !got.Expires.Equal(rec2b.Expires) {
			t.Fatalf("after republish: node %d got created %s, want %s", i, got.Created, rec2b.Created)
		}
	}
	// Once that validity has passed, resolving fails even though nodes still
	// serve the record (kad-dht only checks its own MaxRecordAge on read).
	if _, err := Resolve(opCtx(t), nodes[5].dht, pub.id, "site", rec2b.Expires); !errors.Is(err, ErrExpired) {
		t.Errorf("resolve after expiry: %v, want ErrExpired", err)
	}
}

func TestDHTAddr(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-node test")
	}
	leakcheck.Check(t)
	const n, liar = 7, 6
	nodes := newTestNetwork(t, n, liar)

	owner := nodes[2]
	if err := PublishAddr(opCtx(t), owner.dht, owner.priv); err != nil {
		t.Fatal(err)
	}
	a, _ := NewAddrRecord(owner.priv)
	for i, nd := range nodes[:liar] {
		pub, err := ResolveAddr(opCtx(t), nd.dht, a.Address())
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		if !pub.Equals(owner.priv.GetPublic()) {
			t.Fatalf("node %d resolved another key", i)
		}
	}
	// Publishing again is harmless (same bytes refresh the record).
	if err := PublishAddr(opCtx(t), owner.dht, owner.priv); err != nil {
		t.Errorf("republish: %v", err)
	}

	// The liar claims node 4's address for the owner's key; honest nodes
	// refuse it, so node 4's address stays unknown.
	victim, _ := NewAddrRecord(nodes[4].priv)
	vkey, _ := AddrKey(victim.Address())
	if err := nodes[liar].dht.PutValue(opCtx(t), vkey, mustEncode(t, a)); err != nil {
		t.Fatalf("liar put: %v", err)
	}
	for i, nd := range nodes[:liar] {
		if nd.stored(t, vkey) != nil {
			t.Errorf("node %d stored the false claim", i)
		}
	}
	_, err := ResolveAddr(opCtx(t), nodes[0].dht, victim.Address())
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("resolve of an unpublished address: %v, want ErrNotFound", err)
	}
	if err != nil && !strings.Contains(err.Error(), victim.Address().String()) {
		t.Errorf("error does not name the address: %v", err)
	}
}
