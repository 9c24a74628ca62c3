package search

import (
	"strings"
	"testing"
)

func TestParseOptions(t *testing.T) {
	cases := []struct {
		text    string
		o       Options
		query   string // canonical form; "" when an error is wanted
		limit   int
		errWant string
	}{
		{"needle", Options{}, "needle", DefaultLimit, ""},
		{"needle", Options{Kind: "video", Tags: []string{"a b"}, Limit: 5}, "", 5, ""},
		{"needle", Options{Limit: MaxResults + 1}, "needle", MaxResults, ""},
		{"   ", Options{}, "", 0, "empty query: give at least one word"},
		{"-only", Options{}, "", 0, ""},
		{"needle", Options{Kind: "nonsense"}, "", 0, "--kind: "},
		{"needle kind:software", Options{Kind: "video"}, "", 0, "--kind: "},
		{"needle", Options{Limit: -1}, "", 0, "limit must be positive"},
		{strings.Repeat("x", MaxQueryLen/2) + " " + strings.Repeat("y", MaxQueryLen/2), Options{}, "", 0, "too long"},
	}
	for _, tc := range cases {
		q, limit, err := ParseOptions(tc.text, tc.o)
		wantErr := tc.errWant != "" || tc.limit == 0
		if wantErr {
			if err == nil || !strings.Contains(err.Error(), tc.errWant) || strings.HasPrefix(err.Error(), "search: ") {
				t.Errorf("%.20q %+v: err %v, want one containing %q without the package prefix", tc.text, tc.o, err, tc.errWant)
			}
			continue
		}
		if err != nil || limit != tc.limit || tc.query != "" && q.String() != tc.query {
			t.Errorf("%.20q %+v: %q %d %v", tc.text, tc.o, q.String(), limit, err)
		}
	}
}
