package apitype

import (
	"context"
	"io"
	"time"

	"github.com/ipfs/go-cid"
)

// API is everything the CLI can ask of a node. Two implementations exist and must
// behave identically: *Node (the store opened in-process, used when no daemon runs)
// and *client.Client (the HTTP API of a running daemon). A compile-time assertion in
// each package keeps them in step.
//
// A ref is an MRI (myco://CID[/path], a bare CID[/path]) or, where noted, a bookmark
// name. Errors carry a Code (see errors.go) that survives the HTTP round trip.
type API interface {
	// ID returns the node's identity.
	ID(ctx context.Context) (IDInfo, error)
	// Status reports a running daemon; the offline node returns ErrNoDaemon.
	Status(ctx context.Context) (Status, error)

	// Add imports the file or directory at req.Path (an absolute path on the
	// node's machine), signs a package over it and pins it local. progress, if
	// non-nil, is called from the calling goroutine's context as work advances.
	Add(ctx context.Context, req AddRequest, progress func(Progress)) (AddResult, error)
	// Info describes the package a ref names.
	Info(ctx context.Context, ref string) (PackageInfo, error)
	// Ls lists the directory a ref names (a file lists as itself).
	Ls(ctx context.Context, ref string) ([]Entry, error)
	// Cat writes the bytes of the file a ref names to w.
	Cat(ctx context.Context, ref string, w io.Writer) error
	// Get writes the file or directory tree a ref names to dest (a local path
	// that must not exist yet, as `ipfs get -o`).
	Get(ctx context.Context, ref string, dest string, progress func(Progress)) error

	// Pins lists pinned roots.
	Pins(ctx context.Context) ([]PinInfo, error)
	// Unpin removes every pin of the package a ref names (reason "" = all reasons).
	Unpin(ctx context.Context, ref string, reason string) error
	// GC removes blocks no pin reaches.
	GC(ctx context.Context) (GCResult, error)

	// Export writes the package a ref names (root block and all its content) as a
	// CARv1 stream rooted at the package CID.
	Export(ctx context.Context, ref string, w io.Writer) error
	// Import reads a CAR (v1 or v2), verifies every block and pins its roots local.
	Import(ctx context.Context, r io.Reader) (ImportResult, error)

	// Bookmarks lists bookmarks, sorted by name.
	Bookmarks(ctx context.Context) ([]Bookmark, error)
	// BookmarkAdd stores req.Name → req.Ref (a valid MRI), following the
	// channel if req.Follow, in one step: on error nothing changes. A name
	// already taken is refused (CodeInvalid) unless req.Force.
	BookmarkAdd(ctx context.Context, req BookmarkRequest) (Bookmark, error)
	// BookmarkFollow turns following on or off for a bookmark of a mutable MRI:
	// each new version of the channel is fetched and pinned local.
	BookmarkFollow(ctx context.Context, name string, follow bool) (Bookmark, error)
	// BookmarkRm deletes a bookmark.
	BookmarkRm(ctx context.Context, name string) error
	// OpenURL resolves a bookmark name or MRI to its gateway URL. When the
	// network cannot resolve a channel that a bookmark follows, the answer
	// is the last resolution kept, marked Stale.
	OpenURL(ctx context.Context, nameOrRef string) (URLResponse, error)

	// Quota reports limits with current usage.
	Quota(ctx context.Context) (QuotaInfo, error)
	// SetQuota sets one limit ("disk", …) from a human value ("500MB", "20GB",
	// "unlimited") and persists it in the config file.
	SetQuota(ctx context.Context, resource, value string) (QuotaInfo, error)

	// ConfigShow returns the config file's text.
	ConfigShow(ctx context.Context) (string, error)
	// ConfigGet returns one key's value ("api.address", "quota.disk", …) as text.
	ConfigGet(ctx context.Context, key string) (string, error)
	// ConfigSet sets one key, validates the whole config and writes the file.
	ConfigSet(ctx context.Context, key, value string) error

	// The network. Offline (no daemon) these return ErrNoDaemon, except
	// Channels, which reads the store.

	// Peers lists the connected peers, sorted by ID.
	Peers(ctx context.Context) ([]PeerInfo, error)
	// Connect dials a peer by multiaddr (ending in /p2p/<peer-id>) and
	// remembers it for later starts.
	Connect(ctx context.Context, multiaddr string) (PeerInfo, error)
	// Providers lists the nodes that announce the package a ref names.
	Providers(ctx context.Context, ref string) ([]ProviderInfo, error)
	// SiteGet downloads the whole package a ref names and pins it local, so
	// it reads (and browses through the gateway) with the network gone.
	// progress is called as in Add.
	SiteGet(ctx context.Context, ref string, progress func(Progress)) (PackageInfo, error)
	// Publish points this node's mutable channel at the package a ref names;
	// the result's MRI (myco://<peer-id>/<channel>) then resolves to it
	// anywhere in the network.
	Publish(ctx context.Context, channel, ref string) (PublishResult, error)
	// Channels lists this node's channels.
	Channels(ctx context.Context) ([]PublishResult, error)

	// Search finds packages by words of their metadata: this node's own
	// index and, when the node is online (and opts.Local is not set), the
	// nodes that announce the query's rarest terms. Each result streams
	// through onResult (if non-nil, called from one goroutine) as it is
	// verified; the returned list is ranked over all of them, best first.
	// An empty or oversized query is CodeInvalid.
	Search(ctx context.Context, query string, opts SearchOptions, onResult func(SearchResult)) ([]SearchResult, error)

	// Moderation (moderation.go). Vote, Annotate and Tally need the network.

	// Vote signs this node's keep or remove vote on the package a ref
	// names, computes its proof of work and delivers it to the package's
	// aggregators. A later vote replaces an earlier one.
	Vote(ctx context.Context, req VoteRequest) (Delivery, error)
	// Annotate signs community annotations (tags, translated titles, a
	// note) of a package and delivers them like a vote.
	Annotate(ctx context.Context, req AnnotateRequest) (Delivery, error)
	// Tally gathers the aggregators' signed tallies of a package now and
	// decides; with verify it fetches the votes behind each tally and
	// recounts them, dropping tallies that do not match.
	Tally(ctx context.Context, ref string, verify bool) (TallyReport, error)
	// ModerationWhy explains this node's current decision about a package
	// (cached; gathered when unknown). Offline only local rules apply.
	ModerationWhy(ctx context.Context, ref string) (TallyReport, error)
	// ModerationSet sets this node's own rule for a package: allow, deny
	// or clear. Local rules beat the community's decision on this node.
	ModerationSet(ctx context.Context, ref, rule string) (ModerationRule, error)
	// ModerationRules lists the local rules.
	ModerationRules(ctx context.Context) ([]ModerationRule, error)
	// Retract signs the publisher's retraction of a package (this node's
	// key must be its publisher key) and sends it to the package's
	// aggregators and holders (moderation_retract.go). Needs the network.
	Retract(ctx context.Context, req RetractRequest) (RetractResult, error)
	// The overlay (overlay_api.go).

	// Ping sends ICMPv6 echo requests to an overlay address through the
	// daemon's Router (no TUN needed) and reports the replies.
	Ping(ctx context.Context, addr string, opts PingOptions) (PingResult, error)
	// Routes lists the overlay addresses the daemon knows: its route cache
	// and its connected peers, with the path in use.
	Routes(ctx context.Context) ([]RouteInfo, error)
	// Firewall returns the overlay firewall's rules (overlay.firewall).
	Firewall(ctx context.Context) (FirewallInfo, error)
	// FirewallAdd adds a rule ("allow tcp 22 from ADDR"), replacing one with
	// the same protocol, port and source; FirewallRemove removes that rule.
	// Both persist in the config and apply to a running node at once.
	FirewallAdd(ctx context.Context, rule string) (FirewallInfo, error)
	FirewallRemove(ctx context.Context, rule string) (FirewallInfo, error)

	// Invitations (join.go). Invite signs an invitation to this node (its
	// addresses, an expiry and a number of uses); Join, on another node,
	// connects with one and remembers the peers it learns.
	Invite(ctx context.Context, req InviteRequest) (InviteResult, error)
	Join(ctx context.Context, invite string) (JoinResult, error)

	// Names on the overlay (names_local.go): petnames (local), names this
	// node publishes for itself (signed DHT records), and resolving any
	// .myco name as the daemon's DNS server does.
	Names(ctx context.Context) (NamesInfo, error)
	NameSet(ctx context.Context, name, target string) (NameInfo, error)
	NameRm(ctx context.Context, name string) error
	NamePublish(ctx context.Context, name, target string) (NameInfo, error)
	NameResolve(ctx context.Context, name string) (NameInfo, error)
}

