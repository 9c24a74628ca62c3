package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/myconet/myconet/node/apitype"
)

// progressBar draws one self-overwriting status line on a terminal. A nil
// *progressBar draws nothing, so callers need not check whether stderr is a
// terminal.
type progressBar struct {
	w     io.Writer
	label string
	now   func() time.Time
	start time.Time
	last  time.Time
	drawn bool
	final apitype.Progress
}

// progressInterval is the shortest time between two redraws.
const progressInterval = 100 * time.Millisecond

// newProgress returns a bar on c's stderr, or nil when stderr is not a terminal.
func (c *cli) newProgress(label string) *progressBar {
	if !c.stderrTTY {
		return nil
	}
	return &progressBar{w: c.stderr, label: label, now: time.Now, start: time.Now()}
}

// update is a progress callback for the API.
func (b *progressBar) update(p apitype.Progress) {
	if b == nil {
		return
	}
	b.final = p
	t := b.now()
	if b.drawn && t.Sub(b.last) < progressInterval {
		return
	}
	b.last = t
	b.drawn = true
	fmt.Fprintf(b.w, "\r%s\x1b[K", renderProgress(b.label, p, t.Sub(b.start)))
}

// callback returns update, or nil for a nil bar (so the API skips reporting).
func (b *progressBar) callback() func(apitype.Progress) {
	if b == nil {
		return nil
	}
	return b.update
}

// done erases the bar.
func (b *progressBar) done() {
	if b == nil || !b.drawn {
		return
	}
	fmt.Fprint(b.w, "\r\x1b[K")
}

// barWidth is the number of cells inside the brackets.
const barWidth = 24

// renderProgress renders a progress line:
//
//	add [=========>              ]  38%  40.0 MB / 104.9 MB  12.5 MB/s  3 files
//
//	fetch  40.0 MB  12.5 MB/s  40 blocks  2 providers
//
// Without a known total it shows no bar and no percentage. Blocks and
// providers show for network fetches (Providers > 0).
func renderProgress(label string, p apitype.Progress, elapsed time.Duration) string {
	var b strings.Builder
	b.WriteString(label)
	if p.Total > 0 {
		frac := float64(p.Bytes) / float64(p.Total)
		frac = min(max(frac, 0), 1)
		fill := int(frac * barWidth)
		b.WriteString(" [")
		switch {
		case fill >= barWidth:
			b.WriteString(strings.Repeat("=", barWidth))
		default:
			b.WriteString(strings.Repeat("=", fill))
			b.WriteString(">")
			b.WriteString(strings.Repeat(" ", barWidth-fill-1))
		}
		fmt.Fprintf(&b, "] %3d%%  %s / %s", int(frac*100), apitype.FormatSize(p.Bytes), apitype.FormatSize(p.Total))
	} else {
		fmt.Fprintf(&b, "  %s", apitype.FormatSize(p.Bytes))
	}
	fmt.Fprintf(&b, "  %s", formatRate(p.Bytes, elapsed))
	if p.Files > 0 {
		fmt.Fprintf(&b, "  %d %s", p.Files, plural(p.Files, "file", "files"))
	}
	if p.Providers > 0 {
		fmt.Fprintf(&b, "  %d %s  %d %s", p.Blocks, plural(p.Blocks, "block", "blocks"),
			p.Providers, plural(int64(p.Providers), "provider", "providers"))
	}
	return b.String()
}

// formatRate renders bytes over elapsed as "12.5 MB/s".
func formatRate(bytes int64, elapsed time.Duration) string {
	if elapsed <= 0 {
		return "- MB/s"
	}
	rate := float64(bytes) / elapsed.Seconds()
	return apitype.FormatSize(int64(rate)) + "/s"
}

func plural[N int | int64](n N, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
