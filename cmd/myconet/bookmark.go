package main

import (
	"context"
	"flag"
	"fmt"
	"os/exec"
	"runtime"

	"github.com/myconet/myconet/node"
)

func bookmarkCmd() *command {
	return &command{
		name:    "bookmark",
		summary: "name MRIs to open them later",
		subs: []*command{
			{
				name:    "add",
				args:    "NAME MRI",
				summary: "store NAME → MRI (--follow: fetch each new version of a channel)",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					follow := fs.Bool("follow", false, "for a channel MRI (myco://PEER/NAME): fetch and pin each new version as it appears")
					return c.onNode("NAME MRI", func(ctx context.Context, api node.API, args []string) error {
						b, err := api.BookmarkAdd(ctx, args[0], args[1])
						if err != nil {
							return err
						}
						if *follow {
							if b, err = api.BookmarkFollow(ctx, b.Name, true); err != nil {
								return err
							}
						}
						if *asJSON {
							return printJSON(c.stdout, b)
						}
						if b.Follow {
							_, err = fmt.Fprintf(c.stdout, "bookmarked %s → %s (following new versions)\n", b.Name, b.MRI)
							return err
						}
						_, err = fmt.Fprintf(c.stdout, "bookmarked %s → %s\n", b.Name, b.MRI)
						return err
					})
				},
			},
			{
				name:    "ls",
				summary: "list bookmarks: name, MRI, gateway URL",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					return c.onNode("", func(ctx context.Context, api node.API, args []string) error {
						bms, err := api.Bookmarks(ctx)
						if err != nil {
							return err
						}
						if *asJSON {
							if bms == nil {
								bms = []node.Bookmark{}
							}
							return printJSON(c.stdout, bms)
						}
						if len(bms) == 0 {
							_, err = fmt.Fprintln(c.stdout, "no bookmarks")
							return err
						}
						tw := newTable(c.stdout)
						for _, b := range bms {
							fmt.Fprintf(tw, "%s\t%s\t%s\n", b.Name, b.MRI, b.URL)
						}
						return tw.Flush()
					})
				},
			},
			{
				name:    "rm",
				args:    "NAME",
				summary: "delete a bookmark",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					return c.onNode("NAME", func(ctx context.Context, api node.API, args []string) error {
						if err := api.BookmarkRm(ctx, args[0]); err != nil {
							return err
						}
						_, err := fmt.Fprintf(c.stdout, "removed bookmark %s\n", args[0])
						return err
					})
				},
			},
		},
	}
}

func openCmd() *command {
	return &command{
		name:    "open",
		args:    "NAME|MRI",
		summary: "print the gateway URL of a bookmark or MRI (and open it in a browser)",
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			browser := fs.Bool("browser", false, "also open the URL in the default browser")
			return c.onNode("NAME|MRI", func(ctx context.Context, api node.API, args []string) error {
				url, err := api.OpenURL(ctx, args[0])
				if err != nil {
					return err
				}
				if _, err := fmt.Fprintln(c.stdout, url); err != nil {
					return err
				}
				if *browser {
					if err := launchBrowser(url); err != nil {
						// The URL is printed; failing to launch is only a warning.
						fmt.Fprintf(c.stderr, "myconet: open: warning: could not start a browser: %s\n", oneLine(err.Error()))
					}
				}
				return nil
			})
		},
	}
}

// launchBrowser starts the desktop's URL opener and does not wait for it.
func launchBrowser(url string) error {
	opener := "xdg-open"
	if runtime.GOOS == "darwin" {
		opener = "open"
	}
	cmd := exec.Command(opener, url)
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // reap it; the process ends soon after
	return nil
}
