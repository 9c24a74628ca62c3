package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/myconet/myconet/node/apitype"
)

func retractCmd() *command {
	return &command{
		name:    "retract",
		args:    "MRI [--reason TEXT]",
		summary: "take back a package you published (signed with your publisher key)",
		detail: `The retraction is signed with this node's key, which must be the package's publisher
key, and sent to the package's aggregators and to the nodes that hold it. Honest nodes
then drop their replica and cache copies, stop providing it and leave it out of search;
their gateways answer 410 Gone with the reason. Retraction is final. Your own local pin
stays (` + "`myconet unpin`" + ` drops it); another node's owner may still keep a copy by
pinning it local, and is told it was retracted.`,
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			reason := fs.String("reason", "", "why (at most 280 bytes; public)")
			return c.onDaemon("MRI", func(ctx context.Context, api apitype.API, args []string) error {
				r, err := api.Retract(ctx, apitype.RetractRequest{Ref: args[0], Reason: *reason})
				if err != nil {
					return err
				}
				return emit(c, *asJSON, r, printRetract)
			})
		},
	}
}

func printRetract(w io.Writer, r apitype.RetractResult) error {
	fmt.Fprintf(w, "retracted %s: accepted by %d of %d aggregators and holders\n",
		r.Package, r.Accepted, len(r.Aggregators)+len(r.Holders))
	if r.KeptLocal {
		fmt.Fprintln(w, "this node keeps its local pin (`myconet unpin` drops it)")
	}
	tw := newTable(w)
	for _, group := range []struct {
		role    string
		answers []apitype.AggregatorAnswer
	}{{"aggregator", r.Aggregators}, {"holder", r.Holders}} {
		for _, a := range group.answers {
			res := a.Result
			if a.Error != "" {
				res = "error: " + a.Error
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", group.role, a.Peer, res)
		}
	}
	return tw.Flush()
}
