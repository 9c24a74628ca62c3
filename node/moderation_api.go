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
	"github.com/myconet/myconet/store"
)

// ---- API ----

// VoteRequest is the body of POST /api/v1/moderation/vote.
type VoteRequest struct {
	Ref    string `json:"ref"`
	Choice string `json:"choice"` // keep | remove
	Reason string `json:"reason,omitempty"`
}

// AnnotateRequest is the body of POST /api/v1/moderation/annotate.
type AnnotateRequest struct {
	Ref    string            `json:"ref"`
	Tags   []string          `json:"tags,omitempty"`
	Titles map[string]string `json:"titles,omitempty"` // language → title
	Note   string            `json:"note,omitempty"`
}

// Delivery is the outcome of Vote and Annotate.
type Delivery struct {
	Package     string             `json:"package"`
	Kind        string             `json:"kind"` // vote | annotation
	Choice      string             `json:"choice,omitempty"`
	Author      string             `json:"author"` // peer ID of the voter or annotator
	WorkBits    int                `json:"work_bits"`
	WorkSeconds float64            `json:"work_seconds"`
	Aggregators []AggregatorAnswer `json:"aggregators"`
	Accepted    int                `json:"accepted"`
}

// AggregatorAnswer is one aggregator's answer to a delivery.
type AggregatorAnswer struct {
	Peer   string `json:"peer"`
	Result string `json:"result,omitempty"` // added, replaced, …
	Error  string `json:"error,omitempty"`
}

// TallyReport is a node's view of a package's poll: the tallies it used
// and ignored, its policy and its decision.
type TallyReport struct {
	Package     string      `json:"package"`
	Decision    string      `json:"decision"` // keep | remove | undecided
	Withheld    bool        `json:"withheld"`
	Reason      string      `json:"reason"`
	Keep        int         `json:"keep"`            // combined counted keep votes
	Remove      int         `json:"remove"`          // combined counted remove votes
	Local       string      `json:"local,omitempty"` // allow | deny: this node's own rule
	Policy      PolicyInfo  `json:"policy"`
	Aggregators int         `json:"aggregators"` // asked
	Tallies     []TallyInfo `json:"tallies"`
	Errors      []string    `json:"errors,omitempty"` // aggregators that did not answer usefully
	Verified    bool        `json:"verified,omitempty"`
	Checked     time.Time   `json:"checked"`               // when the tallies were gathered
	Stale       bool        `json:"stale,omitempty"`       // not refreshed for longer than moderation.refresh
	Age         int64       `json:"age,omitempty"`         // seconds since Checked, when stale
	Retracted   string      `json:"retracted,omitempty"`   // the publisher's retraction, in words
	Explanation string      `json:"explanation,omitempty"` // the decision in one paragraph
}

// PolicyInfo is the policy a decision was made under.
type PolicyInfo struct {
	MinVotes    int      `json:"min_votes"`
	RemoveRatio float64  `json:"remove_ratio"`
	MinTallies  int      `json:"min_tallies"`
	Aggregators int      `json:"aggregators"`
	PowBits     int      `json:"pow_bits"`
	Trusted     []string `json:"trusted"`
	Distrusted  []string `json:"distrusted"`
}

// TallyInfo is one aggregator's signed tally.
type TallyInfo struct {
	Signer  string    `json:"signer"` // peer ID
	Keep    int       `json:"keep"`
	Remove  int       `json:"remove"`
	Digest  string    `json:"digest"` // hex
	Time    time.Time `json:"time"`
	Used    bool      `json:"used"`
	Ignored string    `json:"ignored,omitempty"` // why not used
	Recount string    `json:"recount,omitempty"` // "ok" after --verify
}

// ModerationRule is a local override.
type ModerationRule struct {
	Package string `json:"package"`
	Rule    string `json:"rule"` // allow | deny | "" (cleared)
	Title   string `json:"title,omitempty"`
}

// ModerationRuleRequest is the body of POST /api/v1/moderation/rules.
type ModerationRuleRequest struct {
	Ref  string `json:"ref"`
	Rule string `json:"rule"` // allow | deny | clear
}

// packageRef resolves ref to a package CID that can have a poll.
func (n *Node) packageRef(ctx context.Context, ref string) (cid.Cid, error) {
	m, err := n.resolveRef(ctx, ref)
	if err != nil {
		return cid.Undef, err
	}
	if !isPackageCID(m.Root) {
		return cid.Undef, Errorf(CodeInvalid, "%s is not a package (votes and annotations name a package root)", m.Root)
	}
	return m.Root, nil
}

