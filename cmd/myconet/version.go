package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/myconet/myconet/node"
)

// versionCmd prints the build: version, commit and date (stamped by
// scripts/release.sh, else read from the Go build info; never empty).
func versionCmd() *command {
	return &command{
		name:    "version",
		summary: "print the version, commit and build date",
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := fs.Bool("json", false, "print JSON")
			return func(ctx context.Context, args []string) error {
				if err := wantArgs(args); err != nil {
					return err
				}
				return c.printVersion(*asJSON || c.json)
			}
		},
	}
}

// printVersion is `myconet version` and `myconet --version`.
func (c *cli) printVersion(asJSON bool) error {
	return emit(c, asJSON, node.Build(), func(w io.Writer, b node.BuildInfo) error {
		dirty := ""
		if b.Modified {
			dirty = "+dirty"
		}
		_, err := fmt.Fprintf(w, "myconet %s\ncommit:   %s%s\ndate:     %s\ngo:       %s %s\n", b.Version, b.Commit, dirty, b.Date, b.GoVersion, b.Platform)
		return err
	})
}
