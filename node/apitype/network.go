package apitype

import "time"

// InviteRequest is the body of POST /api/v1/invite.
type InviteRequest struct {
	Expires string `json:"expires,omitempty"` // a Go duration ("24h", "30m"); default 24h
	Uses    int    `json:"uses,omitempty"`    // nodes that may join with it; default 1
}

// InviteResult is a new invitation.
type InviteResult struct {
	Invite  string    `json:"invite"`
	Peer    string    `json:"peer"`
	Addrs   []string  `json:"addrs"`
	Expires time.Time `json:"expires"`
	Uses    int       `json:"uses"`
}

// JoinRequest is the body of POST /api/v1/join.
type JoinRequest struct {
	Invite string `json:"invite"`
}

// JoinResult is the outcome of Join.
type JoinResult struct {
	Peer       string `json:"peer"`       // the inviting node
	Learned    int    `json:"learned"`    // peers it told this node about
	Connected  int    `json:"connected"`  // peers connected now
	Remembered int    `json:"remembered"` // peers saved for later starts
}

// NameInfo is one name and what it resolves to.
type NameInfo struct {
	Name    string     `json:"name"`           // as given: "laptop", "www"
	FQDN    string     `json:"fqdn"`           // the DNS name: laptop.myco, www.<k51…>.myco
	Addr    string     `json:"addr"`           // overlay address
	Peer    string     `json:"peer,omitempty"` // the node, when known
	Kind    string     `json:"kind"`           // petname | published | peer | record
	Expires *time.Time `json:"expires,omitempty"`
}

// NamesInfo lists this node's names and its DNS service.
type NamesInfo struct {
	Petnames  []NameInfo `json:"petnames"`
	Published []NameInfo `json:"published"`
	Self      string     `json:"self"`            // this node's own DNS name
	DNS       string     `json:"dns,omitempty"`   // HOST:PORT the DNS server listens on
	Setup     string     `json:"setup,omitempty"` // how the host's resolver is (or can be) pointed at it
}

// NameRequest is the body of POST /api/v1/names (op set|publish|rm|resolve).
type NameRequest struct {
	Op     string `json:"op"`
	Name   string `json:"name"`
	Target string `json:"target,omitempty"`
}

// PeerInfo is one connected peer.
type PeerInfo struct {
	ID        string   `json:"id"`
	Addrs     []string `json:"addrs"`
	Direction string   `json:"direction"`         // inbound | outbound
	Latency   float64  `json:"latency,omitempty"` // seconds (EWMA of the round trip); absent when unknown
	Relayed   bool     `json:"relayed,omitempty"`
	// Path is how the node reaches the peer: direct, hole-punched or
	// "relayed via <relay>" (the overlay stream's connection when there is
	// one, else the connection libp2p prefers).
	Path string `json:"path,omitempty"`
}

// LatencyText is Latency for people: "1.234ms", or "" when unknown.
func (p PeerInfo) LatencyText() string {
	if p.Latency <= 0 {
		return ""
	}
	return (time.Duration(p.Latency * float64(time.Second))).Round(time.Microsecond).String()
}

// PingOptions configure an overlay ping. Zero values take the defaults.
type PingOptions struct {
	Count    int           `json:"count,omitempty"`    // echo requests (default 1, at most 100)
	Seq      int           `json:"seq,omitempty"`      // sequence number of the first
	Size     int           `json:"size,omitempty"`     // data bytes per request (default 56)
	Interval time.Duration `json:"interval,omitempty"` // between requests (default 1 s)
	Timeout  time.Duration `json:"timeout,omitempty"`  // per request (default 5 s; the first also waits for resolution, up to 15 s)
}

// PingReply is the outcome of one echo request.
type PingReply struct {
	Seq   int     `json:"seq"`
	Bytes int     `json:"bytes,omitempty"`  // ICMPv6 bytes received
	RTT   float64 `json:"rtt_ms,omitempty"` // milliseconds
	Error string  `json:"error,omitempty"`  // "timeout", "destination unreachable (…)", …
}

