package node

// The content API: each method hands off to the library service
// (node/library), which owns the store's packages, pins and fetches.

import (
	"context"
	"io"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/internal/svc"
	"github.com/myconet/myconet/node/library"
	"github.com/myconet/myconet/store"
)

// newLibrary builds the library service of n (its store is open).
func (n *Node) newLibrary() *library.Service {
	return library.New(n.db, library.Options{
		Logger: n.log, Now: n.now, Key: n.id.Ed25519(), Self: n.id.PeerID,
		ResolveRef: func(ctx context.Context, ref string) (mri.MRI, *time.Time, error) {
			return n.chans.Resolve(ctx, ref) // built after the library
		},
		Withheld:      n.withheldErr,
		KeepRetracted: n.keepRetracted,
		Retracted:     n.retractedErr,
		Annotations:   n.communityAnnotations,
		RetractedNote: n.retractedNote,
		Changed:       n.searchChanged,
		Added:         n.replicateNow,
		Unprovide:     n.unprovideGone,
		CountFetch:    n.metrics.CountFetch,
	})
}

// startLibraryNetwork hands the running network to the library.
func (n *Node) startLibraryNetwork(ns *netState) {
	n.lib.StartNetwork(library.Network{
		Host: ns.host, Routing: ns.dht, Retrieval: ns.retrieval,
		Provide: ns.p2p.ProvideContent,
	})
}

// Seams the rest of the node reads the library through.
var (
	blockLinks = library.BlockLinks
	storeErr   = svc.StoreErr
)

func (n *Node) have(root cid.Cid) (bool, error) { return n.lib.Have(root) }
func (n *Node) ensureLocal(ctx context.Context, root cid.Cid, reason store.Reason, progress func(apitype.Progress)) error {
	return n.lib.EnsureLocal(ctx, root, reason, progress)
}

// Stat describes what ref names.
func (n *Node) Stat(ctx context.Context, ref string) (apitype.PathStat, error) {
	return n.lib.Stat(ctx, ref)
}

// OpenFile opens the file ref names for random access.
func (n *Node) OpenFile(ctx context.Context, ref string) (apitype.ReadSeekCloser, apitype.PathStat, error) {
	return n.lib.OpenFile(ctx, ref)
}

// WriteTar writes the directory ref names as a tar stream.
func (n *Node) WriteTar(ctx context.Context, ref string, w io.Writer) error {
	return n.lib.WriteTar(ctx, ref, w)
}

// Add implements API.
func (n *Node) Add(ctx context.Context, req apitype.AddRequest, progress func(apitype.Progress)) (apitype.AddResult, error) {
	return n.lib.Add(ctx, req, progress)
}

// Info implements API.
func (n *Node) Info(ctx context.Context, ref string) (apitype.PackageInfo, error) {
	return n.lib.Info(ctx, ref)
}

// Ls implements API.
func (n *Node) Ls(ctx context.Context, ref string) ([]apitype.Entry, error) {
	return n.lib.Ls(ctx, ref)
}

// Cat implements API.
func (n *Node) Cat(ctx context.Context, ref string, w io.Writer) error { return n.lib.Cat(ctx, ref, w) }

// Get implements API.
func (n *Node) Get(ctx context.Context, ref, dest string, progress func(apitype.Progress)) error {
	return n.lib.Get(ctx, ref, dest, progress)
}

// Pins implements API.
func (n *Node) Pins(ctx context.Context) ([]apitype.PinInfo, error) { return n.lib.Pins(ctx) }

// Unpin implements API.
func (n *Node) Unpin(ctx context.Context, ref, reason string) error {
	return n.lib.Unpin(ctx, ref, reason)
}

// GC implements API.
func (n *Node) GC(ctx context.Context) (apitype.GCResult, error) { return n.lib.GC(ctx) }

// Export implements API.
func (n *Node) Export(ctx context.Context, ref string, w io.Writer) error {
	return n.lib.Export(ctx, ref, w)
}

// Import implements API.
func (n *Node) Import(ctx context.Context, r io.Reader) (apitype.ImportResult, error) {
	return n.lib.Import(ctx, r)
}

// Providers lists the nodes that announce the package a ref names.
func (n *Node) Providers(ctx context.Context, ref string) ([]apitype.ProviderInfo, error) {
	return n.lib.Providers(ctx, ref)
}

// SiteGet downloads the whole package a ref names and pins it local.
func (n *Node) SiteGet(ctx context.Context, ref string, progress func(apitype.Progress)) (apitype.PackageInfo, error) {
	return n.lib.SiteGet(ctx, ref, progress)
}

// VerifyRepo checks the node's store (store.DB.Verify).
func (n *Node) VerifyRepo(ctx context.Context) (apitype.VerifyReport, error) {
	return n.lib.VerifyRepo(ctx)
}
