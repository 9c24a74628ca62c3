package main

import (
	"strings"
	"testing"

	"github.com/myconet/myconet/node/apitype"
)

func TestPrintTallyExplains(t *testing.T) {
	var b strings.Builder
	r := apitype.TallyReport{Package: "bafyP", Decision: "remove", Withheld: true, Stale: true, Age: 2 * 3600,
		Explanation: strings.Repeat("word ", 40) + "end."}
	if err := printTally(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	para, _, _ := strings.Cut(out, "\n\n")
	for _, line := range strings.Split(para, "\n") {
		if len(line) > 78 {
			t.Errorf("line of %d: %q", len(line), line)
		}
	}
	if !strings.HasSuffix(para, "end.") || strings.Count(para, "word") != 40 {
		t.Errorf("paragraph: %q", para)
	}
	if !strings.Contains(out, "WITHHELD") {
		t.Errorf("report: %q", out)
	}
}

func TestPrintRetract(t *testing.T) {
	var b strings.Builder
	r := apitype.RetractResult{Package: "bafyP", Accepted: 1, KeptLocal: true,
		Aggregators: []apitype.AggregatorAnswer{{Peer: "12D3a", Result: "retracted"}},
		Holders:     []apitype.AggregatorAnswer{{Peer: "12D3b", Error: "rejected"}}}
	if err := printRetract(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"accepted by 1 of 2", "keeps its local pin", "holder", "error: rejected"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("%q lacks %q", b.String(), w)
		}
	}
}
