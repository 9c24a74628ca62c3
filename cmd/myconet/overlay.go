package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/myconet/myconet/node/apitype"
)

func pingCmd() *command {
	return &command{
		name:    "ping",
		args:    "ADDR",
		summary: "ping an overlay address through the daemon (no TUN needed): reachability and RTT",
		detail: `Sends ICMPv6 echo requests from this node's overlay address through the
daemon's overlay router, as ping -6 would through the TUN. The first request
may wait while the address resolves (DHT) and the node connects.
Exit status 1 when no reply came back.`,
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			count := fs.Int("c", 4, "stop after `N` replies or timeouts (1..100)")
			interval := fs.Duration("i", time.Second, "wait `DURATION` between requests")
			size := fs.Int("s", 56, "`BYTES` of data per request")
			timeout := fs.Duration("W", 5*time.Second, "wait up to `DURATION` for each reply")
			return func(ctx context.Context, args []string) error {
				if err := wantArgs(args, "ADDR"); err != nil {
					return err
				}
				if *count < 1 || *count > 100 {
					return usagef("-c: want 1..100, got %d", *count)
				}
				api, closeAPI, err := c.connectDaemon(ctx)
				if err != nil {
					return err
				}
				defer closeAPI()
				opts := apitype.PingOptions{Count: *count, Size: *size, Interval: *interval, Timeout: *timeout}
				var res apitype.PingResult
				if *asJSON {
					if res, err = api.Ping(ctx, args[0], opts); err != nil {
						return err
					}
					if err := printJSON(c.stdout, res); err != nil {
						return err
					}
				} else if res, err = pingLines(ctx, c.stdout, api, args[0], opts); err != nil {
					return err
				}
				if res.Received == 0 {
					return fmt.Errorf("no reply from %s", args[0])
				}
				return nil
			}
		},
	}
}

// pingLines pings one request per API call, printing a line for each as
// ping does, then the summary; an interrupt ends it early with the summary.
func pingLines(ctx context.Context, w io.Writer, api apitype.API, addr string, opts apitype.PingOptions) (apitype.PingResult, error) {
	total := apitype.PingResult{Addr: addr}
	var sum float64
	for i := range opts.Count {
		if i > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(opts.Interval):
			}
		}
		if ctx.Err() != nil {
			break
		}
		one := opts
		one.Count, one.Seq = 1, i
		res, err := api.Ping(ctx, addr, one)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return total, err
		}
		if i == 0 {
			fmt.Fprintf(w, "PING %s: %d data bytes through the overlay\n", res.Addr, opts.Size)
		}
		total.Addr, total.Peer, total.Path = res.Addr, res.Peer, res.Path
		for _, r := range res.Replies {
			total.Sent++
			if r.Error != "" {
				fmt.Fprintf(w, "seq=%d %s\n", r.Seq, r.Error)
				continue
			}
			total.Received++
			sum += r.RTT
			if total.MinRTT == 0 || r.RTT < total.MinRTT {
				total.MinRTT = r.RTT
			}
			total.MaxRTT = max(total.MaxRTT, r.RTT)
			fmt.Fprintf(w, "%d bytes from %s: seq=%d time=%.3f ms (%s)\n", r.Bytes, res.Addr, r.Seq, r.RTT, orDash(res.Path))
		}
	}
	loss := 100.0
	if total.Sent > 0 {
		loss = 100 * float64(total.Sent-total.Received) / float64(total.Sent)
	}
	fmt.Fprintf(w, "--- %s ping statistics ---\n", total.Addr)
	fmt.Fprintf(w, "%d sent, %d received, %.0f%% loss", total.Sent, total.Received, loss)
	if total.Peer != "" {
		fmt.Fprintf(w, ", peer %s", total.Peer)
	}
	fmt.Fprintln(w)
	if total.Received > 0 {
		total.AvgRTT = sum / float64(total.Received)
		fmt.Fprintf(w, "rtt min/avg/max = %.3f/%.3f/%.3f ms\n", total.MinRTT, total.AvgRTT, total.MaxRTT)
	}
	return total, nil
}

func routesCmd() *command {
	return &command{
		name:    "routes",
		summary: "list overlay addresses the daemon knows: their peers and the path in use",
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			return c.onDaemon("", func(ctx context.Context, api apitype.API, args []string) error {
				routes, err := api.Routes(ctx)
				if err != nil {
					return err
				}
				return emitList(c, *asJSON, "routes", routes, printRoutes)
			})
		},
	}
}

