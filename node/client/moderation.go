package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/myconet/myconet/node/apitype"
)

// Vote implements node.API.
func (c *Client) Vote(ctx context.Context, req apitype.VoteRequest) (apitype.Delivery, error) {
	var v apitype.Delivery
	return v, c.doJSON(ctx, http.MethodPost, "/moderation/vote", nil, req, &v)
}

// Retract implements node.API.
func (c *Client) Retract(ctx context.Context, req apitype.RetractRequest) (apitype.RetractResult, error) {
	var v apitype.RetractResult
	return v, c.doJSON(ctx, http.MethodPost, "/moderation/retract", nil, req, &v)
}

// Annotate implements node.API.
func (c *Client) Annotate(ctx context.Context, req apitype.AnnotateRequest) (apitype.Delivery, error) {
	var v apitype.Delivery
	return v, c.doJSON(ctx, http.MethodPost, "/moderation/annotate", nil, req, &v)
}

// Tally implements node.API.
func (c *Client) Tally(ctx context.Context, ref string, verify bool) (apitype.TallyReport, error) {
	q := url.Values{"ref": {ref}}
	if verify {
		q.Set("verify", "true")
	}
	var v apitype.TallyReport
	return v, c.doJSON(ctx, http.MethodGet, "/moderation/tally", q, nil, &v)
}

// ModerationWhy implements node.API.
func (c *Client) ModerationWhy(ctx context.Context, ref string) (apitype.TallyReport, error) {
	var v apitype.TallyReport
	return v, c.doJSON(ctx, http.MethodGet, "/moderation/why", url.Values{"ref": {ref}}, nil, &v)
}

// ModerationSet implements node.API.
func (c *Client) ModerationSet(ctx context.Context, ref, rule string) (apitype.ModerationRule, error) {
	var v apitype.ModerationRule
	return v, c.doJSON(ctx, http.MethodPost, "/moderation/rules", nil, apitype.ModerationRuleRequest{Ref: ref, Rule: rule}, &v)
}

// ModerationRules implements node.API.
func (c *Client) ModerationRules(ctx context.Context) ([]apitype.ModerationRule, error) {
	var v []apitype.ModerationRule
	return v, c.doJSON(ctx, http.MethodGet, "/moderation/rules", nil, nil, &v)
}
