// Package metrics holds a node's Prometheus registry and the instruments the
// node, the API server and the gateway update. It imports node/apitype, the
// overlay core (for its counters) and client_golang, nothing of node.
//
// Each Node has its own registry: libp2p registers its
// families into it (libp2p.PrometheusRegisterer in newHost, the resource
// manager through its stats reporter), beside the Go runtime and process
// collectors and Myconet's own families. GET /metrics serves it through
// promhttp. A registry per node (not prometheus.DefaultRegisterer) keeps two
// nodes in one process (tests) from sharing Myconet's counters; libp2p's own
// collectors are package globals, so its families are per process anyway.
//
// Counters that already exist elsewhere (replication, moderation, overlay,
// bandwidth) are read at scrape time by Stats; the ones that did
// not (requests by status, fetches, searches) live here.
package metrics

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/overlay"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds a node's registry and the instruments the node updates.
type Metrics struct {
	Reg *prometheus.Registry // libp2p registers its collectors here too

	APIRequests     *prometheus.CounterVec // by route pattern and status
	GatewayRequests *prometheus.CounterVec // by status
	fetches         prometheus.Counter
	fetchFailures   prometheus.Counter
	searches        *prometheus.CounterVec // by scope: local, network
	searchSeconds   prometheus.Histogram
}

// New builds a registry with the Go runtime and process collectors and
// Myconet's own instruments. build labels the myconet_build_info gauge
// (version, commit, date, goversion; nil leaves the gauge out); stats, if
// non-nil, is collected at scrape time.
func New(build prometheus.Labels, stats prometheus.Collector) *Metrics {
	m := &Metrics{
		Reg: prometheus.NewRegistry(),
		APIRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "myconet_api_requests_total",
			Help: "API requests answered, by route and status.",
		}, []string{"path", "code"}),
		GatewayRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "myconet_gateway_requests_total",
			Help: "Gateway requests answered, by status.",
		}, []string{"code"}),
		fetches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "myconet_fetches_total",
			Help: "Packages fetched from the network (started).",
		}),
		fetchFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "myconet_fetch_failures_total",
			Help: "Package fetches from the network that failed.",
		}),
		searches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "myconet_search_queries_total",
			Help: "Search queries run, by scope (local or network).",
		}, []string{"scope"}),
		searchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "myconet_search_duration_seconds",
			Help:    "Time to answer a search query.",
			Buckets: []float64{.001, .005, .02, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
	}
	m.Reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.APIRequests, m.GatewayRequests, m.fetches, m.fetchFailures, m.searches, m.searchSeconds,
	)
	if build != nil {
		m.Reg.MustRegister(buildInfo(build))
	}
	if stats != nil {
		m.Reg.MustRegister(stats)
	}
	return m
}

func buildInfo(build prometheus.Labels) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "myconet_build_info",
		Help:        "Always 1; the labels name the running build.",
		ConstLabels: build,
	}, func() float64 { return 1 })
}

// Stats reads an API's counters and gauges when scraped. For a node it also
// reads the store file's size and the replication and overlay numbers.
type Stats struct {
	API apitype.API

	// The node's own numbers; all nil for an API that is not a node.
	StoreFile   string                          // path of the store file ("" = none)
	Replication func() apitype.ReplicationStats // nil = not a node
	Overlay     func() (overlay.Stats, bool)    // false while the overlay is off
}

var (
	descStoreBytes    = prometheus.NewDesc("myconet_store_bytes", "Bytes of blocks in the store.", nil, nil)
	descStoreFile     = prometheus.NewDesc("myconet_store_file_bytes", "Size of the store file on disk (repo compact shrinks it).", nil, nil)
	descStoreBlocks   = prometheus.NewDesc("myconet_store_blocks", "Blocks in the store.", nil, nil)
	descStoreQuota    = prometheus.NewDesc("myconet_store_quota_bytes", "Disk quota of the store (0 = unlimited).", nil, nil)
	descPackages      = prometheus.NewDesc("myconet_packages", "Packages in the store.", nil, nil)
	descPins          = prometheus.NewDesc("myconet_pins", "Pinned roots.", nil, nil)
	descSent          = prometheus.NewDesc("myconet_content_sent_bytes_total", "Content bytes sent to peers.", nil, nil)
	descReceived      = prometheus.NewDesc("myconet_content_received_bytes_total", "Content bytes received from peers.", nil, nil)
	descPeers         = prometheus.NewDesc("myconet_peers", "Connected peers.", nil, nil)
	descUp            = prometheus.NewDesc("myconet_daemon_up", "1 while the daemon serves, with the network started.", nil, nil)
	descModVotes      = prometheus.NewDesc("myconet_moderation_votes_accepted_total", "Votes this node counted as an aggregator.", nil, nil)
	descModAnns       = prometheus.NewDesc("myconet_moderation_annotations_accepted_total", "Annotations this node kept as an aggregator.", nil, nil)
	descModTallies    = prometheus.NewDesc("myconet_moderation_tallies_served_total", "Tallies this node signed.", nil, nil)
	descModTalliesUse = prometheus.NewDesc("myconet_moderation_tallies_used_total", "Tallies from other aggregators this node verified and used.", nil, nil)
	descModMessages   = prometheus.NewDesc("myconet_moderation_messages_total", "Moderation protocol requests sent and received.", nil, nil)
	descModMalformed  = prometheus.NewDesc("myconet_moderation_malformed_total", "Moderation requests reset as malformed.", nil, nil)
	descModRejected   = prometheus.NewDesc("myconet_moderation_rejected_total", "Votes, annotations and tallies refused, by kind/reason.", []string{"reason"}, nil)
	descReplChecks    = prometheus.NewDesc("myconet_replication_checks_total", "Replica checks of held packages.", nil, nil)
	descReplRecruited = prometheus.NewDesc("myconet_replication_recruited_total", "Peers that accepted to hold a replica (repairs).", nil, nil)
	descReplRefused   = prometheus.NewDesc("myconet_replication_refused_total", "Replica requests peers refused.", nil, nil)
	descReplDropped   = prometheus.NewDesc("myconet_replication_dropped_total", "Own replicas dropped as no longer responsible.", nil, nil)
	descReplRequests  = prometheus.NewDesc("myconet_replication_requests_total", "Replica requests received, by outcome.", []string{"outcome"}, nil)
	descReplFetched   = prometheus.NewDesc("myconet_replication_fetched_total", "Replicas fetched and pinned.", nil, nil)
	descReplFailed    = prometheus.NewDesc("myconet_replication_fetch_failures_total", "Replica fetches that failed.", nil, nil)
	descReplBytes     = prometheus.NewDesc("myconet_replication_fetched_bytes_total", "Bytes of the DAGs pinned as replicas.", nil, nil)
	descReplRunning   = prometheus.NewDesc("myconet_replication_running_checks", "Replica checks running now.", nil, nil)
	descOvPackets     = prometheus.NewDesc("myconet_overlay_packets_total", "Overlay packets sent (tx) and delivered (rx).", []string{"direction"}, nil)
	descOvBytes       = prometheus.NewDesc("myconet_overlay_bytes_total", "Overlay bytes sent (tx) and delivered (rx).", []string{"direction"}, nil)
	descOvDrops       = prometheus.NewDesc("myconet_overlay_dropped_packets_total", "Overlay packets dropped, by reason.", []string{"reason"}, nil)
	descOvRoutes      = prometheus.NewDesc("myconet_overlay_routes", "Entries of the overlay route cache.", nil, nil)
)

