package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
)

func searchCmd() *command {
	return &command{
		name:    "search",
		args:    "QUERY",
		summary: "find packages by words of their metadata, here and in the network",
		detail: `Several words must all match; "a phrase" matches consecutive words; -word
excludes. Filters also work inside the query (kind:video tag:music lang:en).
Quote the query for the shell, and put a query that starts with - after --:
  myconet search 'rust "async runtime" -tokio' --kind software
  myconet search -- -draft report
Without a daemon, only this node's own packages are searched. On a terminal,
results print as they arrive (at most --limit of them) and a ranked list
follows; into a pipe or file only the ranked list is written.`,
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			var opts apitype.SearchOptions
			var tags stringList
			fs.StringVar(&opts.Kind, "kind", "", "only packages of `KIND`")
			fs.StringVar(&opts.Language, "language", "", "only packages in `LANG` (BCP 47; en matches en-US)")
			fs.Var(&tags, "tag", "only packages with `TAG` (repeatable)")
			fs.StringVar(&opts.License, "license", "", "only packages under `SPDX` license")
			fs.StringVar(&opts.Publisher, "publisher", "", "only packages published by `PEER` ID")
			fs.IntVar(&opts.Limit, "limit", node.DefaultSearchLimit, "at most `N` results")
			fs.BoolVar(&opts.Local, "local", false, "search only this node's own index")
			return func(ctx context.Context, args []string) error {
				if len(args) == 0 {
					return usagef("missing QUERY")
				}
				opts.Tags = tags
				api, closeAPI, err := c.connect(ctx, c.home)
				if err != nil {
					return err
				}
				defer closeAPI()
				// Results stream only to a person watching a terminal, and
				// no more of them than the ranked list will hold; a pipe
				// gets the ranked list alone, once.
				var onResult func(apitype.SearchResult)
				var mu sync.Mutex
				arrived := 0
				limit := opts.Limit
				if limit <= 0 {
					limit = node.DefaultSearchLimit
				}
				if !*asJSON && c.stdoutTTY {
					onResult = func(r apitype.SearchResult) {
						mu.Lock()
						defer mu.Unlock()
						if arrived >= limit {
							return
						}
						if arrived == 0 {
							fmt.Fprintln(c.stdout, "found (as results arrive):")
						}
						arrived++
						printSearchResult(c.stdout, r)
					}
				}
				res, err := api.Search(ctx, strings.Join(args, " "), opts, onResult)
				if err != nil {
					return err
				}
				if *asJSON {
					if res == nil {
						res = []apitype.SearchResult{}
					}
					return printJSON(c.stdout, apitype.SearchResults{Results: res})
				}
				return printRanked(c.stdout, res)
			}
		},
	}
}

// printSearchResult prints one result as it arrives.
func printSearchResult(w io.Writer, r apitype.SearchResult) {
	fmt.Fprintf(w, "  %s\n    %s  %s  %s  publisher %s  score %.2f  holders %d\n",
		r.Title, r.MRI, orDash(r.Kind), apitype.FormatSize(r.Size), r.Publisher, r.Score, r.Holders)
}

// printRanked prints the final, ranked list.
func printRanked(w io.Writer, res []apitype.SearchResult) error {
	if len(res) == 0 {
		_, err := fmt.Fprintln(w, "no results")
		return err
	}
	fmt.Fprintf(w, "%d %s, best first:\n", len(res), plural(len(res), "result", "results"))
	tw := newTable(w)
	fmt.Fprintf(tw, "#\tSCORE\tHOLDERS\tKIND\tSIZE\tTITLE\tMRI\tPUBLISHER\n")
	for i, r := range res {
		fmt.Fprintf(tw, "%d\t%.2f\t%d\t%s\t%s\t%s\t%s\t%s\n", i+1, r.Score, r.Holders, orDash(r.Kind),
			apitype.FormatSize(r.Size), oneLineTitle(r.Title), r.MRI, r.Publisher)
	}
	return tw.Flush()
}

func oneLineTitle(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 60 {
		s = string(r[:59]) + "…"
	}
	return s
}
