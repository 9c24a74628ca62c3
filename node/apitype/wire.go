package apitype

import "time"

// APIPrefix is the path prefix of every API endpoint but /metrics.
const APIPrefix = "/api/v1"

// HeaderType tells a get response's kind: "file" (raw bytes) or "dir" (a tar stream).
const HeaderType = "X-Myco-Type"

// HeaderSize carries the total size of a get response's files when known.
const HeaderSize = "X-Myco-Size"

// TrailerError and TrailerCode report an error that happened after a
// streamed response (cat, get, export) had started; they are HTTP trailers,
// declared in the response's Trailer header.
const TrailerError = "X-Myco-Error"

const TrailerCode = "X-Myco-Error-Code"

// ContentTypeNDJSON is the type of the progress streams (add, site get, fetch).
const ContentTypeNDJSON = "application/x-ndjson"

// ContentTypeCAR is the type of export and import bodies.
const ContentTypeCAR = "application/vnd.ipld.car"

// ErrorBody is the JSON body of an API error, and of the error line that ends
// a failed add stream.
type ErrorBody struct {
	Error string `json:"error"`
	Code  Code   `json:"code"`
}

// ProgressLine is one line of the NDJSON streams that POST /api/v1/add,
// /api/v1/site/get and /api/v1/fetch return: exactly one of Progress, Result
// or Error is set. The last line holds Result or Error.
type ProgressLine[T any] struct {
	Progress *Progress `json:"progress,omitempty"`
	Result   *T        `json:"result,omitempty"`
	Error    string    `json:"error,omitempty"`
	Code     Code      `json:"code,omitempty"`
}

// AddLine is a line of the add stream.
type AddLine = ProgressLine[AddResult]

// SiteGetLine is a line of the site get stream.
type SiteGetLine = ProgressLine[PackageInfo]

// FetchLine is a line of the fetch stream.
type FetchLine = ProgressLine[FetchResult]

// FetchResult is the outcome of POST /api/v1/fetch: what the node fetched
// from the network to hold the package a ref names (all zero when it
// already held it, or runs offline).
type FetchResult struct {
	Fetched   bool  `json:"fetched"`
	Bytes     int64 `json:"bytes"`
	Blocks    int64 `json:"blocks"`
	Providers int   `json:"providers"`
}

// Request bodies and small responses of the API.
type (
	// BookmarkRequest is the body of POST /api/v1/bookmarks.
	BookmarkRequest struct {
		Name   string `json:"name"`
		Ref    string `json:"ref"`
		Follow bool   `json:"follow,omitempty"` // follow the channel Ref names
		Force  bool   `json:"force,omitempty"`  // replace a bookmark of that name
	}
	// QuotaRequest is the body of POST /api/v1/quota.
	QuotaRequest struct {
		Resource string `json:"resource"`
		Value    string `json:"value"`
	}
	// ConfigValue is the body of POST /api/v1/config and the answer of
	// GET /api/v1/config/{key}.
	ConfigValue struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	// ConfigText is the answer of GET /api/v1/config.
	ConfigText struct {
		Text string `json:"text"`
	}
	// URLResponse is the answer of GET /api/v1/open.
	URLResponse struct {
		URL string `json:"url"`
		// Stale is set when the network could not resolve the channel and URL
		// comes from the last resolution a followed bookmark kept, at
		// ResolvedAt: the channel may point elsewhere by now.
		Stale      bool      `json:"stale,omitempty"`
		ResolvedAt time.Time `json:"resolved_at,omitzero"`
	}
	// RefRequest is the body of POST /api/v1/site/get and /api/v1/fetch.
	RefRequest struct {
		Ref string `json:"ref"`
	}
	// ConnectRequest is the body of POST /api/v1/peers/connect.
	ConnectRequest struct {
		Addr string `json:"addr"` // a multiaddr ending in /p2p/<peer-id>
	}
	// ProvidersResponse is the answer of GET /api/v1/providers.
	ProvidersResponse struct {
		Providers []ProviderInfo `json:"providers"`
	}
	// PublishRequest is the body of POST /api/v1/publish.
	PublishRequest struct {
		Channel string `json:"channel"`
		Ref     string `json:"ref"`
	}
)

// FollowRequest is the body of POST /api/v1/bookmarks/{name}/follow.
type FollowRequest struct {
	Follow bool `json:"follow"`
}

const APIFile = "api" // address of the running daemon's API

const TokenFile = "api.token" // bearer token of the API

// SocketFile is the daemon's Unix socket (Linux): the same API, for
// clients on this machine. Over it, get can hand the daemon the file to
// write (POST /api/v1/get/fd with the descriptor, see node/fdpass).
const SocketFile = "api.sock"
