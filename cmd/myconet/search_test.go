package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/myconet/myconet/node/apitype"
)

type searchAPI struct {
	fakeAPI
	query string
	opts  apitype.SearchOptions
}

func (f *searchAPI) Search(ctx context.Context, query string, opts apitype.SearchOptions, onResult func(apitype.SearchResult)) ([]apitype.SearchResult, error) {
	f.query, f.opts = query, opts
	if query == "bad" {
		return nil, fmt.Errorf("%w: empty query: no word to look for", apitype.ErrInvalid)
	}
	r := []apitype.SearchResult{
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
	c.stdoutTTY = true
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

// manyAPI streams n results and returns the best opts.Limit of them.
type manyAPI struct {
	fakeAPI
	n int
}

func (f *manyAPI) Search(ctx context.Context, query string, opts apitype.SearchOptions, onResult func(apitype.SearchResult)) ([]apitype.SearchResult, error) {
	var all []apitype.SearchResult
	for i := range f.n {
		r := apitype.SearchResult{MRI: fmt.Sprintf("myco://bafy%d", i), Title: fmt.Sprintf("Title%d", i), Score: float64(i)}
		all = append(all, r)
		if onResult != nil {
			onResult(r)
		}
	}
	slices.Reverse(all)
	return all[:min(len(all), opts.Limit)], nil
}

// Into a pipe, each result prints once (the ranked list); on a terminal,
// the streamed lines never exceed --limit. "1 result", not "1 results".
func TestSearchOutputPipeAndTerminal(t *testing.T) {
	api := &manyAPI{n: 5}
	c, stdout, stderr := testCLI(t, api)
	if status := c.run([]string{"search", "x", "--limit", "3"}); status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	out := stdout.String()
	if strings.Contains(out, "found") || strings.Count(out, "myco://bafy4") != 1 || strings.Count(out, "myco://") != 3 {
		t.Fatalf("piped output: want the ranked 3 once each:\n%s", out)
	}

	c, stdout, _ = testCLI(t, api)
	c.stdoutTTY = true
	if status := c.run([]string{"search", "x", "--limit", "2"}); status != 0 {
		t.Fatal(status)
	}
	streamed, ranked, _ := strings.Cut(stdout.String(), "best first")
	if n := strings.Count(streamed, "myco://"); n != 2 || !strings.HasPrefix(streamed, "found (as results arrive):") {
		t.Fatalf("terminal: %d results streamed with --limit 2:\n%s", n, stdout)
	}
	if n := strings.Count(ranked, "myco://"); n != 2 {
		t.Fatalf("terminal: ranked list has %d results:\n%s", n, stdout)
	}

	api.n = 1
	c, stdout, _ = testCLI(t, api)
	c.run([]string{"search", "x"})
	if !strings.HasPrefix(stdout.String(), "1 result, best first:") {
		t.Fatalf("one result: %q", stdout)
	}
}
