package node

// The node's Prometheus metrics (node/metrics): built with the node, read at
// scrape time through metrics.Stats, served by the API handler on /metrics.

import (
	"net/http"
	"path/filepath"
	"time"

	"github.com/myconet/myconet/node/httpx"
	"github.com/myconet/myconet/node/metrics"
	"github.com/myconet/myconet/overlay"
	"github.com/prometheus/client_golang/prometheus"
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
	return ns.overlay.router.Stats(), true
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
