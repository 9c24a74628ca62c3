package apitype

import (
	"strings"

	"github.com/myconet/myconet/search"
)

// DefaultSearchLimit is the number of results when SearchOptions.Limit is 0.
const DefaultSearchLimit = 20

// ParseSearch reads a query text with the options' filters and limit the
// way every node does: a bad query is one CodeInvalid error, so that the
// HTTP API can refuse it before it starts streaming results.
func ParseSearch(text string, opts SearchOptions) (search.Query, int, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return search.Query{}, 0, Errorf(CodeInvalid, "empty query: give at least one word")
	}
	q, err := search.ParseQuery(text)
	if err != nil {
		return search.Query{}, 0, Errorf(CodeInvalid, "%s", strings.TrimPrefix(err.Error(), "search: "))
	}
	set := func(key, v string) error {
		if v == "" {
			return nil
		}
		if err := q.SetFilter(key, v); err != nil {
			return Errorf(CodeInvalid, "--%s: %s", key, strings.TrimPrefix(err.Error(), "search: "))
		}
		return nil
	}
	for _, f := range []struct{ k, v string }{{"kind", opts.Kind}, {"language", opts.Language}, {"license", opts.License}, {"publisher", opts.Publisher}} {
		if err := set(f.k, f.v); err != nil {
			return q, 0, err
		}
	}
	for _, t := range opts.Tags {
		if err := set("tag", t); err != nil {
			return q, 0, err
		}
	}
	if len(q.String()) > search.MaxQueryLen {
		return q, 0, Errorf(CodeInvalid, "query too long (at most %d bytes)", search.MaxQueryLen)
	}
	limit := opts.Limit
	switch {
	case limit < 0:
		return q, 0, Errorf(CodeInvalid, "limit must be positive")
	case limit == 0:
		limit = DefaultSearchLimit
	case limit > search.MaxResults:
		limit = search.MaxResults
	}
	return q, limit, nil
}
