package node

// The node's HTTP faces, wired: the gateway (node/gateway) and the metrics
// (node/metrics) the API handler (node/httpapi) serves and counts into.

import (
	"context"
	"net/http"
	"path/filepath"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/gateway"
	"github.com/myconet/myconet/node/httpapi"
	"github.com/myconet/myconet/node/httpx"
	"github.com/myconet/myconet/node/metrics"
	"github.com/myconet/myconet/overlay"
	"github.com/myconet/myconet/store"
	"github.com/prometheus/client_golang/prometheus"
)

// The capabilities node/httpapi and node/gateway look for beyond
// apitype.API, checked here so that a renamed method fails the build rather
// than quietly turning a route off.
var (
	_ httpapi.TreeSource    = (*Node)(nil)
	_ httpapi.MetricsSource = (*Node)(nil)
	_ httpapi.Fetcher       = (*Node)(nil)
	_ httpapi.Searcher      = (*Node)(nil)
	_ httpapi.RepoVerifier  = (*Node)(nil)
	_ httpapi.LogControl    = (*Node)(nil)
	_ gateway.Source        = (*Node)(nil)
)

// newNodeMetrics builds the node's registry, with its build labels and the
// numbers only a node has.
func (n *Node) newNodeMetrics() *metrics.Metrics {
	b := Build()
	return metrics.New(prometheus.Labels{"version": b.Version, "commit": b.Commit, "date": b.Date, "goversion": b.GoVersion},
		metrics.Stats{API: n, StoreFile: filepath.Join(n.home, StoreFile), Replication: n.ReplicationStats, Overlay: n.overlayStats})
}

// overlayStats reads the overlay router's counters while the overlay runs.
func (n *Node) overlayStats() (overlay.Stats, bool) {
	ns := n.network()
	if ns == nil || ns.overlay == nil {
		return overlay.Stats{}, false
	}
	return ns.overlay.Router().Stats(), true
}

// Metrics returns the node's registry and instruments (the API handler
// serves and counts into them).
func (n *Node) Metrics() *metrics.Metrics { return n.metrics }

// observeHTTP counts the gateway's requests by status (the API handler counts
// its own, by route too) and writes the access log when it is on.
func (n *Node) observeHTTP(server string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &httpx.StatusWriter{ResponseWriter: w}
		defer func() {
			code := sw.StatusCode()
			if server == "gateway" {
				n.metrics.GatewayRequests.WithLabelValues(metrics.CodeLabel(code)).Inc()
			}
			n.accessLog(server, r, code, sw.Bytes, time.Since(start))
		}()
		h.ServeHTTP(sw, r)
	})
}

// GatewayHandler returns the read-only HTTP gateway that serves the node's
// packages to browsers (see package gateway), counted in the node's metrics
// and access log.
func (n *Node) GatewayHandler() http.Handler {
	return n.observeHTTP("gateway", gateway.New(n, n.log.With("component", "gateway")))
}

// GatewayURL returns the URL of path inside package pkg on its per-package
// origin of the running gateway (or of the configured gateway address when
// Run is not serving), e.g. http://<cid>.localhost:8190/<path>.
func (n *Node) GatewayURL(pkg cid.Cid, p string) string {
	return gateway.PackageURL(pkg, n.gatewayPort(), p)
}

// FetchPackage serves POST /api/v1/fetch (node/httpapi): when the node runs
// on the network and lacks the package ref names, it fetches the whole
// package (pinned cache), as the first read of it would, but with progress.
// Mutable MRIs resolve first.
func (n *Node) FetchPackage(ctx context.Context, ref string, progress func(apitype.Progress)) (apitype.FetchResult, error) {
	m, err := n.resolveRef(ctx, ref)
	if err != nil {
		return apitype.FetchResult{}, err
	}
	if n.network() == nil {
		return apitype.FetchResult{}, nil
	}
	if ok, err := n.have(m.Root); err != nil {
		return apitype.FetchResult{}, err
	} else if ok {
		return apitype.FetchResult{}, nil // held whole: reads need no fetch (see resolve)
	}
	var last apitype.Progress
	err = n.ensureLocal(ctx, m.Root, store.ReasonCache, func(p apitype.Progress) {
		last = p
		if progress != nil {
			progress(p)
		}
	})
	if err != nil {
		return apitype.FetchResult{}, err
	}
	return apitype.FetchResult{Fetched: true, Bytes: last.Bytes, Blocks: last.Blocks, Providers: last.Providers}, nil
}
