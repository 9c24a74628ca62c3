// Package invite implements Myconet's invitations: a short, signed text a
// node's owner hands to someone whose node should join the network
// (`myconet invite`, `myconet join`).
//
// An invitation names the inviting node (its peer ID, which for Ed25519 keys
// contains the public key), the addresses it can be reached at (direct and
// relayed, at most [MaxAddrs]), a random 8-byte ID, an expiry and how many
// nodes may join with it. The inviting node signs all of it. The text is
// [Prefix] followed by the base58 (Bitcoin alphabet) of the encoding, so that
// a double click selects all of it:
//
//	version    1 byte = 1
//	peer       u8 len + peer ID bytes (an Ed25519 identity multihash)
//	id         8 bytes
//	expires    8 bytes, int64 Unix seconds
//	uses       2 bytes, u16, >= 1
//	addrs      u8 count (1..MaxAddrs), each u8 len + multiaddr bytes (no /p2p/ part)
//	signature  64 bytes, Ed25519 over "myconet-invite/v1\n" + everything above
//
// [Parse] is strict (no trailing bytes, valid multiaddrs, a valid signature)
// and never panics (fuzzed). Both sides check the expiry; the inviting node
// alone counts uses, in its [Ledger], so the same node joining twice uses one.
package invite

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	pb "github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/mr-tron/base58"
	ma "github.com/multiformats/go-multiaddr"
)

// Prefix starts every invitation text.
const Prefix = "mycoinv1"

// Limits.
const (
	MaxAddrs    = 12
	maxAddrLen  = 200
	maxPeerLen  = 64
	MaxText     = 4096 // characters of an invitation text
	sigContext  = "myconet-invite/v1\n"
	sigLen      = 64
	version     = 1
	DefaultTTL  = 24 * time.Hour
	MaxTTL      = 365 * 24 * time.Hour
	DefaultUses = 1
)

// Errors. Every error of Parse wraps ErrMalformed or ErrSignature.
var (
	ErrMalformed = errors.New("not a valid Myconet invitation")
	ErrSignature = errors.New("the invitation's signature does not verify (altered or forged)")
	ErrExpired   = errors.New("the invitation has expired")
	ErrUsedUp    = errors.New("the invitation is used up")
	ErrNotMine   = errors.New("the invitation was not issued by this node")
)

// Invitation is a decoded, verified invitation.
type Invitation struct {
	Peer    peer.ID
	ID      [8]byte
	Expires time.Time // whole seconds
	Uses    int
	Addrs   []ma.Multiaddr
}

// AddrInfo is the inviting node with its addresses.
func (inv Invitation) AddrInfo() peer.AddrInfo {
	return peer.AddrInfo{ID: inv.Peer, Addrs: inv.Addrs}
}

// IDString is the invitation's ID in hex, as the ledger keys it.
func (inv Invitation) IDString() string { return fmt.Sprintf("%x", inv.ID[:]) }

// New signs an invitation of key's node for addrs (trimmed to MaxAddrs,
// each without a /p2p/ part), valid for ttl, for uses joins.
func New(key crypto.PrivKey, addrs []ma.Multiaddr, ttl time.Duration, uses int, now time.Time) (string, Invitation, error) {
	if key.Type() != pb.KeyType_Ed25519 {
		return "", Invitation{}, errors.New("invite: only Ed25519 node keys can sign invitations")
	}
	if ttl <= 0 || ttl > MaxTTL {
		return "", Invitation{}, fmt.Errorf("invite: expiry must be between 1s and %s, got %s", MaxTTL, ttl)
	}
	if uses < 1 || uses > 65535 {
		return "", Invitation{}, fmt.Errorf("invite: uses must be 1..65535, got %d", uses)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return "", Invitation{}, err
	}
	inv := Invitation{Peer: id, Expires: now.Add(ttl).Truncate(time.Second), Uses: uses}
	if _, err := rand.Read(inv.ID[:]); err != nil {
		return "", Invitation{}, err
	}
	for _, a := range addrs {
		if len(inv.Addrs) == MaxAddrs {
			break
		}
		if len(a.Bytes()) <= maxAddrLen && len(a.Bytes()) > 0 {
			inv.Addrs = append(inv.Addrs, a)
		}
	}
	if len(inv.Addrs) == 0 {
		return "", Invitation{}, errors.New("invite: this node has no address to invite to (is the network up?)")
	}
	body := inv.body()
	sig, err := key.Sign(append([]byte(sigContext), body...))
	if err != nil {
		return "", Invitation{}, err
	}
	return Prefix + base58.Encode(append(body, sig...)), inv, nil
}

