package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/myconet/myconet/node/apitype"
)

// nameInfoCmd is a `name` subcommand that prints one NameInfo. args is
// the synopsis; a last argument in brackets is optional.
func nameInfoCmd(name, args, summary string, daemon bool, call func(ctx context.Context, api apitype.API, args []string) (apitype.NameInfo, error), line func(apitype.NameInfo) string) *command {
	spec := strings.Fields(args)
	optional := len(spec) > 0 && strings.HasPrefix(spec[len(spec)-1], "[")
	return &command{
		name: name, args: args, summary: summary,
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			return func(ctx context.Context, a []string) error {
				need := spec
				if optional && len(a) < len(spec) {
					need = spec[:len(spec)-1]
				}
				if err := wantArgs(a, need...); err != nil {
					return err
				}
				open := c.connect
				if daemon {
					open = func(ctx context.Context, _ string) (apitype.API, func(), error) { return c.connectDaemon(ctx) }
				}
				api, closeAPI, err := open(ctx, c.home)
				if err != nil {
					return err
				}
				defer closeAPI()
				info, err := call(ctx, api, a)
				if err != nil {
					return err
				}
				return emit(c, *asJSON, info, func(w io.Writer, info apitype.NameInfo) error {
					_, err := fmt.Fprintln(w, line(info))
					return err
				})
			}
		},
	}
}

func nameCmd() *command {
	return &command{
		name:    "name",
		summary: "names on the overlay: petnames, names this node publishes, .myco DNS",
		detail: `The daemon answers DNS for .myco (overlay.dns): <peer-id>.myco is that node's
overlay address; a petname (name set) is yours alone; a published name
(name publish) is signed by this node and resolves for anyone as
<name>.<this peer>.myco. ` + "`myconet name ls`" + ` says how the host's resolver reaches the daemon.`,
		subs: []*command{
			nameInfoCmd("set", "NAME TARGET", "give NAME.myco to a peer ID or overlay address (a petname, local)", false,
				func(ctx context.Context, api apitype.API, a []string) (apitype.NameInfo, error) {
					return api.NameSet(ctx, a[0], a[1])
				},
				func(i apitype.NameInfo) string { return i.FQDN + " → " + i.Addr }),
			nameInfoCmd("publish", "NAME [TARGET]", "sign NAME.<this peer>.myco → TARGET (default this node) into the DHT", true,
				func(ctx context.Context, api apitype.API, a []string) (apitype.NameInfo, error) {
					target := ""
					if len(a) > 1 {
						target = a[1]
					}
					return api.NamePublish(ctx, a[0], target)
				},
				func(i apitype.NameInfo) string { return "published " + i.FQDN + " → " + i.Addr }),
			nameInfoCmd("resolve", "NAME", "what a .myco name resolves to, as the DNS server answers", false,
				func(ctx context.Context, api apitype.API, a []string) (apitype.NameInfo, error) {
					return api.NameResolve(ctx, a[0])
				},
				func(i apitype.NameInfo) string { return i.FQDN + " → " + i.Addr + " (" + i.Kind + ")" }),
			{
				name: "rm", args: "NAME", summary: "remove a petname, or stop publishing a name",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					return c.onNode("NAME", func(ctx context.Context, api apitype.API, a []string) error {
						if err := api.NameRm(ctx, a[0]); err != nil {
							return err
						}
						return c.printDone(*asJSON, map[string]string{"removed": a[0]}, "removed "+a[0])
					})
				},
			},
			{
				name: "ls", summary: "list petnames and published names, and the DNS server",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					return c.onNode("", func(ctx context.Context, api apitype.API, a []string) error {
						info, err := api.Names(ctx)
						if err != nil {
							return err
						}
						return emit(c, *asJSON, info, printNames)
					})
				},
			},
		},
	}
}

func printNames(w io.Writer, info apitype.NamesInfo) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "this node\t%s\n", info.Self)
	for _, l := range [][]apitype.NameInfo{info.Petnames, info.Published} {
		for _, n := range l {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", n.FQDN, n.Addr, n.Kind)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case info.DNS != "":
		_, err := fmt.Fprintf(w, "DNS: %s\nresolver: %s\n", info.DNS, info.Setup)
		return err
	default:
		_, err := fmt.Fprintln(w, "DNS: not served (no daemon, no TUN, or overlay.dns = none)")
		return err
	}
}
