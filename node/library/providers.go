package library

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/retrieval"
	"github.com/myconet/myconet/store"
)

// Providers lists the nodes that announce the package a ref names.
func (s *Service) Providers(ctx context.Context, ref string) ([]apitype.ProviderInfo, error) {
	m, _, err := s.resolveRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	ns := s.network()
	if ns == nil {
		return nil, apitype.Errorf(apitype.CodeNoDaemon, "providers need the network: start `myconet daemon`")
	}
	ctx, cancel := context.WithTimeout(ctx, providerWait)
	defer cancel()
	held, err := s.Have(m.Root)
	if err != nil {
		return nil, err
	}
	var out []apitype.ProviderInfo
	var ids []peer.ID
	for ai := range ns.Routing.FindProvidersAsync(ctx, m.Root, 0) {
		if ai.ID == s.opt.Self && !held {
			continue // a record from before this node let go of it
		}
		pi := apitype.ProviderInfo{ID: ai.ID.String(), Self: ai.ID == s.opt.Self}
		for _, a := range ai.Addrs {
			pi.Addrs = append(pi.Addrs, a.String())
		}
		out = append(out, pi)
		ids = append(ids, ai.ID)
	}
	// Provider records cannot be withdrawn from other nodes and live 48 h:
	// ask each listed node, and drop those that answer they lack it.
	lacking := make([]bool, len(out))
	var wg sync.WaitGroup
	for i, id := range ids {
		if id != s.opt.Self {
			wg.Go(func() { lacking[i] = lacks(ctx, ns, id, m.Root) })
		}
	}
	wg.Wait()
	kept := out[:0]
	for i, pi := range out {
		if !lacking[i] {
			kept = append(kept, pi)
		}
	}
	out = kept
	if len(out) == 0 && held {
		out = append(out, apitype.ProviderInfo{ID: s.opt.Self.String(), Self: true})
	}
	return out, nil
}

// SiteGet downloads the whole package a ref names and pins it local, so that
// it can be read (and browsed through the gateway) with the network gone.
func (s *Service) SiteGet(ctx context.Context, ref string, progress func(apitype.Progress)) (apitype.PackageInfo, error) {
	m, _, err := s.resolveRef(ctx, ref)
	if err != nil {
		return apitype.PackageInfo{}, err
	}
	if err := s.EnsureLocal(ctx, m.Root, store.ReasonLocal, progress); err != nil {
		return apitype.PackageInfo{}, err
	}
	root, _ := mri.New(m.Root, "")
	return s.Info(ctx, root.String())
}

// probeTimeout bounds the check Providers makes with each listed node.
const probeTimeout = 5 * time.Second

// lacks asks provider p for root's block alone and reports whether p
// answered that it does not have it. A node that cannot be reached or does
// not answer in time is not said to lack it.
func lacks(ctx context.Context, ns *online, p peer.ID, root cid.Cid) bool {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	_, err := ns.Retrieval.Fetch(ctx, root, probeSink{}, retrieval.FetchOptions{Providers: []peer.ID{p}, Shallow: true, Parallel: 1})
	return errors.Is(err, retrieval.ErrNotFound)
}

// probeSink keeps nothing: a probe only wants the answer.
type probeSink struct{}

func (probeSink) Put(cid.Cid, []byte) error { return nil }
