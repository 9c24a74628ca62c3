package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/myconet/myconet/node"
)

func configCmd() *command {
	keys := "Keys: " + strings.Join(node.ConfigKeys(), ", ") + "."
	return &command{
		name:    "config",
		summary: "read and change the node's config file",
		subs: []*command{
			{
				name:    "get",
				args:    "KEY",
				summary: "print one key's value",
				detail:  keys,
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					return c.onNode("KEY", func(ctx context.Context, api node.API, args []string) error {
						v, err := api.ConfigGet(ctx, args[0])
						if err != nil {
							return err
						}
						_, err = fmt.Fprintln(c.stdout, v)
						return err
					})
				},
			},
			{
				name:    "set",
				args:    "KEY VALUE",
				summary: "set one key (validated) and write the file",
				detail:  keys + "\nLists (network.listen, network.bootstrap) are comma-separated.",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					return c.onNode("KEY VALUE", func(ctx context.Context, api node.API, args []string) error {
						return api.ConfigSet(ctx, args[0], args[1])
					})
				},
			},
			{
				name:    "show",
				summary: "print the config file",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					return c.onNode("", func(ctx context.Context, api node.API, args []string) error {
						text, err := api.ConfigShow(ctx)
						if err != nil {
							return err
						}
						_, err = fmt.Fprint(c.stdout, strings.TrimRight(text, "\n")+"\n")
						return err
					})
				},
			},
		},
	}
}
