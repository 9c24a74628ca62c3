package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/myconet/myconet/node/apitype"
)

func idCmd() *command {
	return &command{
		name:    "id",
		summary: "show the node's peer ID, overlay address and public key",
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			return c.onNode("", func(ctx context.Context, api apitype.API, args []string) error {
				id, err := api.ID(ctx)
				if err != nil {
					return err
				}
				if *asJSON {
					return printJSON(c.stdout, id)
				}
				return printKV(c.stdout, idRows(id))
			})
		},
	}
}

func idRows(id apitype.IDInfo) []kv {
	rows := []kv{
		{"peer ID", id.PeerID},
		{"address", id.Address},
		{"public key", id.PublicKey},
	}
	// A daemon on the network lists its addresses, one a line.
	for i, a := range id.Listen {
		k := ""
		if i == 0 {
			k = "listen"
		}
		rows = append(rows, kv{k, a})
	}
	return rows
}

func statusCmd() *command {
	return &command{
		name:    "status",
		summary: "report the running daemon: addresses, uptime, peers, store usage",
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			return c.onDaemon("", func(ctx context.Context, api apitype.API, args []string) error {
				st, err := api.Status(ctx)
				if err != nil {
					return err
				}
				if *asJSON {
					return printJSON(c.stdout, st)
				}
				return printKV(c.stdout, statusRows(st))
			})
		},
	}
}

func statusRows(st apitype.Status) []kv {
	rows := []kv{
		{"version", st.Version},
		{"uptime", fmt.Sprintf("%s (since %s)", time.Duration(st.Uptime)*time.Second, st.Started.Local().Format("2006-01-02 15:04:05"))},
		{"API", httpURL(st.API)},
		{"gateway", httpURL(st.Gateway)},
	}
	rows = append(rows, idRows(st.ID)...)
	peers := fmt.Sprint(st.Peers)
	if st.Alone != "" {
		peers += " (" + st.Alone + ")"
	}
	rows = append(rows,
		kv{"overlay", orDash(st.Overlay)},
		kv{"peers", peers},
		kv{"DHT", orDash(st.DHT)},
		kv{"packages", fmt.Sprint(st.Packages)},
		kv{"disk", usageLine(st.Store.DiskUsed, st.Store.Disk)},
	)
	return rows
}
