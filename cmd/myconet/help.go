package main

import (
	"context"
	"flag"
)

func helpCmd() *command {
	return &command{
		name:    "help",
		args:    "[COMMAND [SUBCOMMAND]]",
		summary: "show help for myconet or one command",
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			return func(ctx context.Context, args []string) error {
				if len(args) == 0 {
					printMainUsage(c.stdout, globalFlags(&cli{}))
					return nil
				}
				cmd := findCommand(commands(), args[0])
				if cmd == nil {
					return usagef("unknown command %q", args[0])
				}
				name := cmd.name
				if len(args) > 1 && cmd.subs != nil {
					sub := findCommand(cmd.subs, args[1])
					if sub == nil {
						return usagef("unknown subcommand %q: want one of %s", args[1], subNames(cmd))
					}
					cmd, name = sub, name+" "+sub.name
				} else if len(args) > 1 {
					return usagef("unexpected argument %q", args[1])
				}
				printUsage(c.stdout, c, name, cmd)
				return nil
			}
		},
	}
}
