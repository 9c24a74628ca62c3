package main

import (
	"strings"
	"testing"
)

// TestFirewallHelpSaysWhichRuleApplies: the help explains the order rules
// apply in (issue 10, item 24: it said "deny wins over allow", which was
// false for a deny after a broader allow, and the group's text never showed).
func TestFirewallHelpSaysWhichRuleApplies(t *testing.T) {
	c, stdout, stderr := testCLI(t, &overlayAPI{})
	c.run([]string{"--home", t.TempDir(), "firewall", "-h"})
	out := stdout.String() + stderr.String()
	for _, want := range []string{"most specific matching rule decides", "Between equally specific rules, deny wins", "in the order they apply"} {
		if !strings.Contains(out, want) {
			t.Errorf("firewall -h lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "deny wins over allow") {
		t.Errorf("firewall -h still says deny wins over allow:\n%s", out)
	}
}
