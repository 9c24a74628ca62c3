package node

import (
	"context"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/searchsvc"
	"github.com/myconet/myconet/search"
)

// DefaultSearchLimit is the number of results when SearchOptions.Limit is 0.
const DefaultSearchLimit = search.DefaultLimit

// newSearch builds the search service (node/searchsvc) on the node's store,
// with the moderation policy's withheld check and the community's tags.
func (n *Node) newSearch() *searchsvc.Service {
	return searchsvc.New(searchsvc.Config{
		DB: n.db, Logger: n.baseLog, Self: n.id.PeerID,
		Withheld: n.withheldCached, Tags: n.annotationTags,
	})
}

// Search implements API: the node's own index, then (online, unless
// opts.Local) the nodes that announce the query's rarest terms. Results
// stream through onResult (if non-nil) as they are verified; the returned
// list is ranked by this node over all of them.
func (n *Node) Search(ctx context.Context, query string, opts apitype.SearchOptions, onResult func(apitype.SearchResult)) ([]apitype.SearchResult, error) {
	res, err := n.SearchResults(ctx, query, opts, onResult)
	if err != nil {
		return nil, err
	}
	return res.Results, nil
}

// SearchResults is Search with the counts of the answer (nodes asked and
// answered, results dropped), for the HTTP API's final line.
func (n *Node) SearchResults(ctx context.Context, query string, opts apitype.SearchOptions, onResult func(apitype.SearchResult)) (apitype.SearchResults, error) {
	defer n.metrics.ObserveSearch(opts.Local || n.network() == nil, time.Now())
	res, err := n.srch.Search(ctx, query, opts, onResult)
	return res, storeErr(err)
}

// searchChanged is called after the pins of roots change (none: of
// packages not known, as after GC).
func (n *Node) searchChanged(roots ...cid.Cid) { n.srch.Changed(roots...) }

// reindexSearch indexes the package rooted at c anew, after its community
// annotations changed.
func (n *Node) reindexSearch(c cid.Cid) { n.srch.Reindex(c) }