// IDInfo is the node's identity.
type IDInfo struct {
	PeerID    string   `json:"peer_id"`
	Address   string   `json:"address"`    // overlay address, RFC 5952
	PublicKey string   `json:"public_key"` // base64 (std) of the libp2p-marshalled public key
	Listen    []string `json:"listen,omitempty"`
}

// AddRequest is what `myconet add` sends.
type AddRequest struct {
	Path        string   `json:"path"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	Kind        string   `json:"kind,omitempty"`
	Language    string   `json:"language,omitempty"`
	License     string   `json:"license,omitempty"`
	Authors     []string `json:"authors,omitempty"`
	Entry       string   `json:"entry,omitempty"`
	Previous    string   `json:"previous,omitempty"` // MRI or CID of the package this updates
	Hidden      bool     `json:"hidden,omitempty"`   // include dotfiles of a directory
	// NoFollowLinks keeps symlinks that leave the tree as links instead of
	// importing their targets' content (see content.LinkReport).
	NoFollowLinks bool `json:"no_follow_links,omitempty"`
}

// Progress reports long work. Total is 0 when unknown.
type Progress struct {
	Bytes  int64 `json:"bytes"`
	Total  int64 `json:"total"`
	Blocks int64 `json:"blocks"`
	Files  int64 `json:"files"`
	// Providers is how many nodes a network fetch is using.
	Providers int `json:"providers,omitempty"`
}

// AddResult is the outcome of Add.
type AddResult struct {
	MRI     string `json:"mri"`
	Package string `json:"package"` // package CID
	Content string `json:"content"` // content root CID
	Size    int64  `json:"size"`
	Files   int64  `json:"files"`
	// Links says what the add did with symlinks; nil when there were none.
	Links *LinkReport `json:"links,omitempty"`
}

// LinkReport is what Add did with symlinks: links that leave the tree are
// followed (their content goes into the package) unless NoFollowLinks; links
// inside it are kept and the gateway resolves them.
type LinkReport struct {
	Followed int      `json:"followed"`           // links leaving the tree whose content was added
	Kept     int      `json:"kept"`               // links kept as links
	Dangling int      `json:"dangling,omitempty"` // kept links that resolve to nothing in the package
	Examples []string `json:"examples,omitempty"` // a few "path -> target (what)" lines
}

// Meta is package metadata as the API shows it.
type Meta struct {
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	Language    string   `json:"language,omitempty"`
	License     string   `json:"license,omitempty"`
	Authors     []string `json:"authors,omitempty"`
	Kind        string   `json:"kind,omitempty"`
	Entry       string   `json:"entry,omitempty"`
	Name        string   `json:"name,omitempty"`    // original file name of a single-file package
	Created     string   `json:"created,omitempty"` // RFC 3339
	Size        uint64   `json:"size,omitempty"`
	Files       uint64   `json:"files,omitempty"`
	Previous    string   `json:"previous,omitempty"`
}

// PackageInfo describes a package and, when the ref names a path, that path.
type PackageInfo struct {
	MRI            string `json:"mri"`
	Package        string `json:"package"`
	Content        string `json:"content"`
	Meta           Meta   `json:"meta"`
	Publisher      string `json:"publisher"`     // peer ID
	PublisherKey   string `json:"publisher_key"` // base64 raw Ed25519
	SignatureValid bool   `json:"signature_valid"`
	Path           string `json:"path,omitempty"`
	PathCID        string `json:"path_cid,omitempty"`
	PathType       string `json:"path_type,omitempty"` // file | dir
	PathSize       int64  `json:"path_size,omitempty"`
	// Name is the name a single file was added under: the package's
	// signed meta.name, else the name kept with this node's pin (empty
	// for directories).
	Name string   `json:"name,omitempty"`
	Pins []string `json:"pins,omitempty"` // reasons
	// Annotations are what community annotations say, with how many
	// distinct people said each (nil when none are known here).
	Annotations *Annotations `json:"annotations,omitempty"`
	// Retracted says that the publisher retracted the package (kept here
	// by a local pin), with the reason.
	Retracted string `json:"retracted,omitempty"`
	// Stale is set when the ref was a channel the network could not resolve:
	// the package is the one a followed bookmark last resolved it to, at
	// ResolvedAt.
	Stale      bool      `json:"stale,omitempty"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
}

