package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/myconet/myconet/node"
)

func initCmd() *command {
	return &command{
		name:    "init",
		summary: "create the node's home, identity and config file (never overwrites)",
		detail:  "Other commands and `myconet daemon` create the home on first use too; init only makes it explicit.",
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			return func(ctx context.Context, args []string) error {
				if err := wantArgs(args); err != nil {
					return err
				}
				home, err := node.Init(c.home)
				if err != nil {
					return err
				}
				api, closeAPI, err := c.connect(ctx, home)
				if err != nil {
					return err
				}
				defer closeAPI()
				id, err := api.ID(ctx)
				if err != nil {
					return err
				}
				if *asJSON {
					return printJSON(c.stdout, struct {
						Home string `json:"home"`
						node.IDInfo
					}{home, id})
				}
				fmt.Fprintf(c.stdout, "initialized %s\n", home)
				return printKV(c.stdout, []kv{
					{"peer ID", id.PeerID},
					{"address", id.Address},
				})
			}
		},
	}
}
