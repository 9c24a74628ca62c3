package search

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultLimit is the number of results when Options.Limit is 0.
const DefaultLimit = 20

// Options are what a search request gives beside its text: filters, which
// add to those the text sets (kind:, tag:, …), and the most results wanted.
type Options struct {
	Kind, Language, License, Publisher string
	Tags                               []string
	Limit                              int // 0: DefaultLimit; at most MaxResults
}

// ParseOptions parses text with o's filters and returns the query and the
// limit (o.Limit, defaulted and capped), the way every node reads a search
// request. Its errors are the user's mistakes, one line each, in words for
// the user (without this package's "search: " prefix).
func ParseOptions(text string, o Options) (Query, int, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return Query{}, 0, errors.New("empty query: give at least one word")
	}
	q, err := ParseQuery(text)
	if err != nil {
		return Query{}, 0, errors.New(strings.TrimPrefix(err.Error(), "search: "))
	}
	set := func(key, v string) error {
		if v == "" {
			return nil
		}
		if err := q.SetFilter(key, v); err != nil {
			return fmt.Errorf("--%s: %s", key, strings.TrimPrefix(err.Error(), "search: "))
		}
		return nil
	}
	for _, f := range []struct{ k, v string }{{"kind", o.Kind}, {"language", o.Language}, {"license", o.License}, {"publisher", o.Publisher}} {
		if err := set(f.k, f.v); err != nil {
			return q, 0, err
		}
	}
	for _, t := range o.Tags {
		if err := set("tag", t); err != nil {
			return q, 0, err
		}
	}
	if len(q.String()) > MaxQueryLen {
		return q, 0, fmt.Errorf("query too long (at most %d bytes)", MaxQueryLen)
	}
	limit := o.Limit
	switch {
	case limit < 0:
		return q, 0, errors.New("limit must be positive")
	case limit == 0:
		limit = DefaultLimit
	case limit > MaxResults:
		limit = MaxResults
	}
	return q, limit, nil
}
