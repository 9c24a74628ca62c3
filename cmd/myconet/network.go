package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/myconet/myconet/node"
)

func peersCmd() *command {
	return &command{
		name:    "peers",
		summary: "list connected peers: ID, direction, latency, addresses",
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			return func(ctx context.Context, args []string) error {
				if err := wantArgs(args); err != nil {
					return err
				}
				api, closeAPI, err := c.connectDaemon(ctx)
				if err != nil {
					return err
				}
				defer closeAPI()
				peers, err := api.Peers(ctx)
				if err != nil {
					return err
				}
				if *asJSON {
					if peers == nil {
						peers = []node.PeerInfo{}
					}
					return printJSON(c.stdout, peers)
				}
				return printPeers(c.stdout, peers)
			}
		},
	}
}

func printPeers(w io.Writer, peers []node.PeerInfo) error {
	if len(peers) == 0 {
		_, err := fmt.Fprintln(w, "no peers")
		return err
	}
	tw := newTable(w)
	fmt.Fprintf(tw, "PEER\tDIRECTION\tLATENCY\tADDRESSES\n")
	for _, p := range peers {
		dir := p.Direction
		if p.Relayed {
			dir += " (relayed)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.ID, dir, orDash(p.Latency), orDash(strings.Join(p.Addrs, " ")))
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
			return func(ctx context.Context, args []string) error {
				if err := wantArgs(args, "MULTIADDR"); err != nil {
					return err
				}
				api, closeAPI, err := c.connectDaemon(ctx)
				if err != nil {
					return err
				}
				defer closeAPI()
				p, err := api.Connect(ctx, args[0])
				if err != nil {
					return err
				}
				if *asJSON {
					return printJSON(c.stdout, p)
				}
				_, err = fmt.Fprintf(c.stdout, "connected to %s\n", p.ID)
				return err
			}
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
			return func(ctx context.Context, args []string) error {
				if err := wantArgs(args, "MRI"); err != nil {
					return err
				}
				api, closeAPI, err := c.connectDaemon(ctx)
				if err != nil {
					return err
				}
				defer closeAPI()
				provs, err := api.Providers(ctx, args[0])
				if err != nil {
					return err
				}
				if *asJSON {
					if provs == nil {
						provs = []node.ProviderInfo{}
					}
					return printJSON(c.stdout, node.ProvidersResponse{Providers: provs})
				}
				return printProviders(c.stdout, provs)
			}
		},
	}
}

func printProviders(w io.Writer, provs []node.ProviderInfo) error {
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
