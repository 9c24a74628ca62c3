package main

import (
	"errors"
	"testing"
)

// The API and the client name their operation ("import: invalid CAR");
// the report names the command once: no "import: import:".
func TestReportNamesCommandOnce(t *testing.T) {
	for _, tt := range []struct{ err, want string }{
		{"add: boom", "myconet: add: boom\n"},
		{"add: add: boom", "myconet: add: boom\n"},
		{"boom: add: x", "myconet: add: boom: add: x\n"},
		{"added: x", "myconet: add: added: x\n"},
	} {
		api := &fakeAPI{addErr: errors.New(tt.err)}
		c, _, stderr := testCLI(t, api)
		c.run([]string{"--home", t.TempDir(), "add", t.TempDir(), "--title", "T"})
		if stderr.String() != tt.want {
			t.Errorf("error %q: stderr %q, want %q", tt.err, stderr, tt.want)
		}
	}
	if got := dropPrefix("rm: x", "pin rm"); got != "x" {
		t.Errorf("dropPrefix(pin rm) = %q", got)
	}
	if got := dropPrefix("pin rm: x", "pin rm"); got != "x" {
		t.Errorf("dropPrefix(pin rm) = %q", got)
	}
}