func printRoutes(w io.Writer, routes []apitype.RouteInfo) error {
	if len(routes) == 0 {
		_, err := fmt.Fprintln(w, "no routes")
		return err
	}
	tw := newTable(w)
	fmt.Fprintf(tw, "ADDRESS\tPEER\tSTATE\tPATH\n")
	for _, r := range routes {
		state := r.State
		if r.Error != "" {
			state += ": " + r.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Addr, orDash(r.Peer), state, r.Path)
	}
	return tw.Flush()
}

func firewallCmd() *command {
	edit := func(action string) *command {
		summary := "open PORT to overlay peers (all of them, or --from ADDR|PREFIX)"
		if action == "deny" {
			summary = "refuse PORT to overlay peers (all, or --from ADDR|PREFIX)"
		}
		return &command{
			name:    action,
			args:    "tcp|udp PORT",
			summary: summary,
			setup: func(c *cli, fs *flag.FlagSet) runFunc {
				asJSON := jsonFlag(c, fs)
				from := fs.String("from", "", "only for packets from `ADDR` or PREFIX (IPv6)")
				return func(ctx context.Context, args []string) error {
					if err := wantArgs(args, "tcp|udp", "PORT"); err != nil {
						return err
					}
					return c.firewallEdit(ctx, *asJSON, true, ruleText(action, args, *from))
				}
			},
		}
	}
	return &command{
		name:    "firewall",
		summary: "the overlay firewall: what other nodes may reach on this one",
		detail: `By default nothing on this node is reachable from the overlay except ICMPv6
echo; replies to connections this node opened pass. Rules live in the config
(overlay.firewall) and apply to a running daemon at once.

For each packet the most specific matching rule decides, whatever the order
the rules were added in: a rule --from one address beats one --from a prefix
holding it, a longer prefix beats a shorter one, and any --from beats a rule
for everyone. Between equally specific rules, deny wins. So
  firewall allow tcp 8000 ; firewall deny tcp 8000 --from ADDR
opens 8000 to everyone but ADDR, and
  firewall deny tcp 22 ; firewall allow tcp 22 --from PREFIX
opens 22 to PREFIX only. "firewall ls" lists the rules in the order they
apply: the first that matches a packet decides.`,
		subs: []*command{
			edit("allow"),
			edit("deny"),
			{
				name:    "rm",
				args:    "tcp|udp PORT",
				summary: "remove the rule for PORT (and --from ADDR|PREFIX)",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					from := fs.String("from", "", "the rule's source `ADDR` or PREFIX")
					return func(ctx context.Context, args []string) error {
						if err := wantArgs(args, "tcp|udp", "PORT"); err != nil {
							return err
						}
						return c.firewallEdit(ctx, *asJSON, false, ruleText("deny", args, *from))
					}
				},
			},
			{
				name:    "ls",
				summary: "list the rules in the order they apply (the first match decides)",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					return c.onNode("", func(ctx context.Context, api apitype.API, args []string) error {
						fw, err := api.Firewall(ctx)
						if err != nil {
							return err
						}
						return printFirewall(c.stdout, *asJSON, fw)
					})
				},
			},
		},
	}
}

func ruleText(action string, args []string, from string) string {
	s := action + " " + strings.Join(args, " ")
	if from != "" {
		s += " from " + from
	}
	return s
}

func (c *cli) firewallEdit(ctx context.Context, asJSON, add bool, rule string) error {
	api, closeAPI, err := c.connect(ctx, c.home)
	if err != nil {
		return err
	}
	defer closeAPI()
	var fw apitype.FirewallInfo
	if add {
		fw, err = api.FirewallAdd(ctx, rule)
	} else {
		fw, err = api.FirewallRemove(ctx, rule)
	}
	if err != nil {
		return err
	}
	return printFirewall(c.stdout, asJSON, fw)
}

func printFirewall(w io.Writer, asJSON bool, fw apitype.FirewallInfo) error {
	if asJSON {
		return printJSON(w, fw)
	}
	if len(fw.Rules) == 0 {
		_, err := fmt.Fprintln(w, "no rules: only ICMPv6 echo and replies to this node's own connections get in")
		return err
	}
	for _, r := range fw.Rules {
		if _, err := fmt.Fprintln(w, r); err != nil {
			return err
		}
	}
	return nil
}

// cpuProfile starts a CPU profile into the file $MYCONET_CPUPROFILE names,
// if set, for benchmarks (bench/overlay); the returned func stops it.
func cpuProfile() func() {
	path := os.Getenv("MYCONET_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "myconet: MYCONET_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		fmt.Fprintf(os.Stderr, "myconet: MYCONET_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
