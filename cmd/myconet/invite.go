package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/myconet/myconet/node/apitype"
)

func inviteCmd() *command {
	return &command{
		name:    "invite",
		summary: "print an invitation another node can join the network with",
		detail: `The invitation carries this node's peer ID and current addresses (relays
included), signed by its key, with an expiry and a number of uses. Hand it to
the other node's owner, who runs ` + "`myconet join INVITATION`" + `.`,
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			expires := fs.Duration("expires", 24*time.Hour, "the invitation is valid for `DURATION`")
			uses := fs.Int("uses", 1, "`N` nodes may join with it")
			return c.onDaemon("", func(ctx context.Context, api apitype.API, args []string) error {
				inv, err := api.Invite(ctx, apitype.InviteRequest{Expires: expires.String(), Uses: *uses})
				if err != nil {
					return err
				}
				if *asJSON {
					return printJSON(c.stdout, inv)
				}
				plural := "s"
				if inv.Uses == 1 {
					plural = ""
				}
				_, err = fmt.Fprintf(c.stdout, "%s\n\nvalid until %s for %d node%s; on the other node run:\n  myconet join %s\n",
					inv.Invite, inv.Expires.Local().Format("2006-01-02 15:04"), inv.Uses, plural, inv.Invite)
				return err
			})
		},
	}
}

func joinCmd() *command {
	return &command{
		name:    "join",
		args:    "INVITATION",
		summary: "join a network with an invitation from `myconet invite`",
		detail:  "Connects to the inviting node, learns some of its peers and remembers them all:\nlater starts find the network without the invitation.",
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			return c.onDaemon("INVITATION", func(ctx context.Context, api apitype.API, args []string) error {
				res, err := api.Join(ctx, args[0])
				if err != nil {
					return err
				}
				if *asJSON {
					return printJSON(c.stdout, res)
				}
				_, err = fmt.Fprintf(c.stdout, "joined through %s: connected to %d peers, %d remembered for later starts\n", res.Peer, res.Connected, res.Remembered)
				return err
			})
		},
	}
}
