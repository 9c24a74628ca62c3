package moderate

import (
	"strings"
	"testing"
	"time"

	"github.com/myconet/myconet/node/apitype"
)

func TestExplain(t *testing.T) {
	pol := apitype.PolicyInfo{MinVotes: 10, RemoveRatio: 2.0 / 3, MinTallies: 3, Aggregators: 5}
	tallies := func(used, ignored int) []apitype.TallyInfo {
		var out []apitype.TallyInfo
		for range used {
			out = append(out, apitype.TallyInfo{Used: true})
		}
		for range ignored {
			out = append(out, apitype.TallyInfo{Ignored: "signer is distrusted"})
		}
		return out
	}
	checked := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		r      apitype.TallyReport
		pinned bool
		want   []string
	}{
		{"retracted", apitype.TallyReport{Retracted: `retracted by its publisher on 2026-12-01T08:00:00Z: "oops"`}, false,
			[]string{"withholds the package", `"oops"`, "pinning it local"}},
		{"retracted, kept", apitype.TallyReport{Retracted: "retracted by its publisher"}, true, []string{"pinned it local, so a copy stays readable"}},
		{"deny", apitype.TallyReport{Local: "deny", Decision: "remove"}, false, []string{"withholds", "local deny list", "moderation clear"}},
		{"allow", apitype.TallyReport{Local: "allow", Decision: "keep"}, false, []string{"serves", "local allow list"}},
		{"remove", apitype.TallyReport{Decision: "remove", Keep: 2, Remove: 10, Policy: pol, Tallies: tallies(5, 1), Errors: []string{"x"}}, false,
			[]string{"withholds the package because the community voted to remove it", "5 of its aggregators", "12 votes", "83% say remove",
				"at or above the 67%", "1 more tallies were set aside (signer is distrusted)", "1 aggregators did not answer"}},
		{"keep", apitype.TallyReport{Decision: "keep", Keep: 8, Remove: 4, Policy: pol, Tallies: tallies(3, 0), Verified: true}, false,
			[]string{"serves the package because the community voted to keep it", "33% say remove", "below the 67%", "recounted"}},
		{"few tallies", apitype.TallyReport{Decision: "undecided", Policy: pol, Tallies: tallies(2, 0)}, false, []string{"only 2 of its aggregators", "needs 3"}},
		{"few votes", apitype.TallyReport{Decision: "undecided", Keep: 1, Remove: 3, Policy: pol, Tallies: tallies(4, 0)}, false, []string{"only 4 votes", "needs 10"}},
		{"offline", apitype.TallyReport{Decision: "undecided", Reason: "undecided: … (offline: only local rules apply)", Policy: pol}, false, []string{"offline", "local rules"}},
		{"stale", apitype.TallyReport{Decision: "remove", Keep: 0, Remove: 12, Policy: pol, Tallies: tallies(3, 0), Stale: true, Age: 3 * 3600, Checked: checked}, false,
			[]string{"stale", "3h0m0s ago", "2026-12-01 08:00 UTC"}},
	} {
		got := explain(tc.r, tc.pinned)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tc.name, got, w)
			}
		}
		if strings.Contains(got, "\n") {
			t.Errorf("%s: not one paragraph: %q", tc.name, got)
		}
	}
}
