package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/myconet/myconet/node/apitype"
)

func voteCmd() *command {
	return &command{
		name:    "vote",
		args:    "MRI keep|remove [--reason TEXT]",
		summary: "vote keep or remove on a package (signed, with proof of work, sent to its aggregators)",
		detail: `The vote is signed with this node's key and stamped with proof of work
(moderation.pow_bits; about a second of one core by default), then delivered to the
package's aggregators: the nodes closest to its poll key in the DHT. A later vote by
this node replaces the earlier one. Votes are public: anyone can see which key voted.`,
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			reason := fs.String("reason", "", "why (at most 280 bytes; public)")
			return c.onDaemon("MRI CHOICE", func(ctx context.Context, api apitype.API, args []string) error {
				if args[1] != "keep" && args[1] != "remove" {
					return usagef("choice must be keep or remove, got %q", args[1])
				}
				stop := c.working("computing proof of work and delivering the vote")
				d, err := api.Vote(ctx, apitype.VoteRequest{Ref: args[0], Choice: args[1], Reason: *reason})
				stop()
				if err != nil {
					return err
				}
				return emit(c, *asJSON, d, printDelivery)
			})
		},
	}
}

func annotateCmd() *command {
	return &command{
		name:    "annotate",
		args:    "MRI [--tag T]... [--title-translation LANG=TEXT]... [--note TEXT]",
		summary: "add community tags, translated titles or a note to a package",
		detail: `An annotation is signed and delivered like a vote; a later one by this node
replaces the earlier one (an empty one withdraws it). ` + "`myconet info`" + ` shows what
annotations say with how many distinct people said each, and search indexes their tags.`,
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			var tags, titles stringList
			fs.Var(&tags, "tag", "a tag (repeatable)")
			fs.Var(&titles, "title-translation", "the title in another language, `LANG=TEXT` (repeatable)")
			note := fs.String("note", "", "a note (at most 1024 bytes)")
			return c.onDaemon("MRI", func(ctx context.Context, api apitype.API, args []string) error {
				req := apitype.AnnotateRequest{Ref: args[0], Tags: tags, Note: *note}
				for _, t := range titles {
					lang, text, ok := strings.Cut(t, "=")
					if !ok || lang == "" || text == "" {
						return usagef("--title-translation wants LANG=TEXT, got %q", t)
					}
					if req.Titles == nil {
						req.Titles = map[string]string{}
					}
					req.Titles[lang] = text
				}
				stop := c.working("computing proof of work and delivering the annotation")
				d, err := api.Annotate(ctx, req)
				stop()
				if err != nil {
					return err
				}
				return emit(c, *asJSON, d, printDelivery)
			})
		},
	}
}

func tallyCmd() *command {
	return &command{
		name:    "tally",
		args:    "MRI [--json] [--verify]",
		summary: "gather a package's signed tallies from its aggregators and show this node's decision",
		detail: `Each aggregator signs a tally (counts and a digest of the votes it counted). This node
combines them with its policy (moderation.* in the config): the median of the tallies,
at least moderation.min_votes votes, remove when at least moderation.remove_ratio of
them say remove. --verify fetches the votes behind every tally and recounts them; a
tally that does not match its votes is dropped.`,
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			verify := fs.Bool("verify", false, "fetch the votes behind each tally and recount them")
			return c.onDaemon("MRI", func(ctx context.Context, api apitype.API, args []string) error {
				r, err := api.Tally(ctx, args[0], *verify)
				if err != nil {
					return err
				}
				return emit(c, *asJSON, r, printTally)
			})
		},
	}
}

func moderationCmd() *command {
	rule := func(name, summary string) *command {
		return &command{
			name:    name,
			args:    "MRI",
			summary: summary,
			setup: func(c *cli, fs *flag.FlagSet) runFunc {
				asJSON := jsonFlag(c, fs)
				return c.onNode("MRI", func(ctx context.Context, api apitype.API, args []string) error {
					r, err := api.ModerationSet(ctx, args[0], name)
					if err != nil {
						return err
					}
					return emit(c, *asJSON, r, func(w io.Writer, r apitype.ModerationRule) error {
						if r.Rule == "" {
							_, err := fmt.Fprintf(w, "%s: local rule cleared; the community decision applies\n", r.Package)
							return err
						}
						_, err := fmt.Fprintf(w, "%s: %s on this node (beats the community decision here only)\n", r.Package, r.Rule)
						return err
					})
				})
			},
		}
	}
	return &command{
		name:    "moderation",
		summary: "this node's moderation: why a package is withheld, local allow/deny rules",
		subs: []*command{
			{
				name:    "why",
				args:    "MRI",
				summary: "why this node serves or withholds a package: tallies, thresholds, local rule",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					return c.onNode("MRI", func(ctx context.Context, api apitype.API, args []string) error {
						r, err := api.ModerationWhy(ctx, args[0])
						if err != nil {
							return err
						}
						return emit(c, *asJSON, r, printTally)
					})
				},
			},
			rule("allow", "serve a package on this node whatever the community decides"),
			rule("deny", "withhold a package on this node whatever the community decides"),
			rule("clear", "remove this node's own rule for a package"),
			{
				name:    "ls",
				summary: "list this node's local allow and deny rules",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					return c.onNode("", func(ctx context.Context, api apitype.API, args []string) error {
						rules, err := api.ModerationRules(ctx)
						if err != nil {
							return err
						}
						return emitList(c, *asJSON, "rules", rules, printRules)
					})
				},
			},
		},
	}
}

