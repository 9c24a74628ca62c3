package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/moderation"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/store"
)

// ---- API ----

// packageRef resolves ref to a package CID that can have a poll.
func (n *Node) packageRef(ctx context.Context, ref string) (cid.Cid, error) {
	m, err := n.resolveRef(ctx, ref)
	if err != nil {
		return cid.Undef, err
	}
	if !isPackageCID(m.Root) {
		return cid.Undef, apitype.Errorf(apitype.CodeInvalid, "%s is not a package (votes and annotations name a package root)", m.Root)
	}
	return m.Root, nil
}

// Vote implements API.
func (n *Node) Vote(ctx context.Context, req apitype.VoteRequest) (apitype.Delivery, error) {
	choice, err := moderation.ParseChoice(req.Choice)
	if err != nil {
		return apitype.Delivery{}, apitype.Errorf(apitype.CodeInvalid, "vote: want keep or remove, got %q", req.Choice)
	}
	c, err := n.packageRef(ctx, req.Ref)
	if err != nil {
		return apitype.Delivery{}, err
	}
	ns := n.network()
	if ns == nil || ns.mod == nil {
		return apitype.Delivery{}, apitype.Errorf(apitype.CodeNoDaemon, "vote needs the network: start `myconet daemon`")
	}
	s := n.modSettings()
	start := time.Now()
	v, err := moderation.NewVote(n.id.Ed25519(), c, choice, req.Reason, n.now(), s.powBits)
	if err != nil {
		return apitype.Delivery{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	took := time.Since(start)
	rec, err := v.Encode()
	if err != nil {
		return apitype.Delivery{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	d := apitype.Delivery{Package: c.String(), Kind: "vote", Choice: choice.String(), Author: n.id.PeerID.String(),
		WorkBits: s.powBits, WorkSeconds: took.Seconds()}
	n.deliver(ctx, ns, c, modOpVote, rec, s, &d)
	n.forgetDecision(c)
	if d.Accepted == 0 {
		return d, fmt.Errorf("vote reached no aggregator of %s (%s)", c, deliveryErrors(d))
	}
	return d, nil
}

// Annotate implements API.
func (n *Node) Annotate(ctx context.Context, req apitype.AnnotateRequest) (apitype.Delivery, error) {
	c, err := n.packageRef(ctx, req.Ref)
	if err != nil {
		return apitype.Delivery{}, err
	}
	ns := n.network()
	if ns == nil || ns.mod == nil {
		return apitype.Delivery{}, apitype.Errorf(apitype.CodeNoDaemon, "annotate needs the network: start `myconet daemon`")
	}
	a := moderation.Annotation{Target: c, Tags: slices.Clone(req.Tags), Note: req.Note}
	sort.Strings(a.Tags)
	a.Tags = slices.Compact(a.Tags)
	if len(req.Titles) > 0 {
		a.Titles = req.Titles
	}
	s := n.modSettings()
	start := time.Now()
	a, err = moderation.NewAnnotation(n.id.Ed25519(), a, n.now(), s.powBits)
	if err != nil {
		return apitype.Delivery{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	took := time.Since(start)
	rec, err := a.Encode()
	if err != nil {
		return apitype.Delivery{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	d := apitype.Delivery{Package: c.String(), Kind: "annotation", Author: n.id.PeerID.String(), WorkBits: s.powBits, WorkSeconds: took.Seconds()}
	n.deliver(ctx, ns, c, modOpAnnotate, rec, s, &d)
	// The author sees it at once, aggregator or not.
	if _, err := n.storeAnnotation(a, rec); err == nil || errors.Is(err, errDuplicate) {
		n.reindexSearch(c)
	}
	if d.Accepted == 0 {
		return d, fmt.Errorf("annotation reached no aggregator of %s (%s)", c, deliveryErrors(d))
	}
	return d, nil
}

func deliveryErrors(d apitype.Delivery) string {
	if len(d.Aggregators) == 0 {
		return "none found: is the node connected?"
	}
	var errs []string
	for _, a := range d.Aggregators {
		errs = append(errs, a.Peer+": "+a.Error)
	}
	return fmt.Sprint(errs)
}

// deliver sends a vote or annotation to c's aggregators.
func (n *Node) deliver(ctx context.Context, ns *netState, c cid.Cid, op modOp, rec []byte, s modSettings, d *apitype.Delivery) {
	aggs, _ := n.aggregators(ctx, ns, c, s.aggregators)
	d.Aggregators = make([]apitype.AggregatorAnswer, len(aggs))
	var wg sync.WaitGroup
	for i, p := range aggs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ans := &d.Aggregators[i]
			ans.Peer = p.String()
			var out []byte
			var err error
			switch {
			case p == n.id.PeerID && op == modOpVote:
				var r string
				r, err = n.acceptVote(p, c, rec)
				out = []byte(r)
			case p == n.id.PeerID:
				var r string
				r, err = n.acceptAnnotation(p, c, rec)
				out = []byte(r)
			default:
				out, err = ns.mod.ask(ctx, p, modRequest{Op: op, Target: c, Record: rec})
			}
			if err != nil {
				ans.Error = err.Error()
				return
			}
			ans.Result = string(out)
		}()
	}
	wg.Wait()
	for _, a := range d.Aggregators {
		if a.Error == "" {
			d.Accepted++
		}
	}
}

// Tally implements API.
func (n *Node) Tally(ctx context.Context, ref string, verify bool) (apitype.TallyReport, error) {
	c, err := n.packageRef(ctx, ref)
	if err != nil {
		return apitype.TallyReport{}, err
	}
	ns := n.network()
	if ns == nil || ns.mod == nil {
		return apitype.TallyReport{}, apitype.Errorf(apitype.CodeNoDaemon, "tally needs the network: start `myconet daemon` (`myconet moderation why` shows the local rules offline)")
	}
	return n.explained(c, n.modDecision(ctx, c, true, verify, lookWait)), nil
}

// ModerationWhy implements API.
func (n *Node) ModerationWhy(ctx context.Context, ref string) (apitype.TallyReport, error) {
	c, err := n.packageRef(ctx, ref)
	if err != nil {
		return apitype.TallyReport{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, modWait)
	defer cancel()
	return n.explained(c, n.modDecision(wctx, c, false, false, lookWait)), nil
}

// ModerationSet implements API.
func (n *Node) ModerationSet(ctx context.Context, ref, rule string) (apitype.ModerationRule, error) {
	c, err := n.packageRef(ctx, ref)
	if err != nil {
		return apitype.ModerationRule{}, err
	}
	switch rule {
	case "allow", "deny", "clear":
	default:
		return apitype.ModerationRule{}, apitype.Errorf(apitype.CodeInvalid, "moderation rule: want allow, deny or clear, got %q", rule)
	}
	if err := n.db.SetModRule(c.String(), rule == "allow", rule == "clear"); err != nil {
		return apitype.ModerationRule{}, storeErr(err)
	}
	rules := n.modRules()
	n.mod.mu.Lock()
	if rule == "clear" {
		delete(rules, c.String())
	} else {
		rules[c.String()] = rule == "allow"
	}
	n.mod.mu.Unlock()
	n.reindexSearch(c)
	out := apitype.ModerationRule{Package: c.String(), Rule: rule}
	if rule == "clear" {
		out.Rule = ""
	}
	if pkg, err := n.loadPackage(c); err == nil && pkg != nil {
		out.Title = pkg.Meta.Title
	}
	return out, nil
}

// ModerationRules implements API.
func (n *Node) ModerationRules(ctx context.Context) ([]apitype.ModerationRule, error) {
	rules, err := n.db.ModRules()
	if err != nil {
		return nil, storeErr(err)
	}
	out := []apitype.ModerationRule{}
	for _, r := range rules {
		mr := apitype.ModerationRule{Package: r.Target, Rule: "deny"}
		if r.Allow {
			mr.Rule = "allow"
		}
		if c, err := cid.Decode(r.Target); err == nil {
			if pkg, err := n.loadPackage(c); err == nil && pkg != nil {
				mr.Title = pkg.Meta.Title
			}
		}
		out = append(out, mr)
	}
	return out, nil
}

// ---- annotations on info and in search ----

// annotationSummary summarizes the annotations the store holds on c.
func (n *Node) annotationSummary(c cid.Cid) moderation.Summary {
	recs, err := n.db.ModRecords(store.ModAnnotation, c.Bytes())
	if err != nil || len(recs) == 0 {
		return moderation.Summary{}
	}
	anns := make([]moderation.Annotation, 0, len(recs))
	for _, r := range recs {
		if a, err := moderation.DecodeAnnotation(r); err == nil {
			anns = append(anns, a)
		}
	}
	return moderation.Summarize(c, anns)
}

// communityAnnotations is Info's view of c's annotations (nil when none).
func (n *Node) communityAnnotations(c cid.Cid) *apitype.Annotations {
	if !isPackageCID(c) {
		return nil
	}
	s := n.annotationSummary(c)
	if s.Annotators == 0 {
		return nil
	}
	conv := func(cs []moderation.Count) []apitype.AnnotationCount {
		out := make([]apitype.AnnotationCount, len(cs))
		for i, x := range cs {
			out[i] = apitype.AnnotationCount{Value: x.Value, People: x.Annotators}
		}
		return out
	}
	a := &apitype.Annotations{People: s.Annotators, Tags: conv(s.Tags), Notes: conv(s.Notes)}
	if len(s.Titles) > 0 {
		a.Titles = map[string][]apitype.AnnotationCount{}
		for l, ts := range s.Titles {
			a.Titles[l] = conv(ts)
		}
	}
	return a
}

// annotationTags is the 4th argument of search.DocFromMeta: the tags the
// community gave c.
func (n *Node) annotationTags(c cid.Cid) []string {
	s := n.annotationSummary(c)
	var out []string
	for _, t := range s.Tags {
		out = append(out, t.Value)
	}
	return out
}
