package names

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	pb "github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/routing"
)

// Routing is the part of a value store that publishing and resolving need.
// *dht.IpfsDHT satisfies it. Both methods must honour ctx's deadline;
// GetValue returns an error wrapping routing.ErrNotFound when no value
// exists.
type Routing interface {
	PutValue(ctx context.Context, key string, value []byte, opts ...routing.Option) error
	GetValue(ctx context.Context, key string, opts ...routing.Option) ([]byte, error)
}

var _ Routing = routing.ValueStore(nil)

// Publish signs a record that points priv's channel at target and stores it
// in r. seq must be greater than every sequence number used before for the
// channel when target changes (the caller keeps it); republishing the same
// target may reuse it, since the later created time wins. ttl 0 means
// DefaultTTL; now is the created time.
func Publish(ctx context.Context, r Routing, priv crypto.PrivKey, channel string, target cid.Cid, seq uint64, ttl time.Duration, now time.Time) (Record, error) {
	rec, err := NewRecord(priv, channel, target, seq, now, ttl)
	if err != nil {
		return Record{}, fmt.Errorf("publish %s: %w", channel, err)
	}
	b, err := rec.Encode()
	if err != nil {
		return Record{}, fmt.Errorf("publish %s: %w", channel, err)
	}
	if err := r.PutValue(ctx, rec.Key(), b); err != nil {
		return Record{}, fmt.Errorf("publish %s seq %d: %w", channel, seq, err)
	}
	return rec, nil
}

// Resolve fetches the newest record of publisher's channel from r and checks
// it at time now (see Check). No record at all is an error wrapping
// ErrNotFound.
func Resolve(ctx context.Context, r Routing, publisher peer.ID, channel string, now time.Time) (Record, error) {
	if err := ValidateChannel(channel); err != nil {
		return Record{}, fmt.Errorf("resolve %s/%s: %w", publisher, channel, err)
	}
	pub, err := publisher.ExtractPublicKey()
	if err != nil || pub.Type() != pb.KeyType_Ed25519 {
		return Record{}, fmt.Errorf("resolve %s/%s: %w", publisher, channel, ErrBadPublisher)
	}
	key := NameKey(publisher, channel)
	b, err := r.GetValue(ctx, key)
	if err != nil {
		if errors.Is(err, routing.ErrNotFound) {
			return Record{}, fmt.Errorf("resolve %s/%s: %w: %w", publisher, channel, ErrNotFound, err)
		}
		return Record{}, fmt.Errorf("resolve %s/%s: %w", publisher, channel, err)
	}
	rec, err := Check(key, b, now)
	if err != nil {
		return Record{}, fmt.Errorf("resolve %s/%s: %w", publisher, channel, err)
	}
	return rec, nil
}

// PublishAddr stores the address record of priv's key in r.
func PublishAddr(ctx context.Context, r Routing, priv crypto.PrivKey) error {
	rec, err := NewAddrRecord(priv)
	if err != nil {
		return fmt.Errorf("publish address: %w", err)
	}
	b, err := rec.Encode()
	if err != nil {
		return fmt.Errorf("publish address: %w", err)
	}
	addr := rec.Address()
	key, err := AddrKey(addr)
	if err != nil {
		return fmt.Errorf("publish address: %w", err)
	}
	if err := r.PutValue(ctx, key, b); err != nil {
		return fmt.Errorf("publish address %s: %w", addr, err)
	}
	return nil
}

// ResolveAddr fetches the public key that owns the overlay address addr from
// r and checks that the key derives addr. No record is an error wrapping
// ErrNotFound.
func ResolveAddr(ctx context.Context, r Routing, addr netip.Addr) (crypto.PubKey, error) {
	key, err := AddrKey(addr)
	if err != nil {
		return nil, fmt.Errorf("resolve address: %w", err)
	}
	b, err := r.GetValue(ctx, key)
	if err != nil {
		if errors.Is(err, routing.ErrNotFound) {
			return nil, fmt.Errorf("resolve address %s: %w: %w", addr, ErrNotFound, err)
		}
		return nil, fmt.Errorf("resolve address %s: %w", addr, err)
	}
	rec, err := CheckAddr(key, b)
	if err != nil {
		return nil, fmt.Errorf("resolve address %s: %w", addr, err)
	}
	return rec.PublicKey, nil
}