// working prints what a long call is doing, with the time spent, on
// stderr; the returned func ends the line.
func (c *cli) working(what string) (stop func()) {
	start := time.Now()
	if !c.stderrTTY {
		fmt.Fprintf(c.stderr, "%s…\n", what)
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			fmt.Fprintf(c.stderr, "\r%s… %.1fs", what, time.Since(start).Seconds())
			select {
			case <-done:
				fmt.Fprintf(c.stderr, "\r%s… %.1fs\n", what, time.Since(start).Seconds())
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

func printDelivery(w io.Writer, d apitype.Delivery) error {
	what := d.Kind
	if d.Choice != "" {
		what = d.Choice + " vote"
	}
	fmt.Fprintf(w, "%s on %s: proof of work %d bits in %.2fs; accepted by %d of %d aggregators\n",
		what, d.Package, d.WorkBits, d.WorkSeconds, d.Accepted, len(d.Aggregators))
	tw := newTable(w)
	for _, a := range d.Aggregators {
		res := a.Result
		if a.Error != "" {
			res = "error: " + a.Error
		}
		fmt.Fprintf(tw, "  %s\t%s\n", a.Peer, res)
	}
	return tw.Flush()
}

func printTally(w io.Writer, r apitype.TallyReport) error {
	if r.Explanation != "" { // moderation why: the decision in words first
		fmt.Fprintf(w, "%s\n\n", wrapText(r.Explanation, 78))
	}
	state := "served"
	if r.Withheld {
		state = "WITHHELD"
	}
	rows := []kv{
		{"package", r.Package},
		{"decision", fmt.Sprintf("%s (%s on this node)", r.Decision, state)},
		{"why", r.Reason},
		{"votes", fmt.Sprintf("%d keep, %d remove (counted, combined)", r.Keep, r.Remove)},
		{"local rule", orDash(r.Local)},
		{"policy", fmt.Sprintf("min_votes %d, remove_ratio %.3g, min_tallies %d, %d aggregators, pow %d bits",
			r.Policy.MinVotes, r.Policy.RemoveRatio, r.Policy.MinTallies, r.Policy.Aggregators, r.Policy.PowBits)},
	}
	if len(r.Policy.Trusted) > 0 {
		rows = append(rows, kv{"trusted", strings.Join(r.Policy.Trusted, ", ")})
	}
	if len(r.Policy.Distrusted) > 0 {
		rows = append(rows, kv{"distrusted", strings.Join(r.Policy.Distrusted, ", ")})
	}
	if !r.Checked.IsZero() {
		checked := r.Checked.Local().Format("2006-01-02 15:04:05 MST")
		if r.Stale {
			checked += fmt.Sprintf(" (stale: %s ago)", time.Duration(r.Age)*time.Second)
		}
		rows = append(rows, kv{"checked", checked})
	}
	if r.Retracted != "" {
		rows = append(rows, kv{"retracted", r.Retracted})
	}
	if err := printKV(w, rows); err != nil {
		return err
	}
	if len(r.Tallies) > 0 {
		fmt.Fprintln(w, "tallies:")
		tw := newTable(w)
		fmt.Fprintf(tw, "  SIGNER\tKEEP\tREMOVE\tDIGEST\tUSED\n")
		for _, t := range r.Tallies {
			used := "yes"
			if !t.Used {
				used = "no: " + t.Ignored
			}
			if t.Recount != "" {
				used += ", recount " + t.Recount
			}
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%.16s\t%s\n", t.Signer, t.Keep, t.Remove, t.Digest, used)
		}
		tw.Flush()
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "  not counted: %s\n", e)
	}
	return nil
}

func printRules(w io.Writer, rules []apitype.ModerationRule) error {
	if len(rules) == 0 {
		_, err := fmt.Fprintln(w, "no local moderation rules")
		return err
	}
	tw := newTable(w)
	fmt.Fprintf(tw, "RULE\tPACKAGE\tTITLE\n")
	for _, r := range rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Rule, r.Package, orDash(r.Title))
	}
	return tw.Flush()
}

// annotationRows are info's rows for community annotations.
func annotationRows(a *apitype.Annotations) []kv {
	if a == nil {
		return nil
	}
	people := func(cs []apitype.AnnotationCount) string {
		var parts []string
		for _, c := range cs {
			parts = append(parts, fmt.Sprintf("%s (%d %s)", c.Value, c.People, plural(c.People, "person", "people")))
		}
		return strings.Join(parts, ", ")
	}
	rows := []kv{{"annotations", fmt.Sprintf("%d %s", a.People, plural(a.People, "person", "people"))}}
	if len(a.Tags) > 0 {
		rows = append(rows, kv{"  tags", people(a.Tags)})
	}
	for lang, ts := range a.Titles {
		rows = append(rows, kv{"  title " + lang, people(ts)})
	}
	for _, n := range a.Notes {
		rows = append(rows, kv{"  note", fmt.Sprintf("%q (%d %s)", n.Value, n.People, plural(n.People, "person", "people"))})
	}
	return rows
}

// wrapText breaks s into lines of at most width runes at spaces.
func wrapText(s string, width int) string {
	var b strings.Builder
	line := 0
	for _, word := range strings.Fields(s) {
		n := len([]rune(word))
		if line > 0 && line+1+n > width {
			b.WriteByte('\n')
			line = 0
		} else if line > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(word)
		line += n
	}
	return b.String()
}
