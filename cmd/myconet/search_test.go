package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/myconet/myconet/node"
)

type searchAPI struct {
	fakeAPI
	query string
	opts  node.SearchOptions
}

func (f *searchAPI) Search(ctx context.Context, query string, opts node.SearchOptions, onResult func(node.SearchResult)) ([]node.SearchResult, error) {
	f.query, f.opts = query, opts
	if query == "bad" {
		return nil, fmt.Errorf("%w: empty query: no word to look for", node.ErrInvalid)
	}
	r := []node.SearchResult{
		{MRI: "myco://bafyB", Title: "Second", Kind: "video", Size: 2048, Publisher: "12D3P", Score: 1.5, Holders: 1},
		{MRI: "myco://bafyA", Title: "First", Kind: "document", Size: 10, Publisher: "12D3P", Score: 0.5, Holders: 3},
	}
	for _, x := range r {
		if onResult != nil {
			onResult(x)
		}
	}
	return r, nil
}

func TestSearchCommand(t *testing.T) {
	api := &searchAPI{}
	c, stdout, stderr := testCLI(t, api)
	status := c.run([]string{"search", "gossip", `"peer to peer"`, "--kind", "video", "--tag", "a", "--tag", "b", "--language", "en", "--license", "MIT", "--publisher", "12D3P", "--limit", "5"})
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	if api.query != `gossip "peer to peer"` || api.opts.Kind != "video" || !slices.Equal(api.opts.Tags, []string{"a", "b"}) ||
		api.opts.Language != "en" || api.opts.License != "MIT" || api.opts.Publisher != "12D3P" || api.opts.Limit != 5 {
		t.Fatalf("query %q opts %+v", api.query, api.opts)
	}
	out := stdout.String()
	for _, want := range []string{"found (as results arrive):", "Second", "myco://bafyA", "2 results, best first:", "2.0 kB", "holders 3"} {
		if !strings.Contains(out, want) && !strings.Contains(out, strings.ToUpper(want)) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	c, stdout, _ = testCLI(t, api)
	if status := c.run([]string{"search", "--json", "x"}); status != 0 || !strings.HasPrefix(stdout.String(), "{\n  \"results\": [") || strings.Contains(stdout.String(), "found") {
		t.Fatalf("json: %d %s", status, stdout)
	}
	c, _, stderr = testCLI(t, api)
	if status := c.run([]string{"search", "bad"}); status == 0 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "empty query") {
		t.Fatalf("bad: %d %q", status, stderr)
	}
	c, _, _ = testCLI(t, api)
	if status := c.run([]string{"search"}); status != 2 {
		t.Fatalf("no query: status %d", status)
	}
	c, _, _ = testCLI(t, api)
	if status := c.run([]string{"search", "--", "-draft", "report"}); status != 0 || api.query != "-draft report" {
		t.Fatalf("after --: %d %q", status, api.query)
	}
}
