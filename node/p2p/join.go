package p2p

// Invitations: `myconet invite` prints a signed invitation with this node's
// reachable addresses (node/invite); `myconet join INVITE` on a new node
// connects to the inviting node, presents the invitation on the join
// protocol, gets some of its peers in return, and remembers them all, so
// that from then on it finds the network by itself (remembered peers are
// dialled at every start). The inviting node counts uses in
// <home>/invites.json. An invitation is an introduction, not a password: the
// network stays open to any node that knows an address, as in Kubo; what the
// invitation adds is a safe, expiring way to hand over the addresses. (A
// refused join also closes the connection it came on.)

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/invite"
)

const (
	joinTimeout    = 20 * time.Second
	joinReplyPeers = 16
)

// Invite issues an invitation to this node (the API's Invite).
func (h *Host) Invite(req apitype.InviteRequest) (apitype.InviteResult, error) {
	ttl := invite.DefaultTTL
	if req.Expires != "" {
		d, err := time.ParseDuration(req.Expires)
		if err != nil || d <= 0 || d > invite.MaxTTL {
			return apitype.InviteResult{}, apitype.Errorf(apitype.CodeInvalid, "expires: want a duration such as 24h or 30m, up to %s; got %q", invite.MaxTTL, req.Expires)
		}
		ttl = d
	}
	uses := invite.DefaultUses
	if req.Uses != 0 {
		uses = req.Uses
	}
	if uses < 1 || uses > 65535 {
		return apitype.InviteResult{}, apitype.Errorf(apitype.CodeInvalid, "uses: want 1..65535, got %d", req.Uses)
	}
	addrs := h.inviteAddrs()
	text, inv, err := invite.New(h.cfg.Key, addrs, ttl, uses, h.cfg.Now())
	if err != nil {
		return apitype.InviteResult{}, apitype.Errorf(apitype.CodeInvalid, "%v", err)
	}
	res := apitype.InviteResult{Invite: text, Peer: inv.Peer.String(), Expires: inv.Expires, Uses: inv.Uses}
	for _, a := range inv.Addrs {
		res.Addrs = append(res.Addrs, a.String())
	}
	return res, nil
}

// inviteAddrs lists where this node can be reached, best first: public
// addresses, then circuits through the relays that hold a reservation for
// it, then private and loopback ones (a LAN, or one machine).
func (h *Host) inviteAddrs() []ma.Multiaddr {
	rank := func(a ma.Multiaddr) int {
		switch {
		case manet.IsPublicAddr(a):
			return 0
		case manet.IsIPLoopback(a):
			return 3
		}
		return 2
	}
	var direct []ma.Multiaddr
	for _, a := range h.host.Addrs() {
		if manet.IsIPUnspecified(a) || manet.IsIP6LinkLocal(a) || IsRelayed(a) {
			continue
		}
		direct = append(direct, a)
	}
	slices.SortStableFunc(direct, func(a, b ma.Multiaddr) int { return cmp.Compare(rank(a), rank(b)) })
	var out []ma.Multiaddr
	for _, a := range direct {
		if rank(a) == 0 {
			out = append(out, a)
		}
	}
	if f := h.relays.Load(); f != nil {
		for _, r := range (*f)() {
			for _, c := range h.host.Network().ConnsToPeer(r) {
				if IsRelayed(c.RemoteMultiaddr()) {
					continue
				}
				circ, err := ma.NewMultiaddr("/p2p/" + r.String() + "/p2p-circuit")
				if err == nil {
					out = append(out, c.RemoteMultiaddr().Encapsulate(circ))
				}
				break
			}
		}
	}
	for _, a := range direct {
		if rank(a) != 0 {
			out = append(out, a)
		}
	}
	return out
}

// SetRelays tells inviteAddrs which peers hold a relay reservation for
// this node (the overlay keeps them).
func (h *Host) SetRelays(f func() []peer.ID) { h.relays.Store(&f) }

// ParseInvite reads an invitation for node self to use now: a clear
// error when it is malformed, expired or self's own.
func ParseInvite(text string, self peer.ID, now time.Time) (invite.Invitation, error) {
	inv, err := invite.Parse(text)
	if err != nil {
		return invite.Invitation{}, apitype.Errorf(apitype.CodeInvalid, "%v", err)
	}
	if err := inv.Check(now); err != nil {
		return invite.Invitation{}, apitype.Errorf(apitype.CodeInvalid, "%v: ask for a new one", err)
	}
	if inv.Peer == self {
		return invite.Invitation{}, apitype.Errorf(apitype.CodeInvalid, "that is this node's own invitation: use it on another node")
	}
	return inv, nil
}