func (inv Invitation) body() []byte {
	b := []byte{version}
	pid := []byte(inv.Peer)
	b = append(b, byte(len(pid)))
	b = append(b, pid...)
	b = append(b, inv.ID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(inv.Expires.Unix()))
	b = binary.BigEndian.AppendUint16(b, uint16(inv.Uses))
	b = append(b, byte(len(inv.Addrs)))
	for _, a := range inv.Addrs {
		ab := a.Bytes()
		b = append(b, byte(len(ab)))
		b = append(b, ab...)
	}
	return b
}

// Parse decodes and verifies an invitation text (surrounding white space is
// ignored). It does not check the expiry: see Check.
func Parse(text string) (Invitation, error) {
	text = strings.TrimSpace(text)
	if len(text) > MaxText {
		return Invitation{}, fmt.Errorf("%w: %d characters is too long", ErrMalformed, len(text))
	}
	rest, ok := strings.CutPrefix(text, Prefix)
	if !ok {
		return Invitation{}, fmt.Errorf("%w: it does not start with %q", ErrMalformed, Prefix)
	}
	raw, err := base58.Decode(rest)
	if err != nil || len(rest) == 0 {
		return Invitation{}, fmt.Errorf("%w: not base58 (truncated or mistyped?)", ErrMalformed)
	}
	return decode(raw)
}

func decode(raw []byte) (Invitation, error) {
	bad := func(what string) (Invitation, error) {
		return Invitation{}, fmt.Errorf("%w: %s", ErrMalformed, what)
	}
	if len(raw) < sigLen+1 {
		return bad("too short (truncated?)")
	}
	body, sig := raw[:len(raw)-sigLen], raw[len(raw)-sigLen:]
	b := body
	take := func(n int) []byte {
		if n < 0 || len(b) < n {
			return nil
		}
		v := b[:n]
		b = b[n:]
		return v
	}
	v := take(1)
	if v == nil || v[0] != version {
		return bad("unknown version")
	}
	l := take(1)
	if l == nil || l[0] == 0 || int(l[0]) > maxPeerLen {
		return bad("bad peer ID length")
	}
	pidb := take(int(l[0]))
	if pidb == nil {
		return bad("truncated peer ID")
	}
	pid, err := peer.IDFromBytes(pidb)
	if err != nil {
		return bad("bad peer ID")
	}
	pub, err := pid.ExtractPublicKey()
	if err != nil || pub.Type() != pb.KeyType_Ed25519 {
		return bad("the peer ID carries no Ed25519 key")
	}
	var inv Invitation
	inv.Peer = pid
	idb := take(8)
	exp := take(8)
	uses := take(2)
	cnt := take(1)
	if cnt == nil {
		return bad("truncated")
	}
	copy(inv.ID[:], idb)
	e := int64(binary.BigEndian.Uint64(exp))
	if e <= 0 || e > 1<<40 {
		return bad("bad expiry")
	}
	inv.Expires = time.Unix(e, 0)
	inv.Uses = int(binary.BigEndian.Uint16(uses))
	if inv.Uses == 0 {
		return bad("zero uses")
	}
	if cnt[0] == 0 || int(cnt[0]) > MaxAddrs {
		return bad("address count not in 1..12")
	}
	for range int(cnt[0]) {
		al := take(1)
		if al == nil || al[0] == 0 {
			return bad("bad address length")
		}
		ab := take(int(al[0]))
		if ab == nil {
			return bad("truncated address")
		}
		a, err := ma.NewMultiaddrBytes(ab)
		if err != nil || !bytesEqual(a.Bytes(), ab) {
			return bad("bad address")
		}
		if _, err := a.ValueForProtocol(ma.P_P2P); err == nil && !isCircuit(a) {
			return bad("an address carries a /p2p/ part")
		}
		inv.Addrs = append(inv.Addrs, a)
	}
	if len(b) != 0 {
		return bad("trailing bytes")
	}
	ok, err := pub.Verify(append([]byte(sigContext), body...), sig)
	if err != nil || !ok {
		return Invitation{}, ErrSignature
	}
	return inv, nil
}

func isCircuit(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// Check refuses an invitation past its expiry at now.
func (inv Invitation) Check(now time.Time) error {
	if !now.Before(inv.Expires) {
		return fmt.Errorf("%w (at %s)", ErrExpired, inv.Expires.UTC().Format(time.RFC3339))
	}
	return nil
}
