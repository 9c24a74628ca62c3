package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/myconet/myconet/node/apitype"
)

func pinCmd() *command {
	return &command{
		name:    "pin",
		summary: "list and remove pins (what the store keeps)",
		subs: []*command{
			{
				name:    "ls",
				summary: "list pinned packages: reason, size, added, MRI, title",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					return c.onNode("", func(ctx context.Context, api apitype.API, args []string) error {
						pins, err := api.Pins(ctx)
						if err != nil {
							return err
						}
						return emitList(c, *asJSON, "pins", pins, printPins)
					})
				},
			},
			{
				name:    "rm",
				args:    "MRI",
				summary: "unpin a package (its blocks go at the next gc)",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					reason := fs.String("reason", "", "remove only the pin with this `REASON` (local, replica, cache); default all")
					asJSON := jsonFlag(c, fs)
					return c.onNode("MRI", func(ctx context.Context, api apitype.API, args []string) error {
						if err := api.Unpin(ctx, args[0], *reason); err != nil {
							return err
						}
						return c.printDone(*asJSON, unpinned{args[0], *reason}, "unpinned "+args[0])
					})
				},
			},
		},
	}
}

// unpinned is the JSON report of `pin rm`.
type unpinned struct {
	MRI    string `json:"unpinned"`
	Reason string `json:"reason,omitempty"` // the only reason removed; all when empty
}

func printPins(w io.Writer, pins []apitype.PinInfo) error {
	if len(pins) == 0 {
		_, err := fmt.Fprintln(w, "no pins")
		return err
	}
	tw := newTable(w)
	fmt.Fprintf(tw, "REASON\tSIZE\tADDED\tMRI\tTITLE\n")
	for _, p := range pins {
		added := "-"
		if !p.Created.IsZero() {
			added = p.Created.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Reason, apitype.FormatSize(p.Size), added, p.MRI, p.Title)
	}
	return tw.Flush()
}

func gcCmd() *command {
	return &command{
		name:    "gc",
		summary: "remove blocks no pin reaches, and report the space freed",
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			return c.onNode("", func(ctx context.Context, api apitype.API, args []string) error {
				res, err := api.GC(ctx)
				if err != nil {
					return err
				}
				if *asJSON {
					return printJSON(c.stdout, res)
				}
				_, err = fmt.Fprintf(c.stdout, "removed %d %s, freed %s\n",
					res.Removed, plural(int64(res.Removed), "block", "blocks"), apitype.FormatSize(res.Freed))
				return err
			})
		},
	}
}
