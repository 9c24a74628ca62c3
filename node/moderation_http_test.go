package node_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/myconet/myconet/node/apitype"
)

// The moderation methods of fakeAPI (httpapi_test.go).

func (f *fakeAPI) Vote(ctx context.Context, req apitype.VoteRequest) (apitype.Delivery, error) {
	if err := refErr(req.Ref); err != nil {
		return apitype.Delivery{}, err
	}
	return apitype.Delivery{Package: req.Ref, Kind: "vote", Choice: req.Choice, Accepted: 3}, nil
}

func (f *fakeAPI) Annotate(ctx context.Context, req apitype.AnnotateRequest) (apitype.Delivery, error) {
	if err := refErr(req.Ref); err != nil {
		return apitype.Delivery{}, err
	}
	return apitype.Delivery{Package: req.Ref, Kind: "annotation", Accepted: len(req.Tags) + len(req.Titles)}, nil
}

func (f *fakeAPI) Tally(ctx context.Context, ref string, verify bool) (apitype.TallyReport, error) {
	if err := refErr(ref); err != nil {
		return apitype.TallyReport{}, err
	}
	return apitype.TallyReport{Package: ref, Decision: "remove", Keep: 1, Remove: 3, Verified: verify}, nil
}

func (f *fakeAPI) ModerationWhy(ctx context.Context, ref string) (apitype.TallyReport, error) {
	if err := refErr(ref); err != nil {
		return apitype.TallyReport{}, err
	}
	return apitype.TallyReport{Package: ref, Decision: "keep", Reason: "keep: on this node's allow list"}, nil
}

func (f *fakeAPI) ModerationSet(ctx context.Context, ref, rule string) (apitype.ModerationRule, error) {
	if err := refErr(ref); err != nil {
		return apitype.ModerationRule{}, err
	}
	return apitype.ModerationRule{Package: ref, Rule: rule}, nil
}

func (f *fakeAPI) Retract(ctx context.Context, req apitype.RetractRequest) (apitype.RetractResult, error) {
	if req.Ref == "retracted" {
		return apitype.RetractResult{}, fmt.Errorf("%w: already gone", apitype.ErrRetracted)
	}
	if err := refErr(req.Ref); err != nil {
		return apitype.RetractResult{}, err
	}
	return apitype.RetractResult{Package: req.Ref, Reason: req.Reason, Accepted: 2}, nil
}

func (f *fakeAPI) ModerationRules(ctx context.Context) ([]apitype.ModerationRule, error) {
	return nil, nil
}

// TestAPIModerationRoutes checks that every moderation call survives the
// HTTP round trip, errors with their codes included.
func TestAPIModerationRoutes(t *testing.T) {
	_, c := serveFake(t, &fakeAPI{})
	ctx := context.Background()
	d, err := c.Vote(ctx, apitype.VoteRequest{Ref: "bafyP", Choice: "remove"})
	if err != nil || d.Choice != "remove" || d.Accepted != 3 {
		t.Fatalf("vote: %+v, %v", d, err)
	}
	if _, err := c.Vote(ctx, apitype.VoteRequest{Ref: "bad", Choice: "keep"}); !errors.Is(err, apitype.ErrInvalid) {
		t.Fatalf("vote bad ref: %v", err)
	}
	d, err = c.Annotate(ctx, apitype.AnnotateRequest{Ref: "bafyP", Tags: []string{"a", "b"}, Titles: map[string]string{"fr": "T"}})
	if err != nil || d.Accepted != 3 {
		t.Fatalf("annotate: %+v, %v", d, err)
	}
	r, err := c.Tally(ctx, "bafyP", true)
	if err != nil || r.Decision != "remove" || r.Remove != 3 || !r.Verified {
		t.Fatalf("tally: %+v, %v", r, err)
	}
	if _, err := c.Tally(ctx, "withheld", false); !errors.Is(err, apitype.ErrWithheld) {
		t.Fatalf("tally withheld: %v", err)
	}
	r, err = c.ModerationWhy(ctx, "bafyP")
	if err != nil || r.Decision != "keep" {
		t.Fatalf("why: %+v, %v", r, err)
	}
	if _, err := c.ModerationWhy(ctx, "missing"); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("why missing: %v", err)
	}
	rule, err := c.ModerationSet(ctx, "bafyP", "deny")
	if err != nil || rule.Rule != "deny" {
		t.Fatalf("set: %+v, %v", rule, err)
	}
	ret, err := c.Retract(ctx, apitype.RetractRequest{Ref: "bafyP", Reason: "oops"})
	if err != nil || ret.Reason != "oops" || ret.Accepted != 2 {
		t.Fatalf("retract: %+v, %v", ret, err)
	}
	if _, err := c.Retract(ctx, apitype.RetractRequest{Ref: "retracted"}); !errors.Is(err, apitype.ErrRetracted) {
		t.Fatalf("retract: the code does not survive: %v", err)
	}
	rules, err := c.ModerationRules(ctx)
	if err != nil || rules == nil || len(rules) != 0 {
		t.Fatalf("rules: %#v, %v", rules, err)
	}
}
