package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/myconet/myconet/node/apitype"
)

func peersCmd() *command {
	return &command{
		name:    "peers",
		summary: "list connected peers: ID, direction, latency, addresses",
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			return c.onDaemon("", func(ctx context.Context, api apitype.API, args []string) error {
				peers, err := api.Peers(ctx)
				if err != nil {
					return err
				}
				return emitList(c, *asJSON, "peers", peers, printPeers)
			})
		},
	}
}

func printPeers(w io.Writer, peers []apitype.PeerInfo) error {
	if len(peers) == 0 {
		_, err := fmt.Fprintln(w, "no peers")
		return err
	}
	tw := newTable(w)
	fmt.Fprintf(tw, "PEER\tDIRECTION\tPATH\tLATENCY\tADDRESSES\n")
	for _, p := range peers {
		path := p.Path
		if path == "" && p.Relayed {
			path = "relayed"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.ID, p.Direction, orDash(path), orDash(p.LatencyText()), orDash(strings.Join(p.Addrs, " ")))
	}
	return tw.Flush()
}

func connectCmd() *command {
	return &command{
		name:    "connect",
		args:    "MULTIADDR",
		summary: "connect to a peer (…/p2p/<peer-id>) and remember it",
		detail:  "A peer's addresses are in the listen line of its `myconet id`.",
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			return c.onDaemon("MULTIADDR", func(ctx context.Context, api apitype.API, args []string) error {
				p, err := api.Connect(ctx, args[0])
				if err != nil {
					return err
				}
				if *asJSON {
					return printJSON(c.stdout, p)
				}
				_, err = fmt.Fprintf(c.stdout, "connected to %s\n", p.ID)
				return err
			})
		},
	}
}

func providersCmd() *command {
	return &command{
		name:    "providers",
		args:    "MRI",
		summary: "list the nodes that hold a package, as the DHT knows them",
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			return c.onDaemon("MRI", func(ctx context.Context, api apitype.API, args []string) error {
				provs, err := api.Providers(ctx, args[0])
				if err != nil {
					return err
				}
				if *asJSON {
					return printJSON(c.stdout, apitype.ProvidersResponse{Providers: provs})
				}
				return printProviders(c.stdout, provs)
			})
		},
	}
}

func printProviders(w io.Writer, provs []apitype.ProviderInfo) error {
	if len(provs) == 0 {
		_, err := fmt.Fprintln(w, "no providers found")
		return err
	}
	tw := newTable(w)
	fmt.Fprintf(tw, "PEER\tADDRESSES\n")
	for _, p := range provs {
		id := p.ID
		if p.Self {
			id += " (this node)"
		}
		fmt.Fprintf(tw, "%s\t%s\n", id, orDash(strings.Join(p.Addrs, " ")))
	}
	return tw.Flush()
}
