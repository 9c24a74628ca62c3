package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// UILoginLink asks the daemon's web app for a one-time login URL (POST
// /ui/login-link with the API token): `myconet ui` prints it.
func (c *Client) UILoginLink(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/ui/login-link", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("ui: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return "", fmt.Errorf("ui: this daemon serves no web app (an older version?)")
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("ui: login link: %s", resp.Status)
	}
	var link struct {
		Path string `json:"path"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&link); err != nil || !strings.HasPrefix(link.Path, "/ui/") {
		return "", fmt.Errorf("ui: login link: bad answer")
	}
	return c.base + link.Path, nil
}
