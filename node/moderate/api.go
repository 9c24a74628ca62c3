package moderate

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
	"github.com/myconet/myconet/node/internal/svc"
	"github.com/myconet/myconet/store"
)

// ---- API ----

// packageRef resolves ref to a package CID that can have a poll.
func (m *Service) packageRef(ctx context.Context, ref string) (cid.Cid, error) {
	if m.opt.Resolve == nil {
		return cid.Undef, apitype.Errorf(apitype.CodeInvalid, "moderation: cannot resolve %q here", ref)
	}
	r, err := m.opt.Resolve(ctx, ref)
	if err != nil {
		return cid.Undef, err
	}
	if !isPackageCID(r.Root) {
		return cid.Undef, apitype.Errorf(apitype.CodeInvalid, "%s is not a package (votes and annotations name a package root)", r.Root)
	}
	return r.Root, nil
}

// Vote signs a vote on the package req.Ref names, with the proof of work
// the policy asks for, and delivers it to the package's aggregators
// (Node.Vote). Offline it fails with CodeNoDaemon.
func (m *Service) Vote(ctx context.Context, req apitype.VoteRequest) (apitype.Delivery, error) {
	choice, err := moderation.ParseChoice(req.Choice)
	if err != nil {
		return apitype.Delivery{}, apitype.Errorf(apitype.CodeInvalid, "vote: want keep or remove, got %q", req.Choice)
	}
	c, err := m.packageRef(ctx, req.Ref)
	if err != nil {
		return apitype.Delivery{}, err
	}
	ns := m.network()
	if ns == nil || ns.mod == nil {
		return apitype.Delivery{}, apitype.Errorf(apitype.CodeNoDaemon, "vote needs the network: start `myconet daemon`")
	}
	s := m.modSettings()
	start := time.Now()
	v, err := moderation.NewVote(m.key, c, choice, req.Reason, m.now(), s.powBits)
	if err != nil {
		return apitype.Delivery{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	took := time.Since(start)
	rec, err := v.Encode()
	if err != nil {
		return apitype.Delivery{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	d := apitype.Delivery{Package: c.String(), Kind: "vote", Choice: choice.String(), Author: m.self.String(),
		WorkBits: s.powBits, WorkSeconds: took.Seconds()}
	m.deliver(ctx, ns, c, modOpVote, rec, s, &d)
	m.forgetDecision(c)
	if d.Accepted == 0 {
		return d, fmt.Errorf("vote reached no aggregator of %s (%s)", c, deliveryErrors(d))
	}
	return d, nil
}

// Annotate signs an annotation (tags, titles, a note) on a package and
// delivers it to the package's aggregators; the author sees it at once
// (Node.Annotate). Offline it fails with CodeNoDaemon.
func (m *Service) Annotate(ctx context.Context, req apitype.AnnotateRequest) (apitype.Delivery, error) {
	c, err := m.packageRef(ctx, req.Ref)
	if err != nil {
		return apitype.Delivery{}, err
	}
	ns := m.network()
	if ns == nil || ns.mod == nil {
		return apitype.Delivery{}, apitype.Errorf(apitype.CodeNoDaemon, "annotate needs the network: start `myconet daemon`")
	}
	a := moderation.Annotation{Target: c, Tags: slices.Clone(req.Tags), Note: req.Note}
	sort.Strings(a.Tags)
	a.Tags = slices.Compact(a.Tags)
	if len(req.Titles) > 0 {
		a.Titles = req.Titles
	}
	s := m.modSettings()
	start := time.Now()
	a, err = moderation.NewAnnotation(m.key, a, m.now(), s.powBits)
	if err != nil {
		return apitype.Delivery{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	took := time.Since(start)
	rec, err := a.Encode()
	if err != nil {
		return apitype.Delivery{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	d := apitype.Delivery{Package: c.String(), Kind: "annotation", Author: m.self.String(), WorkBits: s.powBits, WorkSeconds: took.Seconds()}
	m.deliver(ctx, ns, c, modOpAnnotate, rec, s, &d)
	// The author sees it at once, aggregator or not.
	if _, err := m.storeAnnotation(a, rec); err == nil || errors.Is(err, errDuplicate) {
		m.opt.Reindex(c)
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
func (m *Service) deliver(ctx context.Context, ns *netSession, c cid.Cid, op modOp, rec []byte, s modSettings, d *apitype.Delivery) {
	aggs, _ := m.aggregators(ctx, ns, c, s.aggregators)
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
			case p == m.self && op == modOpVote:
				var r string
				r, err = m.acceptVote(p, c, rec)
				out = []byte(r)
			case p == m.self:
				var r string
				r, err = m.acceptAnnotation(p, c, rec)
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

// Tally gathers fresh tallies about a package (with verify: and recounts
// them from the votes) and decides (Node.Tally). Offline it fails with
// CodeNoDaemon.
func (m *Service) Tally(ctx context.Context, ref string, verify bool) (apitype.TallyReport, error) {
	c, err := m.packageRef(ctx, ref)
	if err != nil {
		return apitype.TallyReport{}, err
	}
	ns := m.network()
	if ns == nil || ns.mod == nil {
		return apitype.TallyReport{}, apitype.Errorf(apitype.CodeNoDaemon, "tally needs the network: start `myconet daemon` (`myconet moderation why` shows the local rules offline)")
	}
	return m.explained(c, m.modDecision(ctx, c, true, verify, lookWait)), nil
}

// Why is the decision about a package and why, waiting at most modWait
// for its tallies; offline, from the kept decision and the local rules
// (Node.ModerationWhy).
func (m *Service) Why(ctx context.Context, ref string) (apitype.TallyReport, error) {
	c, err := m.packageRef(ctx, ref)
	if err != nil {
		return apitype.TallyReport{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, modWait)
	defer cancel()
	return m.explained(c, m.modDecision(wctx, c, false, false, lookWait)), nil
}

// SetRule sets (allow, deny) or clears a local rule on a package
// (Node.ModerationSet).
func (m *Service) SetRule(ctx context.Context, ref, rule string) (apitype.ModerationRule, error) {
	c, err := m.packageRef(ctx, ref)
	if err != nil {
		return apitype.ModerationRule{}, err
	}
	switch rule {
	case "allow", "deny", "clear":
	default:
		return apitype.ModerationRule{}, apitype.Errorf(apitype.CodeInvalid, "moderation rule: want allow, deny or clear, got %q", rule)
	}
	if err := m.db.SetModRule(c.String(), rule == "allow", rule == "clear"); err != nil {
		return apitype.ModerationRule{}, svc.StoreErr(err)
	}
	rules := m.modRules()
	m.mu.Lock()
	if rule == "clear" {
		delete(rules, c.String())
	} else {
		rules[c.String()] = rule == "allow"
	}
	m.mu.Unlock()
	m.opt.Reindex(c)
	out := apitype.ModerationRule{Package: c.String(), Rule: rule}
	if rule == "clear" {
		out.Rule = ""
	}
	if pkg, err := m.loadPackage(c); err == nil && pkg != nil {
		out.Title = pkg.Meta.Title
	}
	return out, nil
}

// Rules lists the local rules (Node.ModerationRules).
func (m *Service) Rules(ctx context.Context) ([]apitype.ModerationRule, error) {
	rules, err := m.db.ModRules()
	if err != nil {
		return nil, svc.StoreErr(err)
	}
	out := []apitype.ModerationRule{}
	for _, r := range rules {
		mr := apitype.ModerationRule{Package: r.Target, Rule: "deny"}
		if r.Allow {
			mr.Rule = "allow"
		}
		if c, err := cid.Decode(r.Target); err == nil {
			if pkg, err := m.loadPackage(c); err == nil && pkg != nil {
				mr.Title = pkg.Meta.Title
			}
		}
		out = append(out, mr)
	}
	return out, nil
}

// ---- annotations on info and in search ----

// annotationSummary summarizes the annotations the store holds on c.
func (m *Service) annotationSummary(c cid.Cid) moderation.Summary {
	recs, err := m.db.ModRecords(store.ModAnnotation, c.Bytes())
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

// Annotations is Info's view of c's annotations (nil when none).
func (m *Service) Annotations(c cid.Cid) *apitype.Annotations {
	if !isPackageCID(c) {
		return nil
	}
	s := m.annotationSummary(c)
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

// AnnotationTags is the 4th argument of search.DocFromMeta: the tags the
// community gave c.
func (m *Service) AnnotationTags(c cid.Cid) []string {
	s := m.annotationSummary(c)
	var out []string
	for _, t := range s.Tags {
		out = append(out, t.Value)
	}
	return out
}
