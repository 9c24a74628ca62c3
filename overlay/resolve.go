package overlay

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// lookup returns the peer for dst. When there is none yet, it keeps a copy
// of pkt for when dst resolves and starts resolving; unreach reports a
// recent failure to resolve dst.
func (r *Router) lookup(dst netip.Addr, pkt []byte) (peer string, ok, unreach bool) {
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return "", false, false
	}
	rt := r.routes[dst]
	if rt == nil {
		if len(r.routes) >= r.cfg.MaxRoutes {
			r.sweepLocked(now)
			if len(r.routes) >= r.cfg.MaxRoutes {
				r.stats.noRoute.Add(1)
				return "", false, false
			}
		}
		rt = &route{}
		r.routes[dst] = rt
	}
	fresh := now.Before(rt.expires)
	if !fresh && !rt.resolving {
		rt.resolving = true
		r.wg.Add(1)
		go r.resolve(dst)
	}
	switch {
	case rt.peer != "":
		// A stale route is used while it is resolved again.
		return rt.peer, true, false
	case fresh && rt.err != nil:
		r.stats.noRoute.Add(1)
		return "", false, true
	case len(rt.pending) < r.cfg.MaxPending:
		rt.pending = append(rt.pending, append([]byte(nil), pkt...))
		return "", false, false
	default:
		r.stats.noRoute.Add(1)
		return "", false, false
	}
}

// sweepLocked drops expired routes that are not resolving. r.mu must be held.
func (r *Router) sweepLocked(now time.Time) {
	for a, rt := range r.routes {
		if !rt.resolving && !now.Before(rt.expires) {
			delete(r.routes, a)
		}
	}
}

func (r *Router) resolve(dst netip.Addr) {
	defer r.wg.Done()
	var (
		peer string
		key  []byte
		err  error
	)
	select {
	case r.sem <- struct{}{}:
		ctx, cancel := context.WithTimeout(r.ctx, r.cfg.ResolveTimeout)
		peer, key, err = r.cfg.Resolver.Resolve(ctx, dst)
		cancel()
		<-r.sem
	case <-r.ctx.Done():
		err = ErrClosed
	}
	if err == nil && !KeyMatches(dst, key) {
		err = ErrKeyMismatch
	}
	if err == nil && peer == "" {
		err = errors.New("overlay: resolver returned no peer")
	}
	now := r.cfg.Now()
	r.mu.Lock()
	rt := r.routes[dst]
	if rt == nil { // swept meanwhile (cannot happen while resolving) or closed
		r.mu.Unlock()
		return
	}
	pending := rt.pending
	rt.pending = nil
	rt.resolving = false
	closed := r.closed
	if err != nil {
		// A failed refresh drops a stale route too; routes in use are
		// refreshed by the traffic that comes back (learn).
		rt.peer, rt.err = "", err
		rt.expires = now.Add(r.cfg.NegativeTTL)
	} else {
		rt.peer, rt.err, rt.expires = peer, nil, now.Add(r.cfg.RouteTTL)
	}
	r.mu.Unlock()
	if closed {
		return
	}
	if err != nil {
		r.log.Debug("resolve", "addr", dst, "err", err)
		r.stats.noRoute.Add(uint64(len(pending)))
		var local [][]byte
		for _, pkt := range pending {
			if p, perr := ParsePacket(pkt); perr == nil && ShouldSendError(&p) {
				if m, err := DestinationUnreachable(RouterAddr, UnreachAddress, pkt); err == nil {
					local = append(local, m)
				}
			}
		}
		if len(local) > 0 {
			r.writeLocal(local)
		}
		return
	}
	r.send(peer, pending)
}

// learn records that peer holds addr, which the caller has checked against
// the peer's key, and sends whatever waited for addr.
func (r *Router) learn(addr netip.Addr, peer string) {
	now := r.cfg.Now()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	rt := r.routes[addr]
	if rt != nil && rt.peer == peer && rt.expires.Sub(now) > r.cfg.RouteTTL/2 {
		r.mu.Unlock()
		return
	}
	if rt == nil {
		if len(r.routes) >= r.cfg.MaxRoutes {
			r.sweepLocked(now)
			if len(r.routes) >= r.cfg.MaxRoutes {
				r.mu.Unlock()
				return
			}
		}
		rt = &route{}
		r.routes[addr] = rt
	}
	rt.peer, rt.err, rt.expires = peer, nil, now.Add(r.cfg.RouteTTL)
	pending := rt.pending
	rt.pending = nil
	r.mu.Unlock()
	r.send(peer, pending)
}

// Invalidate forgets every route to peer, for example when the node learns
// that the peer is gone; the next packet for its addresses resolves again.
func (r *Router) Invalidate(peer string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for a, rt := range r.routes {
		if rt.peer == peer && !rt.resolving {
			delete(r.routes, a)
		}
	}
}

// Retry forgets a failed resolution of addr, so that the next packet for
// it resolves at once instead of after NegativeTTL: the node calls it when
// something that could make addr resolvable happens (its holder connected).
func (r *Router) Retry(addr netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rt := r.routes[addr]; rt != nil && rt.err != nil && !rt.resolving && len(rt.pending) == 0 {
		delete(r.routes, addr)
	}
}
