package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
)

func initCmd() *command {
	return &command{
		name:    "init",
		summary: "create the node's home, identity and config file (never overwrites)",
		detail:  "Only init and `myconet daemon` create a home; other commands refuse a home that does not exist.\nOn an existing home, init changes nothing and says so.",
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			return func(ctx context.Context, args []string) error {
				if err := wantArgs(args); err != nil {
					return err
				}
				existed := node.CheckHome(c.home) == nil
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
						Home    string `json:"home"`
						Created bool   `json:"created"`
						apitype.IDInfo
					}{home, !existed, id})
				}
				if existed {
					fmt.Fprintf(c.stdout, "%s is already a Myconet home; nothing changed\n", home)
				} else {
					fmt.Fprintf(c.stdout, "initialized %s\n", home)
				}
				return printKV(c.stdout, []kv{
					{"peer ID", id.PeerID},
					{"address", id.Address},
				})
			}
		},
	}
}