// Vote implements API.
func (n *Node) Vote(ctx context.Context, req VoteRequest) (Delivery, error) {
	choice, err := moderation.ParseChoice(req.Choice)
	if err != nil {
		return Delivery{}, Errorf(CodeInvalid, "vote: want keep or remove, got %q", req.Choice)
	}
	c, err := n.packageRef(ctx, req.Ref)
	if err != nil {
		return Delivery{}, err
	}
	ns := n.network()
	if ns == nil || ns.mod == nil {
		return Delivery{}, Errorf(CodeNoDaemon, "vote needs the network: start `myconet daemon`")
	}
	s := n.modSettings()
	start := time.Now()
	v, err := moderation.NewVote(n.id.Ed25519(), c, choice, req.Reason, n.now(), s.powBits)
	if err != nil {
		return Delivery{}, Wrap(CodeInvalid, err)
	}
	took := time.Since(start)
	rec, err := v.Encode()
	if err != nil {
		return Delivery{}, Wrap(CodeInvalid, err)
	}
	d := Delivery{Package: c.String(), Kind: "vote", Choice: choice.String(), Author: n.id.PeerID.String(),
		WorkBits: s.powBits, WorkSeconds: took.Seconds()}
	n.deliver(ctx, ns, c, modOpVote, rec, s, &d)
	n.forgetDecision(c)
	if d.Accepted == 0 {
		return d, fmt.Errorf("vote reached no aggregator of %s (%s)", c, deliveryErrors(d))
	}
	return d, nil
}

// Annotate implements API.
func (n *Node) Annotate(ctx context.Context, req AnnotateRequest) (Delivery, error) {
	c, err := n.packageRef(ctx, req.Ref)
	if err != nil {
		return Delivery{}, err
	}
	ns := n.network()
	if ns == nil || ns.mod == nil {
		return Delivery{}, Errorf(CodeNoDaemon, "annotate needs the network: start `myconet daemon`")
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
		return Delivery{}, Wrap(CodeInvalid, err)
	}
	took := time.Since(start)
	rec, err := a.Encode()
	if err != nil {
		return Delivery{}, Wrap(CodeInvalid, err)
	}
	d := Delivery{Package: c.String(), Kind: "annotation", Author: n.id.PeerID.String(), WorkBits: s.powBits, WorkSeconds: took.Seconds()}
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

func deliveryErrors(d Delivery) string {
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
func (n *Node) deliver(ctx context.Context, ns *netState, c cid.Cid, op modOp, rec []byte, s modSettings, d *Delivery) {
	aggs, _ := n.aggregators(ctx, ns, c, s.aggregators)
	d.Aggregators = make([]AggregatorAnswer, len(aggs))
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
func (n *Node) Tally(ctx context.Context, ref string, verify bool) (TallyReport, error) {
	c, err := n.packageRef(ctx, ref)
	if err != nil {
		return TallyReport{}, err
	}
	ns := n.network()
	if ns == nil || ns.mod == nil {
		return TallyReport{}, Errorf(CodeNoDaemon, "tally needs the network: start `myconet daemon` (`myconet moderation why` shows the local rules offline)")
	}
	return n.explained(c, n.modDecision(ctx, c, true, verify, lookWait)), nil
}

// ModerationWhy implements API.
func (n *Node) ModerationWhy(ctx context.Context, ref string) (TallyReport, error) {
	c, err := n.packageRef(ctx, ref)
	if err != nil {
		return TallyReport{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, modWait)
	defer cancel()
	return n.explained(c, n.modDecision(wctx, c, false, false, lookWait)), nil
}

// ModerationSet implements API.
func (n *Node) ModerationSet(ctx context.Context, ref, rule string) (ModerationRule, error) {
	c, err := n.packageRef(ctx, ref)
	if err != nil {
		return ModerationRule{}, err
	}
	switch rule {
	case "allow", "deny", "clear":
	default:
		return ModerationRule{}, Errorf(CodeInvalid, "moderation rule: want allow, deny or clear, got %q", rule)
	}
	if err := n.db.SetModRule(c.String(), rule == "allow", rule == "clear"); err != nil {
		return ModerationRule{}, storeErr(err)
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
	out := ModerationRule{Package: c.String(), Rule: rule}
	if rule == "clear" {
		out.Rule = ""
	}
	if pkg, err := n.loadPackage(c); err == nil && pkg != nil {
		out.Title = pkg.Meta.Title
	}
	return out, nil
}

// ModerationRules implements API.
func (n *Node) ModerationRules(ctx context.Context) ([]ModerationRule, error) {
	rules, err := n.db.ModRules()
	if err != nil {
		return nil, storeErr(err)
	}
	out := []ModerationRule{}
	for _, r := range rules {
		mr := ModerationRule{Package: r.Target, Rule: "deny"}
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

// AnnotationCount is one annotated value and how many distinct people gave it.
type AnnotationCount struct {
	Value  string `json:"value"`
	People int    `json:"people"`
}

// Annotations is what community annotations say about a package.
type Annotations struct {
	People int                          `json:"people"` // distinct annotators
	Tags   []AnnotationCount            `json:"tags,omitempty"`
	Titles map[string][]AnnotationCount `json:"titles,omitempty"` // by language
	Notes  []AnnotationCount            `json:"notes,omitempty"`
}

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
func (n *Node) communityAnnotations(c cid.Cid) *Annotations {
	if !isPackageCID(c) {
		return nil
	}
	s := n.annotationSummary(c)
	if s.Annotators == 0 {
		return nil
	}
	conv := func(cs []moderation.Count) []AnnotationCount {
		out := make([]AnnotationCount, len(cs))
		for i, x := range cs {
			out[i] = AnnotationCount{x.Value, x.Annotators}
		}
		return out
	}
	a := &Annotations{People: s.Annotators, Tags: conv(s.Tags), Notes: conv(s.Notes)}
	if len(s.Titles) > 0 {
		a.Titles = map[string][]AnnotationCount{}
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
