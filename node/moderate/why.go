package moderate

import (
	"fmt"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/myconet/myconet/node/apitype"
)

// explained completes a report for a person: the retraction, if any, and
// one paragraph (Explanation) that says what this node does with the
// package and why, with the figures.
func (m *Service) explained(c cid.Cid, r apitype.TallyReport) apitype.TallyReport {
	if rt, ok := m.retractionOf(c); ok {
		r.Retracted = rt.why()
		r.Withheld = true
	}
	r.Explanation = explain(r, m.pinnedLocal(c))
	return r
}

// explain writes the paragraph of a report. pinnedLocal: the owner pinned
// the package local on this node.
func explain(r apitype.TallyReport, pinnedLocal bool) string {
	var b strings.Builder
	say := func(format string, args ...any) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, format, args...)
	}
	if r.Retracted != "" {
		say("This node withholds the package: it was %s.", r.Retracted)
		say("A retraction comes from the publisher's own key and is final: this node no longer serves, replicates, provides or lists it, and its replica and cache copies were dropped.")
		if pinnedLocal {
			say("Its owner pinned it local, so a copy stays readable here, for this node only.")
		} else {
			say("Its owner can still keep a copy by pinning it local (`myconet site get`) while its blocks are here.")
		}
		return b.String()
	}
	switch r.Local {
	case "deny":
		say("This node withholds the package because its owner put it on the local deny list; that rule beats whatever the community decides, on this node only (`myconet moderation clear` removes it).")
		return b.String()
	case "allow":
		say("This node serves the package because its owner put it on the local allow list; that rule beats whatever the community decides, on this node only (`myconet moderation clear` removes it).")
		return b.String()
	}
	used, ignored := 0, 0
	for _, t := range r.Tallies {
		if t.Used {
			used++
		} else {
			ignored++
		}
	}
	p := r.Policy
	total := r.Keep + r.Remove
	switch r.Decision {
	case "remove", "keep":
		verb, cmp := "withholds", "at or above"
		if r.Decision == "keep" {
			verb, cmp = "serves", "below"
		}
		say("This node %s the package because the community voted to %s it: combining the signed tallies of %d of its aggregators (the median of each count, so that a minority of lying aggregators cannot move it), %d votes were counted, %d keep and %d remove, so %.0f%% say remove, %s the %.0f%% this node's policy needs to withhold (with at least %d votes from at least %d tallies).",
			verb, r.Decision, used, total, r.Keep, r.Remove, 100*float64(r.Remove)/float64(max(total, 1)), cmp, 100*p.RemoveRatio, p.MinVotes, p.MinTallies)
	default:
		what := "serves the package: the community has not decided about it"
		switch {
		case strings.Contains(r.Reason, "offline"):
			say("This node %s, and it is offline with no earlier decision kept, so only its local rules apply.", what)
		case strings.Contains(r.Reason, "not gathered yet"):
			say("This node %s yet; it is still asking the package's aggregators.", what)
		case used < p.MinTallies:
			say("This node %s, as only %d of its aggregators gave a usable tally and the policy needs %d.", what, used, p.MinTallies)
		default:
			say("This node %s, as only %d votes were counted (%d keep, %d remove) and the policy needs %d.", what, total, r.Keep, r.Remove, p.MinVotes)
		}
	}
	if ignored > 0 {
		var why []string
		for _, t := range r.Tallies {
			if !t.Used {
				why = append(why, t.Ignored)
			}
		}
		say("%d more tallies were set aside (%s).", ignored, strings.Join(why, "; "))
	}
	if len(r.Errors) > 0 {
		say("%d aggregators did not answer.", len(r.Errors))
	}
	if r.Verified {
		say("Every tally used was recounted from the votes behind it.")
	}
	if r.Stale {
		say("This decision is stale: its tallies were gathered %s ago (%s), before a restart or while no aggregator could be reached, and it stands until they can be asked again.",
			time.Duration(r.Age)*time.Second, r.Checked.UTC().Format("2006-01-02 15:04 MST"))
	}
	return b.String()
}