// PingResult is the outcome of Ping.
type PingResult struct {
	Addr     string      `json:"addr"`
	Peer     string      `json:"peer,omitempty"` // the peer holding addr, once known
	Path     string      `json:"path,omitempty"` // direct | relayed via <peer> | not connected
	Sent     int         `json:"sent"`
	Received int         `json:"received"`
	Replies  []PingReply `json:"replies"`
	MinRTT   float64     `json:"min_ms,omitempty"`
	AvgRTT   float64     `json:"avg_ms,omitempty"`
	MaxRTT   float64     `json:"max_ms,omitempty"`
}

// RouteInfo is one overlay address the node knows.
type RouteInfo struct {
	Addr  string `json:"addr"`
	Peer  string `json:"peer,omitempty"`
	State string `json:"state"` // ok | resolving | unreachable | connected (a peer with no traffic yet)
	Path  string `json:"path"`  // direct | relayed via <peer> | not connected
	Error string `json:"error,omitempty"`
}

// FirewallInfo is the overlay firewall's rule set in the order it applies:
// the first rule that matches a packet decides (see overlay.Order).
type FirewallInfo struct {
	Rules []string `json:"rules"`
}

// PingRequest is the body of POST /api/v1/overlay/ping.
type PingRequest struct {
	Addr       string `json:"addr"`
	Count      int    `json:"count,omitempty"`
	Seq        int    `json:"seq,omitempty"`
	Size       int    `json:"size,omitempty"`
	IntervalMS int64  `json:"interval_ms,omitempty"`
	TimeoutMS  int64  `json:"timeout_ms,omitempty"`
}

// FirewallRequest is the body of POST /api/v1/overlay/firewall.
type FirewallRequest struct {
	Op   string `json:"op"`   // add | remove
	Rule string `json:"rule"` // "allow|deny tcp|udp PORT [from ADDR|PREFIX]"
}

// SearchOptions are the filters and limits of a search. The filters add to
// those the query text sets (kind:, tag:, …); a conflict is CodeInvalid.
type SearchOptions struct {
	Kind      string   `json:"kind,omitempty"`
	Language  string   `json:"language,omitempty"`
	Tags      []string `json:"tags,omitempty"`
	License   string   `json:"license,omitempty"`
	Publisher string   `json:"publisher,omitempty"` // peer ID
	// Limit is the most results returned: 0 means DefaultSearchLimit; at
	// most search.MaxResults.
	Limit int `json:"limit,omitempty"`
	// Local searches only this node's index, even when it is on the network.
	Local bool `json:"local,omitempty"`
}

// SearchResult is one package a search found. Its metadata comes from the
// signed package root, verified by this node.
type SearchResult struct {
	MRI         string    `json:"mri"`
	Package     string    `json:"package"`
	Title       string    `json:"title"`
	Description string    `json:"description,omitempty"`
	Kind        string    `json:"kind,omitempty"`
	Language    string    `json:"language,omitempty"`
	License     string    `json:"license,omitempty"`
	Tags        []string  `json:"tags,omitempty"`
	Authors     []string  `json:"authors,omitempty"`
	Size        int64     `json:"size"`
	Files       int64     `json:"files,omitempty"`
	Created     time.Time `json:"created"`
	Publisher   string    `json:"publisher"` // peer ID
	// Score is the BM25F score: as this node ranked the merged results in
	// the list Search returns; the first responder's claim in a streamed
	// result.
	Score float64 `json:"score"`
	// Holders is how many nodes answered with the package (this one included).
	Holders int `json:"holders"`
	// Local is set when this node holds the package.
	Local bool `json:"local,omitempty"`
}

// SearchLine is one line of the NDJSON stream of GET /api/v1/search: a
// result as it arrives, then either Done (the ranked list) or Error.
type SearchLine struct {
	Result *SearchResult  `json:"result,omitempty"`
	Done   *SearchResults `json:"done,omitempty"`
	Error  string         `json:"error,omitempty"`
	Code   Code           `json:"code,omitempty"`
}

// SearchResults is the final, ranked answer of a search.
type SearchResults struct {
	Results []SearchResult `json:"results"`
	// Asked is how many other nodes were asked; Answered how many answered
	// with a valid response; Dropped how many results failed verification
	// or did not match the query. (The API streams them; the CLI's --json
	// output, made through the API interface, leaves them out.)
	Asked    int `json:"asked,omitempty"`
	Answered int `json:"answered,omitempty"`
	Dropped  int `json:"dropped,omitempty"`
}
