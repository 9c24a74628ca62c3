package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/myconet/myconet/node/apitype"
)

func publishCmd() *command {
	return &command{
		name:    "publish",
		args:    "NAME MRI",
		summary: "point this node's mutable channel NAME at a package; print myco://<peer-id>/NAME",
		detail: `The channel's MRI resolves to the newest package published under it, anywhere in the
network. Publishing again under the same NAME replaces the target. A channel named
"ls" is published with ` + "`myconet publish -- ls MRI`" + `.`,
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			quiet := fs.Bool("q", false, "print only the channel's MRI")
			return c.onDaemon("NAME MRI", func(ctx context.Context, api apitype.API, args []string) error {
				res, err := api.Publish(ctx, args[0], args[1])
				if err != nil {
					return err
				}
				switch {
				case *asJSON:
					return printJSON(c.stdout, res)
				case *quiet:
					_, err = fmt.Fprintln(c.stdout, res.MRI)
					return err
				}
				_, err = fmt.Fprintf(c.stdout, "published %s → %s (seq %d)\n", res.MRI, res.Target, res.Seq)
				if err == nil && res.Pending {
					fmt.Fprintln(c.stderr, "myconet: publish: not in the network yet (no peers): the daemon announces it as soon as it has some")
				}
				return err
			})
		},
		subs: []*command{
			{
				name:    "ls",
				summary: "list this node's channels: MRI, target, sequence, expiry",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					return c.onNode("", func(ctx context.Context, api apitype.API, args []string) error {
						chans, err := api.Channels(ctx)
						if err != nil {
							return err
						}
						return emitList(c, *asJSON, "channels", chans, printChannels)
					})
				},
			},
		},
	}
}

func printChannels(w io.Writer, chans []apitype.PublishResult) error {
	if len(chans) == 0 {
		_, err := fmt.Fprintln(w, "no channels")
		return err
	}
	tw := newTable(w)
	fmt.Fprintf(tw, "MRI\tTARGET\tSEQ\tEXPIRES\n")
	for _, ch := range chans {
		exp := "pending (no peers yet)"
		if !ch.Expires.IsZero() {
			exp = ch.Expires.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", ch.MRI, ch.Target, ch.Seq, exp)
	}
	return tw.Flush()
}
