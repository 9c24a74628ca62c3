package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/myconet/myconet/node/apitype"
)

func siteCmd() *command {
	return &command{
		name:    "site",
		summary: "keep whole Mycosites for offline reading",
		subs: []*command{
			{
				name:    "get",
				args:    "MRI",
				summary: "download a whole package from the network and pin it local",
				detail: `Every block is verified as it arrives. Afterwards the package reads, and browses
through the gateway (` + "`myconet open MRI`" + `), with the network gone.`,
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					return c.onDaemon("MRI", func(ctx context.Context, api apitype.API, args []string) error {
						bar := c.newProgress("site get")
						info, err := api.SiteGet(ctx, args[0], bar.callback())
						bar.done()
						if err != nil {
							return err
						}
						if *asJSON {
							return printJSON(c.stdout, info)
						}
						size := ""
						if info.Meta.Size > 0 {
							size = fmt.Sprintf(", %d %s, %s", info.Meta.Files, plural(int64(info.Meta.Files), "file", "files"), apitype.FormatSize(int64(info.Meta.Size)))
						}
						_, err = fmt.Fprintf(c.stdout, "got %s (%q%s), pinned local\n", info.MRI, info.Meta.Title, size)
						return err
					})
				},
			},
		},
	}
}
