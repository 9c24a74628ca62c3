package main

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/myconet/myconet/node/apitype"
)

// modFake is a node.API that answers the moderation calls.
type modFake struct {
	apitype.API
	vote     apitype.VoteRequest
	annotate apitype.AnnotateRequest
	verify   bool
	rule     string
}

func (f *modFake) Vote(ctx context.Context, req apitype.VoteRequest) (apitype.Delivery, error) {
	f.vote = req
	return apitype.Delivery{Package: "bafyP", Kind: "vote", Choice: req.Choice, WorkBits: 23, Accepted: 1,
		Aggregators: []apitype.AggregatorAnswer{{Peer: "12D3A", Result: "added"}, {Peer: "12D3B", Error: "unreachable"}}}, nil
}

func (f *modFake) Annotate(ctx context.Context, req apitype.AnnotateRequest) (apitype.Delivery, error) {
	f.annotate = req
	return apitype.Delivery{Package: "bafyP", Kind: "annotation", Accepted: 2}, nil
}

func (f *modFake) Tally(ctx context.Context, ref string, verify bool) (apitype.TallyReport, error) {
	f.verify = verify
	return apitype.TallyReport{Package: "bafyP", Decision: "remove", Withheld: true, Reason: "remove: 3 of 3", Keep: 0, Remove: 3,
		Tallies: []apitype.TallyInfo{{Signer: "12D3A", Remove: 3, Used: true, Recount: "ok"}, {Signer: "12D3L", Remove: 9, Ignored: "recount"}}}, nil
}

func (f *modFake) ModerationWhy(ctx context.Context, ref string) (apitype.TallyReport, error) {
	return apitype.TallyReport{}, fmt.Errorf("%w: %s", apitype.ErrNotFound, ref)
}

func (f *modFake) ModerationSet(ctx context.Context, ref, rule string) (apitype.ModerationRule, error) {
	f.rule = rule
	return apitype.ModerationRule{Package: ref, Rule: rule}, nil
}

func TestModerationCommands(t *testing.T) {
	dir := t.TempDir()
	api := &modFake{}
	c, stdout, stderr := testCLI(t, api)
	if st := c.run([]string{"--home", dir, "vote", "myco://bafyP", "remove", "--reason", "spam"}); st != exitOK {
		t.Fatalf("vote: %d %s", st, stderr)
	}
	if api.vote != (apitype.VoteRequest{Ref: "myco://bafyP", Choice: "remove", Reason: "spam"}) {
		t.Errorf("vote request %+v", api.vote)
	}
	if out := stdout.String(); !strings.Contains(out, "accepted by 1 of 2 aggregators") || !strings.Contains(out, "error: unreachable") {
		t.Errorf("vote output %q", out)
	}
	if st := c.run([]string{"--home", dir, "vote", "myco://bafyP", "maybe"}); st != exitUsage {
		t.Errorf("vote maybe: status %d", st)
	}
	stdout.Reset()
	if st := c.run([]string{"--home", dir, "annotate", "myco://bafyP", "--tag", "a", "--tag", "b",
		"--title-translation", "fr=Le titre", "--note", "n"}); st != exitOK {
		t.Fatalf("annotate: %d %s", st, stderr)
	}
	want := apitype.AnnotateRequest{Ref: "myco://bafyP", Tags: []string{"a", "b"}, Titles: map[string]string{"fr": "Le titre"}, Note: "n"}
	if !reflect.DeepEqual(api.annotate, want) {
		t.Errorf("annotate request %+v", api.annotate)
	}
	if st := c.run([]string{"--home", dir, "annotate", "myco://bafyP", "--title-translation", "fr"}); st != exitUsage {
		t.Errorf("bad title translation: status %d", st)
	}
	stdout.Reset()
	if st := c.run([]string{"--home", dir, "tally", "myco://bafyP", "--verify", "--json"}); st != exitOK {
		t.Fatalf("tally: %d %s", st, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || got["decision"] != "remove" || got["keep"] != 0.0 || got["remove"] != 3.0 || !api.verify {
		t.Errorf("tally --json: %v %v (verify %v)", got, err, api.verify)
	}
	stdout.Reset()
	if st := c.run([]string{"--home", dir, "tally", "myco://bafyP"}); st != exitOK || !strings.Contains(stdout.String(), "WITHHELD") ||
		!strings.Contains(stdout.String(), "no: recount") {
		t.Errorf("tally text: %d %q", st, stdout)
	}
	stderr.Reset()
	if st := c.run([]string{"--home", dir, "moderation", "why", "bafyX"}); st == exitOK || !strings.Contains(stderr.String(), "bafyX") {
		t.Errorf("why error: %d %q", st, stderr)
	}
	for _, rule := range []string{"allow", "deny", "clear"} {
		if st := c.run([]string{"--home", dir, "moderation", rule, "bafyP"}); st != exitOK || api.rule != rule {
			t.Errorf("moderation %s: %d %q", rule, st, api.rule)
		}
	}
}
