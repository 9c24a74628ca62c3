package node

// Names on the overlay (petnames, published names, DNS for .myco) are
// node/namesvc's; the API methods below hand off to it.

import (
	"context"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/namesvc"
)

// newNames builds the names service of n (New).
func (n *Node) newNames() (err error) {
	n.names, err = namesvc.New(namesvc.Options{
		Home: n.home, Priv: n.id.Priv, Now: n.now, WriteFile: writeFileAtomic, Logger: n.baseLog,
	})
	return err
}

// Names implements API.
func (n *Node) Names(ctx context.Context) (apitype.NamesInfo, error) { return n.names.Names(ctx) }

// NameSet implements API: a petname for a peer ID or an overlay address.
func (n *Node) NameSet(ctx context.Context, name, target string) (apitype.NameInfo, error) {
	return n.names.Set(ctx, name, target)
}

// NameRm implements API: removes a petname, or stops publishing a name
// (its record lapses at its expiry).
func (n *Node) NameRm(ctx context.Context, name string) error { return n.names.Remove(ctx, name) }

// NamePublish implements API: signs name.<this peer>.myco → addr (this
// node's own overlay address when empty) into the DHT and keeps it
// published.
func (n *Node) NamePublish(ctx context.Context, name, target string) (apitype.NameInfo, error) {
	return n.names.Publish(ctx, name, target)
}

// NameResolve implements API: what name (with or without .myco) resolves
// to, and from where.
func (n *Node) NameResolve(ctx context.Context, name string) (apitype.NameInfo, error) {
	return n.names.Resolve(ctx, name)
}
