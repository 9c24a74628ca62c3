package node_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/invite"
	"github.com/myconet/myconet/node/nodetest"
)

// The invitation part of fakeAPI (httpapi_test.go).

func (f *fakeAPI) Invite(ctx context.Context, req apitype.InviteRequest) (apitype.InviteResult, error) {
	return apitype.InviteResult{Invite: invite.Prefix + "fake", Peer: "12D3KooWfake", Uses: max(req.Uses, 1)}, nil
}

func (f *fakeAPI) Join(ctx context.Context, text string) (apitype.JoinResult, error) {
	if text == "bad" {
		return apitype.JoinResult{}, apitype.ErrInvalid
	}
	return apitype.JoinResult{Peer: "12D3KooWfake", Learned: 1, Connected: 2, Remembered: 2}, nil
}

// TestInviteJoin: B joins through A's invitation, learns A's peer C and
// remembers both; a second node on a one-use invitation, an expired, a
// tampered and a node's own invitation are refused with a clear line.
// Issue 15 §2.
func TestInviteJoin(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 4, nodetest.Options{})
	net.Connect(0, 2)
	a, b, c, d := net.Nodes[0], net.Nodes[1], net.Nodes[2], net.Nodes[3]
	ctx := context.Background()

	inv, err := a.Invite(ctx, apitype.InviteRequest{Expires: "1h", Uses: 1})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Peer != a.Identity().PeerID.String() || inv.Uses != 1 || len(inv.Addrs) == 0 || !strings.HasPrefix(inv.Invite, invite.Prefix) {
		t.Fatalf("invite %+v", inv)
	}
	res, err := b.Join(ctx, inv.Invite)
	if err != nil {
		t.Fatal(err)
	}
	if res.Peer != inv.Peer || res.Learned != 1 || res.Connected < 2 || res.Remembered != 2 {
		t.Fatalf("join %+v", res)
	}
	if p, _ := b.Peers(ctx); len(p) < 2 {
		t.Fatalf("B's peers after joining: %v", p)
	}
	known, err := b.Store().Peers()
	if err != nil {
		t.Fatal(err)
	}
	remembered := map[string]bool{}
	for _, r := range known {
		remembered[r.ID] = true
	}
	if !remembered[a.Identity().PeerID.String()] || !remembered[c.Identity().PeerID.String()] {
		t.Fatalf("B remembers %v, want A and C", remembered)
	}
	// The same node again uses nothing more.
	if _, err := b.Join(ctx, inv.Invite); err != nil {
		t.Fatalf("B joining again: %v", err)
	}
	// A second node: used up, and A closes the connection. (Watched as a
	// disconnect event: the DHT of either side may dial again afterwards.)
	var closed atomic.Bool
	aID := a.Identity().PeerID
	node.OverlayHostNet(d).Notify(&network.NotifyBundle{DisconnectedF: func(_ network.Network, c network.Conn) {
		if c.RemotePeer() == aID {
			closed.Store(true)
		}
	}})
	_, err = d.Join(ctx, inv.Invite)
	if apitype.CodeOf(err) != apitype.CodeInvalid || !strings.Contains(err.Error(), "used up") {
		t.Fatalf("second node on a one-use invitation: %v", err)
	}
	net.Eventually(10*time.Second, "A closing the refused node's connection", closed.Load)

	short, err := a.Invite(ctx, apitype.InviteRequest{Expires: "1s", Uses: 5})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(short.Expires) + 10*time.Millisecond) // the invitation's own expiry
	if _, err := d.Join(ctx, short.Invite); apitype.CodeOf(err) != apitype.CodeInvalid || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired invitation: %v", err)
	}
	good, _ := a.Invite(ctx, apitype.InviteRequest{Uses: 2})
	tampered := good.Invite[:20] + string('1'+(good.Invite[20]-'0'+1)%9) + good.Invite[21:]
	if _, err := d.Join(ctx, tampered); apitype.CodeOf(err) != apitype.CodeInvalid {
		t.Fatalf("tampered invitation: %v", err)
	}
	if _, err := a.Join(ctx, good.Invite); apitype.CodeOf(err) != apitype.CodeInvalid || !strings.Contains(err.Error(), "own invitation") {
		t.Fatalf("own invitation: %v", err)
	}
	for _, bad := range []apitype.InviteRequest{{Expires: "soon"}, {Expires: "-1h"}, {Uses: -1}, {Uses: 70000}} {
		if _, err := a.Invite(ctx, bad); apitype.CodeOf(err) != apitype.CodeInvalid {
			t.Errorf("Invite(%+v): %v, want invalid", bad, err)
		}
	}
	if _, err := d.Join(ctx, good.Invite); err != nil {
		t.Fatalf("a fresh invitation: %v", err)
	}
}

// TestInviteJoinHTTP: both calls survive the HTTP round trip, errors with
// their code.
func TestInviteJoinHTTP(t *testing.T) {
	f := &fakeAPI{}
	_, c := serveFake(t, f)
	ctx := t.Context()
	inv, err := c.Invite(ctx, apitype.InviteRequest{Expires: "2h", Uses: 3})
	if want, _ := f.Invite(ctx, apitype.InviteRequest{Uses: 3}); err != nil || inv.Invite != want.Invite || inv.Uses != 3 {
		t.Fatalf("invite %+v %v", inv, err)
	}
	res, err := c.Join(ctx, "mycoinv1x")
	if want, _ := f.Join(ctx, "x"); err != nil || res != want {
		t.Fatalf("join %+v %v", res, err)
	}
	if _, err := c.Join(ctx, "bad"); apitype.CodeOf(err) != apitype.CodeInvalid {
		t.Fatalf("join bad: %v", err)
	}
	if _, err := c.Join(ctx, ""); apitype.CodeOf(err) != apitype.CodeInvalid {
		t.Fatalf("join empty: %v", err)
	}
}

// The names part of fakeAPI.

func (f *fakeAPI) Names(ctx context.Context) (apitype.NamesInfo, error) {
	return apitype.NamesInfo{Petnames: []apitype.NameInfo{{Name: "laptop", FQDN: "laptop.myco", Addr: "fd6d:7963::1", Kind: "petname"}}, Published: []apitype.NameInfo{}, Self: "k51x.myco"}, nil
}

func (f *fakeAPI) NameSet(ctx context.Context, name, target string) (apitype.NameInfo, error) {
	return apitype.NameInfo{Name: name, Addr: target, Kind: "petname"}, nil
}

func (f *fakeAPI) NameRm(ctx context.Context, name string) error {
	if name == "missing" {
		return apitype.ErrNotFound
	}
	return nil
}

func (f *fakeAPI) NamePublish(ctx context.Context, name, target string) (apitype.NameInfo, error) {
	return apitype.NameInfo{Name: name, Addr: target, Kind: "published"}, nil
}

func (f *fakeAPI) NameResolve(ctx context.Context, name string) (apitype.NameInfo, error) {
	return apitype.NameInfo{Name: name, Addr: "fd6d:7963::2", Kind: "record"}, nil
}
