package httpapi

import (
	"context"
	"io"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/metrics"
)

// The optional capabilities the API handler uses when its API offers them
// (*node.Node offers all): random access for cat (Range requests) and file
// or tar streams for get, the node's metrics, fetching with progress, the
// ranked search with its counts, repository checks and log control.
type (
	// FileOpener opens a file for random access (cat with Range).
	FileOpener interface {
		OpenFile(ctx context.Context, ref string) (apitype.ReadSeekCloser, apitype.PathStat, error)
	}
	// TreeSource streams what a ref names for get: a file, or a directory
	// as a tar.
	TreeSource interface {
		FileOpener
		Stat(ctx context.Context, ref string) (apitype.PathStat, error)
		WriteTar(ctx context.Context, ref string, w io.Writer) error
	}
	// MetricsSource offers the registry /metrics serves and the API
	// counts into (a node's own); without it the handler keeps its own.
	MetricsSource interface {
		Metrics() *metrics.Metrics
	}
	// Fetcher brings what a ref names into the local store from the
	// network, reporting progress (get, cat and the rest fetch too, but
	// silently, inside their first call).
	Fetcher interface {
		FetchPackage(ctx context.Context, ref string, progress func(apitype.Progress)) (apitype.FetchResult, error)
	}
	// Searcher answers a search with its counts (nodes asked, answered,
	// results dropped) besides the results.
	Searcher interface {
		SearchResults(ctx context.Context, query string, opts apitype.SearchOptions, onResult func(apitype.SearchResult)) (apitype.SearchResults, error)
	}
)

// RepoVerifier is what the API handler needs to serve /api/v1/repo/verify;
// without it the route answers ErrNoDaemon.
type RepoVerifier interface {
	VerifyRepo(ctx context.Context) (apitype.VerifyReport, error)
}

// LogControl is what the API handler needs to serve /api/v1/log; without
// it the route answers ErrNoDaemon.
type LogControl interface {
	LogSettings(ctx context.Context) (apitype.LogSettings, error)
	SetLog(ctx context.Context, req apitype.LogRequest) (apitype.LogSettings, error)
}
