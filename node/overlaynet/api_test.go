package overlaynet

import (
	"slices"
	"testing"

	"github.com/myconet/myconet/node/apitype"
)

// TestEditRules: a rule replaces the one with the same protocol, port and
// source whatever its action, the set comes back in the order the firewall
// applies it, and bad or missing rules are refused with their code.
func TestEditRules(t *testing.T) {
	cur := []string{"allow tcp 22", "allow tcp 80"}
	got, err := EditRules(cur, "deny tcp 22 from fd6d:7963::1", true)
	if err != nil {
		t.Fatal(err)
	}
	got, err = EditRules(got, "DENY tcp 22", true) // replaces "allow tcp 22"
	if err != nil {
		t.Fatal(err)
	}
	if want := OrderRules([]string{"deny tcp 22 from fd6d:7963::1/128", "deny tcp 22", "allow tcp 80"}); !slices.Equal(got, want) || len(got) != 3 {
		t.Fatalf("rules %q, want %q", got, want)
	}
	if got, err = EditRules(got, "allow tcp 22", false); err != nil || len(got) != 2 {
		t.Fatalf("remove: %q, %v", got, err)
	}
	if _, err := EditRules(got, "allow tcp 22", false); apitype.CodeOf(err) != apitype.CodeNotFound {
		t.Fatalf("removing a missing rule: %v", err)
	}
	if _, err := EditRules(got, "allow icmp 1", true); apitype.CodeOf(err) != apitype.CodeInvalid {
		t.Fatalf("a bad rule: %v", err)
	}
}