// Describe sends nothing: an unchecked collector, since what it collects
// depends on the node's state (and collecting needs an open store).
func (c Stats) Describe(ch chan<- *prometheus.Desc) {}

func (c Stats) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	if q, err := c.API.Quota(ctx); err == nil {
		gauge(descStoreBytes, float64(q.DiskUsed))
		gauge(descStoreBlocks, float64(q.Blocks))
		gauge(descStoreQuota, float64(max(q.Disk, 0))) // QuotaInfo says -1; a disk quota is never 0
		gauge(descPackages, float64(q.Packages))
		gauge(descPins, float64(q.PinsCount))
		counter(descSent, float64(q.Uploaded))
		counter(descReceived, float64(q.Downloaded))
	}
	st, err := c.API.Status(ctx)
	if err != nil {
		if apitype.CodeOf(err) != apitype.CodeNoDaemon {
			return
		}
		gauge(descUp, 0)
		return
	}
	gauge(descUp, 1)
	gauge(descPeers, float64(st.Peers))
	m := st.Moderation
	counter(descModVotes, float64(m.VotesAccepted))
	counter(descModAnns, float64(m.AnnotationsAccepted))
	counter(descModTallies, float64(m.TalliesServed))
	counter(descModTalliesUse, float64(m.TalliesUsed))
	counter(descModMessages, float64(m.Messages))
	counter(descModMalformed, float64(m.Malformed))
	for reason, v := range m.Rejected {
		counter(descModRejected, float64(v), reason)
	}

	if c.Replication == nil {
		return
	}
	if fi, err := os.Stat(c.StoreFile); err == nil {
		gauge(descStoreFile, float64(fi.Size()))
	}
	r := c.Replication()
	counter(descReplChecks, float64(r.Checks))
	counter(descReplRecruited, float64(r.Recruited))
	counter(descReplRefused, float64(r.Refused))
	counter(descReplDropped, float64(r.Dropped))
	for outcome, v := range map[string]int64{"accepted": r.Accepted, "refused_quota": r.RefusedQuota, "refused_policy": r.RefusedPolicy, "busy": r.Busy} {
		counter(descReplRequests, float64(v), outcome)
	}
	counter(descReplFetched, float64(r.Fetched))
	counter(descReplFailed, float64(r.FetchFailed))
	counter(descReplBytes, float64(r.FetchedBytes))
	gauge(descReplRunning, float64(r.Running))

	if c.Overlay == nil {
		return
	}
	o, ok := c.Overlay()
	if !ok {
		return
	}
	counter(descOvPackets, float64(o.TxPackets), "tx")
	counter(descOvPackets, float64(o.RxPackets), "rx")
	counter(descOvBytes, float64(o.TxBytes), "tx")
	counter(descOvBytes, float64(o.RxBytes), "rx")
	for reason, v := range map[string]uint64{"invalid": o.DropInvalid, "spoofed": o.DropSpoofed, "firewall": o.DropFirewall,
		"no_route": o.DropNoRoute, "too_big": o.DropTooBig, "transport": o.DropTransport} {
		counter(descOvDrops, float64(v), reason)
	}
	gauge(descOvRoutes, float64(o.Routes))
}

// CodeLabel is the status label of a request counter.
func CodeLabel(code int) string { return strconv.Itoa(code) }

// CountFetch counts a network fetch and, if *err is set when it returns, its
// failure. Deferred by ensureLocalOnce.
func (m *Metrics) CountFetch(err *error) {
	m.fetches.Inc()
	if *err != nil {
		m.fetchFailures.Inc()
	}
}

// ObserveSearch counts a search query and its latency since start.
func (m *Metrics) ObserveSearch(local bool, start time.Time) {
	scope := "network"
	if local {
		scope = "local"
	}
	m.searches.WithLabelValues(scope).Inc()
	m.searchSeconds.Observe(time.Since(start).Seconds())
}
