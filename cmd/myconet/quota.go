package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"

	"github.com/myconet/myconet/node/apitype"
)

func quotaCmd() *command {
	return &command{
		name:    "quota",
		summary: "set and show the node's resource limits",
		subs: []*command{
			{
				name:    "set",
				args:    "RESOURCE VALUE",
				summary: "set a limit: disk, upload, download, memory, connections, replicas or cpu",
				detail: `VALUE is a size for disk, memory and replicas (500MB, 20GB, 1.5GiB), a rate for
upload and download (10MB/s), a count or "auto" for connections and cpu. "unlimited" lifts
a size or rate limit; 0 means zero, never "no limit": "replicas 0" takes no replicas of
other people's content, and a zero disk, memory, upload or download is refused.
The limit is written to the config file and applies to a running daemon at once.`,
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					return c.onNode("RESOURCE VALUE", func(ctx context.Context, api apitype.API, args []string) error {
						q, err := api.SetQuota(ctx, args[0], args[1])
						if err != nil {
							return err
						}
						return emit(c, *asJSON, q, printQuota)
					})
				},
			},
			{
				name:    "show",
				summary: "show limits with current usage",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					return c.onNode("", func(ctx context.Context, api apitype.API, args []string) error {
						q, err := api.Quota(ctx)
						if err != nil {
							return err
						}
						return emit(c, *asJSON, q, printQuota)
					})
				},
			},
		},
	}
}

// usageLine renders "1.2 GB of 10.0 GB (12%)", or "1.2 GB (unlimited)".
// A limit of 0 (replicas) renders as "1.2 GB held (takes none)".
func usageLine(used, limit int64) string {
	if limit < 0 {
		return apitype.FormatSize(used) + " (unlimited)"
	}
	if limit == 0 {
		return fmt.Sprintf("%s held (takes none)", apitype.FormatSize(used))
	}
	pct := float64(used) * 100 / float64(limit)
	return fmt.Sprintf("%s of %s (%.0f%%)", apitype.FormatSize(used), apitype.FormatSize(limit), pct)
}

// quotaRows is the human table of `quota show`.
func quotaRows(q apitype.QuotaInfo) []kv {
	rate := func(n int64) string {
		if n < 0 {
			return "unlimited"
		}
		return apitype.FormatSize(n) + "/s"
	}
	count := func(n int64, zero string) string {
		if n == 0 {
			return zero
		}
		return fmt.Sprint(n)
	}
	moved := func(limit string, n int64, verb string) string {
		if n == 0 {
			return limit
		}
		return fmt.Sprintf("%s (%s %s since the daemon started)", limit, apitype.FormatSize(n), verb)
	}
	rows := []kv{
		{"disk", usageLine(q.DiskUsed, q.Disk)},
		{"replicas", usageLine(q.ByReason["replica"], q.Replicas)},
		{"upload", moved(rate(q.Upload), q.Uploaded, "sent")},
		{"download", moved(rate(q.Download), q.Downloaded, "received")},
		{"memory", apitype.FormatLimit(q.Memory)},
		{"connections", count(q.Conns, "automatic")},
		{"cpu", count(q.CPU, "automatic (2)")},
		{"packages", fmt.Sprint(q.Packages)},
		{"pins", fmt.Sprint(q.PinsCount)},
		{"blocks", fmt.Sprint(q.Blocks)},
	}
	reasons := make([]string, 0, len(q.ByReason))
	for r := range q.ByReason {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		rows = append(rows, kv{"  " + r, apitype.FormatSize(q.ByReason[r])})
	}
	return rows
}

func printQuota(w io.Writer, q apitype.QuotaInfo) error {
	tw := newTable(w)
	for _, r := range quotaRows(q) {
		fmt.Fprintf(tw, "%s\t%s\n", r.k, r.v)
	}
	return tw.Flush()
}
