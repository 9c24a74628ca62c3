package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/client"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/webui"
)

func daemonCmd() *command {
	return &command{
		name:    "daemon",
		summary: "run the node: the network, HTTP API and gateway, until SIGINT or SIGTERM",
		detail: `Flags override the config file (` + "`myconet config show`" + `) for this run.
With no configuration at all, the daemon creates the home and runs with defaults.`,
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			var listen stringList
			fs.Var(&listen, "listen", "libp2p listen `MULTIADDR` (repeatable; replaces network.listen)")
			var bootstrap stringList
			fs.Var(&bootstrap, "bootstrap", "bootstrap peer `MULTIADDR` ending in /p2p/<peer-id> (repeatable; replaces network.bootstrap)")
			apiAddr := fs.String("api", "", "API `HOST:PORT` (default from config, "+config.DefaultAPIAddr+")")
			gwAddr := fs.String("gateway", "", "gateway `HOST:PORT` (default from config, "+config.DefaultGatewayAddr+")")
			noTUN := fs.Bool("no-tun", false, "do not create the overlay TUN interface (overlay pings still work)")
			tunName := fs.String("tun-name", "", "overlay TUN interface `NAME` (replaces overlay.tun_name)")
			dhtMode := fs.String("dht", "", "DHT `MODE`: auto, server or client (replaces network.dht)")
			logf := addLogFlags(fs)
			groupAccess := fs.Bool("group-access", false, "make the API address and token files readable by the home's group (0640), so its members' CLI reaches this daemon")
			return func(ctx context.Context, args []string) error {
				if err := wantArgs(args); err != nil {
					return err
				}
				log, level, err := logf.logger(c.stderr)
				if err != nil {
					return err
				}
				return c.runDaemon(ctx, log, daemonOptions{
					listen: listen, bootstrap: bootstrap, api: *apiAddr, gateway: *gwAddr, noTUN: *noTUN, tunName: *tunName, dht: *dhtMode,
					logLevel: level, accessLog: *logf.access, groupAccess: *groupAccess,
				})
			}
		},
	}
}

type daemonOptions struct {
	listen       []string
	bootstrap    []string
	api, gateway string
	noTUN        bool
	tunName      string
	dht          string
	logLevel     *slog.LevelVar // changed at run time through the API
	accessLog    bool
	groupAccess  bool // api and api.token readable by the home's group
}

func (c *cli) runDaemon(ctx context.Context, log *slog.Logger, o daemonOptions) error {
	home, err := node.Init(c.home)
	if err != nil {
		return err
	}
	// Flags override the config file for this run only; `config set` through
	// this daemon never writes them to the file.
	cfg := node.Config{Home: home, Logger: log, LogLevel: o.logLevel, AccessLog: o.accessLog, Override: func(fc *config.FileConfig) {
		if len(o.listen) > 0 {
			fc.Network.Listen = o.listen
		}
		if len(o.bootstrap) > 0 {
			fc.Network.Bootstrap = o.bootstrap
		}
		if o.dht != "" {
			fc.Network.DHT = o.dht
		}
		if o.noTUN {
			fc.Overlay.TUN = false
		}
		if o.tunName != "" {
			fc.Overlay.TUNName = o.tunName
		}
	}}

	n, err := node.New(cfg)
	if errors.Is(err, apitype.ErrLocked) {
		// Say whether it is a daemon that holds the store.
		if cl, cerr := client.FromHome(ctx, home); cerr == nil {
			if st, serr := cl.Status(ctx); serr == nil {
				return fmt.Errorf("a daemon is already running for %s (API %s, peer %s)", home, httpURL(st.API), st.ID.PeerID)
			}
			return fmt.Errorf("a daemon is already running for %s", home)
		}
		return lockedErr(home, err)
	}
	if err != nil {
		return err
	}
	defer n.Close()
	defer cpuProfile()()
	if os.Getenv("GOMEMLIMIT") == "" {
		n.ApplyMemoryQuota() // quota.memory, now and on every change
	}

	id := n.Identity()
	var ui *webui.UI
	err = n.Run(ctx, node.RunOptions{
		UI: func(token string) http.Handler {
			// Uploads are staged beside the store, not in a RAM-backed /tmp.
			staging := filepath.Join(n.Home(), "uploads")
			if err := os.MkdirAll(staging, 0o700); err != nil {
				staging = ""
			}
			ui = webui.New(n, webui.Options{Token: token, Log: log, TempDir: staging})
			return ui
		},
		APIAddr:     o.api,
		GatewayAddr: o.gateway,
		GroupAccess: o.groupAccess,
		Ready: func(api, gw string) {
			fmt.Fprintf(c.stdout, "API listening on %s\n", httpURL(api))
			fmt.Fprintf(c.stdout, "Gateway on %s\n", httpURL(gw))
			fmt.Fprintf(c.stdout, "Peer ID %s\n", id.PeerID)
			if info, err := n.ID(ctx); err == nil {
				for _, a := range info.Listen {
					fmt.Fprintf(c.stdout, "Listening on %s\n", a)
				}
			}
			overlayNote := "overlay off"
			if st, err := n.Status(ctx); err == nil {
				overlayNote = st.Overlay
			}
			fmt.Fprintf(c.stdout, "Overlay address %s (%s)\n", id.Address, overlayNote)
			if ui != nil && api != "" {
				fmt.Fprintf(c.stdout, "Web app %s%s (a login link that works once, for a day; `myconet ui` prints another)\n", httpURL(api), ui.NewLoginLink(webui.StartLinkTTL).Path)
			}
		},
	})
	if ui != nil {
		ui.Close() // its downloads and votes stop before the node closes
	}
	if cerr := n.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil // stopped by a signal: a clean exit
	}
	if err == nil {
		log.Info("daemon stopped")
	}
	return err
}

// httpURL turns "127.0.0.1:5190" into "http://127.0.0.1:5190"; "" and "none"
// say the server is off.
func httpURL(addr string) string {
	switch {
	case addr == "" || addr == "none":
		return "(disabled)"
	case strings.Contains(addr, "://"):
		return addr
	}
	return "http://" + addr
}
