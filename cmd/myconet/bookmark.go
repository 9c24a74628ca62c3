package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"time"

	"github.com/myconet/myconet/node/apitype"
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
				detail: `A name already taken is refused unless --force. A followed channel opens offline:
` + "`open NAME`" + ` then gives the last version fetched, saying how old it is.`,
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					follow := fs.Bool("follow", false, "for a channel MRI (myco://PEER/NAME): fetch and pin each new version as it appears")
					force := fs.Bool("force", false, "replace a bookmark of the same name")
					return c.onNode("NAME MRI", func(ctx context.Context, api apitype.API, args []string) error {
						b, err := api.BookmarkAdd(ctx, apitype.BookmarkRequest{Name: args[0], Ref: args[1], Follow: *follow, Force: *force})
						if err != nil {
							return err
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
					return c.onNode("", func(ctx context.Context, api apitype.API, args []string) error {
						bms, err := api.Bookmarks(ctx)
						if err != nil {
							return err
						}
						return emitList(c, *asJSON, "bookmarks", bms, printBookmarks)
					})
				},
			},
			followCmd("follow", "fetch and pin each new version of a bookmarked channel (as add --follow)", true),
			followCmd("unfollow", "stop following a bookmarked channel (what was fetched stays pinned)", false),
			{
				name:    "rm",
				args:    "NAME",
				summary: "delete a bookmark",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					return c.onNode("NAME", func(ctx context.Context, api apitype.API, args []string) error {
						if err := api.BookmarkRm(ctx, args[0]); err != nil {
							return err
						}
						return c.printDone(*asJSON, map[string]string{"removed": args[0]}, "removed bookmark "+args[0])
					})
				},
			},
		},
	}
}

func printBookmarks(w io.Writer, bms []apitype.Bookmark) error {
	if len(bms) == 0 {
		_, err := fmt.Fprintln(w, "no bookmarks")
		return err
	}
	tw := newTable(w)
	for _, b := range bms {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", b.Name, b.MRI, bookmarkWhere(b, time.Now()))
	}
	return tw.Flush()
}

// followCmd is `bookmark follow` or `bookmark unfollow`.
func followCmd(name, summary string, follow bool) *command {
	return &command{
		name:    name,
		args:    "NAME",
		summary: summary,
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			return c.onNode("NAME", func(ctx context.Context, api apitype.API, args []string) error {
				b, err := api.BookmarkFollow(ctx, args[0], follow)
				if err != nil {
					return err
				}
				if *asJSON {
					return printJSON(c.stdout, b)
				}
				verb := "following"
				if !follow {
					verb = "no longer following"
				}
				_, err = fmt.Fprintf(c.stdout, "%s %s → %s\n", verb, b.Name, b.MRI)
				return err
			})
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
			asJSON := jsonFlag(c, fs)
			return c.onNode("NAME|MRI", func(ctx context.Context, api apitype.API, args []string) error {
				o, err := api.OpenURL(ctx, args[0])
				if err != nil {
					return err
				}
				if o.Stale {
					fmt.Fprintf(c.stderr, "myconet: open: %s\n", staleNote(o.ResolvedAt))
				}
				if err := c.printDone(*asJSON, o, o.URL); err != nil {
					return err
				}
				if *browser {
					if err := launchBrowser(o.URL); err != nil {
						// The URL is printed; failing to launch is only a warning.
						fmt.Fprintf(c.stderr, "myconet: open: warning: could not start a browser: %s\n", oneLine(err.Error()))
					}
				}
				return nil
			})
		},
	}
}

// bookmarkWhere is the third column of `bookmark ls`: the gateway URL of a
// package, or for a channel what following it last fetched.
func bookmarkWhere(b apitype.Bookmark, now time.Time) string {
	switch {
	case b.URL != "":
		return b.URL
	case b.Resolved != "":
		return fmt.Sprintf("following: %s (resolved %s)", b.Resolved, ago(now.Sub(b.ResolvedAt)))
	case b.Follow:
		return "following: nothing fetched yet"
	}
	return "channel"
}

// staleNote says that a channel was resolved from a followed bookmark's
// last resolution, at resolvedAt.
func staleNote(resolvedAt time.Time) string {
	return fmt.Sprintf("possibly stale: the network cannot resolve this channel now; this is where it pointed %s", ago(time.Since(resolvedAt)))
}

// ago renders a duration for people: "40s ago", "3m ago", "5h ago", "2d ago".
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", max(0, int(d/time.Second)))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
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