// Entry is one directory entry.
type Entry struct {
	Name string `json:"name"`
	CID  string `json:"cid"`
	Size int64  `json:"size"`
	Type string `json:"type"` // file | dir
}

// PinInfo is one pin.
type PinInfo struct {
	MRI     string    `json:"mri"`
	Root    string    `json:"root"`
	Reason  string    `json:"reason"`
	Title   string    `json:"title,omitempty"`
	Size    int64     `json:"size"`
	Created time.Time `json:"created"`
	// Accessed is when the package was last read here (the LRU order in
	// which cache pins are evicted).
	Accessed time.Time `json:"accessed,omitzero"`
}

// GCResult is the outcome of GC.
type GCResult struct {
	Removed int   `json:"removed"`
	Freed   int64 `json:"freed"`
}

// ImportResult is the outcome of Import.
type ImportResult struct {
	Roots  []string `json:"roots"` // MRIs of imported packages (or bare CIDs for non-package roots)
	Blocks int64    `json:"blocks"`
	Bytes  int64    `json:"bytes"`
}

// Bookmark is a named MRI.
type Bookmark struct {
	Name    string    `json:"name"`
	MRI     string    `json:"mri"`
	URL     string    `json:"url"` // gateway URL
	Created time.Time `json:"created"`
	Follow  bool      `json:"follow,omitempty"` // new versions of a channel are fetched
	// Resolved is the package MRI a followed channel pointed at when last
	// resolved and fetched, at ResolvedAt; it opens offline.
	Resolved   string    `json:"resolved,omitempty"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
}

// QuotaInfo reports limits and usage. A size or rate limit is Unlimited (-1)
// when there is none; 0 is a limit of zero (only replicas can be 0: the node
// takes no replicas). Connections and CPU 0 mean automatic.
type QuotaInfo struct {
	Disk       int64            `json:"disk"`
	DiskUsed   int64            `json:"disk_used"`
	Blocks     int64            `json:"blocks"`
	ByReason   map[string]int64 `json:"by_reason,omitempty"`
	Upload     int64            `json:"upload,omitempty"`     // bytes/s
	Uploaded   int64            `json:"uploaded,omitempty"`   // bulk bytes sent this run
	Downloaded int64            `json:"downloaded,omitempty"` // bulk bytes received this run
	Download   int64            `json:"download,omitempty"`   // bytes/s
	Memory     int64            `json:"memory,omitempty"`
	Conns      int64            `json:"connections,omitempty"`
	Replicas   int64            `json:"replicas"`
	CPU        int64            `json:"cpu,omitempty"`
	Packages   int64            `json:"packages"`
	PinsCount  int64            `json:"pins"`
}

// Status describes a running daemon.
type Status struct {
	ID       IDInfo    `json:"id"`
	Version  string    `json:"version"`
	Started  time.Time `json:"started"`
	Uptime   int64     `json:"uptime"` // seconds since Started
	API      string    `json:"api"`
	Gateway  string    `json:"gateway"`
	Peers    int       `json:"peers"`
	Alone    string    `json:"alone,omitempty"` // why the node has no peers, when it has none
	DHT      string    `json:"dht"`             // server | client | offline
	Store    QuotaInfo `json:"store"`
	Overlay  string    `json:"overlay"` // "tun myco0", "disabled (--no-tun)", …
	Packages int64     `json:"packages"`
	// Moderation counts votes, tallies and the records rejected, by reason.
	Moderation ModerationStats `json:"moderation"`
}

// PublishResult describes one of this node's mutable channels.
type PublishResult struct {
	MRI     string    `json:"mri"`    // myco://<peer-id>/<channel>
	Target  string    `json:"target"` // the package MRI it points at
	Seq     uint64    `json:"seq"`
	Expires time.Time `json:"expires"`
	// Pending is set when the record could not be stored in the network yet
	// (no peers): the node keeps it and announces it as soon as it can.
	Pending bool `json:"pending,omitempty"`
}

// ProviderInfo is one node that holds a package.
type ProviderInfo struct {
	ID    string   `json:"id"`
	Addrs []string `json:"addrs,omitempty"`
	Self  bool     `json:"self,omitempty"`
}

// LogSettings is the answer of GET and POST /api/v1/log.
type LogSettings struct {
	// Level is the daemon's log level: debug, info, warn or error.
	Level string `json:"level"`
	// Access says whether the access log (one info line per API and
	// gateway request) is on.
	Access bool `json:"access"`
}

// LogRequest is the body of POST /api/v1/log: the fields set change, the
// others stay.
type LogRequest struct {
	Level  string `json:"level,omitempty"`
	Access *bool  `json:"access,omitempty"`
}

// ModerationStats counts moderation work since the node started.
type ModerationStats struct {
	VotesAccepted       int64            `json:"votes_accepted"`
	AnnotationsAccepted int64            `json:"annotations_accepted"`
	TalliesServed       int64            `json:"tallies_served"`
	VotesServed         int64            `json:"votes_served"`
	TalliesUsed         int64            `json:"tallies_used"`
	Decisions           int64            `json:"decisions"`
	VotesPulled         int64            `json:"votes_pulled"` // counted from another aggregator by sync
	VotesPushed         int64            `json:"votes_pushed"` // handed to another aggregator by sync
	Messages            int64            `json:"messages"`
	Malformed           int64            `json:"malformed"`
	Rejected            map[string]int64 `json:"rejected"` // by "vote/low_pow", "tally/bad_signature", …
}

// PathStat describes what an MRI names.
type PathStat struct {
	Package cid.Cid // the package root block (equals Content for bare UnixFS roots)
	Content cid.Cid // the package's content root
	CID     cid.Cid // the UnixFS node the path names
	Type    string  // "file", "dir" or "symlink"
	Size    int64   // file size; for a directory its cumulative DAG size
	Name    string  // last path segment ("" at the root)
	Entry   string  // the package's metadata entry page, if any
	Title   string  // the package title
	Target  string  // a symlink's target, as stored
}

// ReadSeekCloser is what OpenFile returns.
type ReadSeekCloser interface {
	io.ReadSeeker
	io.Closer
}

// ReplicationStats counts a node's replication work since its network
// started.
type ReplicationStats struct {
	// As a holder.
	Checks    int64 // package checks run
	Lookups   int64 // DHT closest-peer lookups made by checks
	Recruited int64 // peers that accepted a replica request (fetching)
	Refused   int64 // requests refused (quota, policy, busy)
	Dropped   int64 // own replicas dropped as no longer responsible
	// As a replica taker.
	Accepted      int64 // replica requests accepted
	RefusedQuota  int64
	RefusedPolicy int64
	Busy          int64
	Fetched       int64 // replicas fetched and pinned
	FetchFailed   int64
	FetchedBytes  int64 // bytes of the DAGs pinned as replicas
	// The protocol's own traffic, both directions: requests and their bytes
	// (requests and answers).
	Messages     int64
	MessageBytes int64
	// Workers is how many checks (and, separately, replica fetches) may run
	// at once (quota.cpu); Running how many checks run now.
	Workers, Running int64
}

// VerifyReport is what `myconet repo verify` found (GET /api/v1/repo/verify):
// the store's blocks re-hashed, pins walked, package records checked.
type VerifyReport struct {
	Blocks   int64    `json:"blocks"`   // blocks re-hashed
	Bytes    int64    `json:"bytes"`    // their bytes
	Pins     int64    `json:"pins"`     // pinned roots whose DAG was walked
	Packages int64    `json:"packages"` // package records checked
	Problems []string `json:"problems"` // one line each; empty when healthy
}

// CompactResult is what `myconet repo compact` did to the store file.
type CompactResult struct {
	Before int64 `json:"before"` // file bytes before
	After  int64 `json:"after"`  // file bytes after
}