// Join presents invitation text (inv, from ParseInvite) to the inviting
// node and connects to the peers it hands out (the API's Join).
func (h *Host) Join(ctx context.Context, text string, inv invite.Invitation) (apitype.JoinResult, error) {
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	h.host.Peerstore().AddAddrs(inv.Peer, inv.Addrs, peerstore.TempAddrTTL)
	if err := h.host.Connect(ctx, inv.AddrInfo()); err != nil {
		return apitype.JoinResult{}, fmt.Errorf("join: cannot reach the inviting node %s at any of its %d addresses: %w", inv.Peer, len(inv.Addrs), err)
	}
	s, err := h.host.NewStream(network.WithAllowLimitedConn(ctx, "join"), inv.Peer, invite.Protocol)
	if err != nil {
		return apitype.JoinResult{}, fmt.Errorf("join: %s does not take invitations (not a Myconet node, or too old): %w", inv.Peer, err)
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	if err := invite.WriteRequest(s, text); err != nil {
		s.Reset()
		return apitype.JoinResult{}, fmt.Errorf("join: %w", err)
	}
	_ = s.CloseWrite()
	b, err := io.ReadAll(io.LimitReader(s, invite.MaxReply+1))
	if err != nil {
		s.Reset()
		return apitype.JoinResult{}, fmt.Errorf("join: reading the answer of %s: %w", inv.Peer, err)
	}
	rep, learned, err := invite.DecodeReply(b)
	if err != nil {
		return apitype.JoinResult{}, fmt.Errorf("join: %s answered badly: %w", inv.Peer, err)
	}
	if rep.Error != "" {
		return apitype.JoinResult{}, apitype.Errorf(apitype.CodeInvalid, "the inviting node refused the invitation: %s", rep.Error)
	}
	res := apitype.JoinResult{Peer: inv.Peer.String(), Learned: len(learned)}
	h.SavePeer(inv.Peer)
	learned = slices.DeleteFunc(learned, func(ai peer.AddrInfo) bool { return ai.ID == h.self || ai.ID == inv.Peer })
	h.connectAll(ctx, learned, nil)
	for _, ai := range learned {
		if h.host.Network().Connectedness(ai.ID) == network.Connected {
			h.SavePeer(ai.ID)
			res.Remembered++
		}
	}
	res.Remembered++ // the inviting node
	res.Connected = len(h.host.Network().Peers())
	h.dht.RefreshRoutingTable()
	h.log.Info("joined the network", "through", inv.Peer, "learned", res.Learned, "connected", res.Connected)
	return res, nil
}

// handleJoin answers a node that presents an invitation: refused (and the
// connection closed) unless this node issued it, it has not expired and it
// has uses left; else some of this node's peers for the newcomer.
func (h *Host) handleJoin() network.StreamHandler {
	ledger := invite.NewLedger(filepath.Join(h.cfg.Home, "invites.json"))
	return func(s network.Stream) {
		defer s.Close()
		_ = s.SetDeadline(time.Now().Add(joinTimeout))
		from := s.Conn().RemotePeer()
		text, err := invite.ReadRequest(s)
		if err != nil {
			s.Reset()
			return
		}
		refuse := func(why error) {
			h.log.Info("join refused", "peer", from, "why", why)
			writeJoinReply(s, invite.Reply{Error: why.Error()})
			_ = s.CloseWrite()
			// Let the answer leave before the connection goes.
			time.AfterFunc(time.Second, func() { _ = h.host.Network().ClosePeer(from) })
		}
		inv, err := invite.Parse(text)
		if err != nil {
			refuse(err)
			return
		}
		if err := ledger.Use(inv, h.self, from, h.cfg.Now()); err != nil {
			if !errors.Is(err, invite.ErrExpired) && !errors.Is(err, invite.ErrUsedUp) && !errors.Is(err, invite.ErrNotMine) {
				h.log.Warn("invitation ledger", "err", err)
			}
			refuse(err)
			return
		}
		var rep invite.Reply
		for _, p := range h.host.Network().Peers() {
			if p == from || len(rep.Peers) == joinReplyPeers {
				continue
			}
			rp := invite.ReplyPeer{ID: p.String()}
			for _, a := range h.host.Peerstore().Addrs(p) {
				if len(rp.Addrs) < invite.MaxAddrs {
					rp.Addrs = append(rp.Addrs, a.String())
				}
			}
			if len(rp.Addrs) > 0 {
				rep.Peers = append(rep.Peers, rp)
			}
		}
		h.SavePeer(from)
		h.log.Info("a node joined with an invitation", "peer", from, "invitation", inv.IDString())
		writeJoinReply(s, rep)
	}
}

func writeJoinReply(w io.Writer, rep invite.Reply) {
	b, err := json.Marshal(rep)
	if err == nil {
		_, _ = w.Write(b)
	}
}
