package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os/exec"
	"runtime"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/client"
)

func uiCmd() *command {
	return &command{
		name:    "ui",
		summary: "print a login link to the web app of the running daemon",
		detail: `The link logs this browser in once (it works for ten minutes) and then shows
the web app at a clean address: search, publish, vote, bookmarks, the library,
the network and the quotas. --browser opens it in the default browser.`,
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			browser := fs.Bool("browser", false, "open the link in the default browser")
			asJSON := jsonFlag(c, fs)
			return func(ctx context.Context, args []string) error {
				if err := wantArgs(args); err != nil {
					return err
				}
				cl, err := client.FromHome(ctx, c.home)
				if errors.Is(err, apitype.ErrNoDaemon) {
					return fmt.Errorf("%w: the web app is served by the daemon; start it with `myconet daemon`", err)
				}
				if err != nil {
					return err
				}
				defer cl.Close()
				link, err := cl.UILoginLink(ctx)
				if err != nil {
					return err
				}
				if err := c.printDone(*asJSON, map[string]string{"url": link}, link); err != nil {
					return err
				}
				if *browser {
					if err := openBrowser(link); err != nil {
						return fmt.Errorf("ui: cannot open a browser (%v); open the link above yourself", err)
					}
				}
				return nil
			}
		},
	}
}

// openBrowser opens url in the desktop's default browser.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() //nolint:errcheck // the opener's exit status says nothing useful
	return nil
}
