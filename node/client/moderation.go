package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/myconet/myconet/node"
)

// Vote implements node.API.
func (c *Client) Vote(ctx context.Context, req node.VoteRequest) (node.Delivery, error) {
	var v node.Delivery
	return v, c.doJSON(ctx, http.MethodPost, "/moderation/vote", nil, req, &v)
}

// Retract implements node.API.
func (c *Client) Retract(ctx context.Context, req node.RetractRequest) (node.RetractResult, error) {
	var v node.RetractResult
	return v, c.doJSON(ctx, http.MethodPost, "/moderation/retract", nil, req, &v)
}

// Annotate implements node.API.
func (c *Client) Annotate(ctx context.Context, req node.AnnotateRequest) (node.Delivery, error) {
	var v node.Delivery
	return v, c.doJSON(ctx, http.MethodPost, "/moderation/annotate", nil, req, &v)
}

// Tally implements node.API.
func (c *Client) Tally(ctx context.Context, ref string, verify bool) (node.TallyReport, error) {
	q := url.Values{"ref": {ref}}
	if verify {
		q.Set("verify", "true")
	}
	var v node.TallyReport
	return v, c.doJSON(ctx, http.MethodGet, "/moderation/tally", q, nil, &v)
}

// ModerationWhy implements node.API.
func (c *Client) ModerationWhy(ctx context.Context, ref string) (node.TallyReport, error) {
	var v node.TallyReport
	return v, c.doJSON(ctx, http.MethodGet, "/moderation/why", url.Values{"ref": {ref}}, nil, &v)
}

// ModerationSet implements node.API.
func (c *Client) ModerationSet(ctx context.Context, ref, rule string) (node.ModerationRule, error) {
	var v node.ModerationRule
	return v, c.doJSON(ctx, http.MethodPost, "/moderation/rules", nil, node.ModerationRuleRequest{Ref: ref, Rule: rule}, &v)
}

// ModerationRules implements node.API.
func (c *Client) ModerationRules(ctx context.Context) ([]node.ModerationRule, error) {
	var v []node.ModerationRule
	return v, c.doJSON(ctx, http.MethodGet, "/moderation/rules", nil, nil, &v)
}
