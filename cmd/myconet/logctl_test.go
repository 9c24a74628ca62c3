package main_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestDaemonJSONLogs: --log-format json writes one JSON object a line;
// `myconet log` turns the access log on and raises the level while the
// daemon runs; a bad format is a usage error.
func TestDaemonJSONLogs(t *testing.T) {
	u := newUser(t)
	if r := u.run("daemon", "--log-format", "xml"); r.code != 2 || !strings.Contains(r.stderr, "--log-format") {
		t.Fatalf("--log-format xml: %d %q", r.code, r.stderr)
	}
	d := u.startDaemon("--api", "127.0.0.1:0", "--gateway", "none", "--no-tun", "--log-format", "json")
	if out := u.ok("log"); !strings.Contains(out, "level:  info") || !strings.Contains(out, "access: off") {
		t.Fatalf("log: %q", out)
	}
	u.ok("log", "--level", "debug", "--access", "on")
	u.ok("id")
	waitFor(t, "an access line", 10*time.Second, func() bool { return strings.Contains(d.stderr.String(), `"msg":"access"`) })
	if r := u.run("log", "--level", "chatty"); r.code == 0 {
		t.Fatal("log --level chatty succeeded")
	}
	for _, line := range strings.Split(strings.TrimSpace(d.stderr.String()), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil || v["msg"] == nil || v["level"] == nil {
			t.Fatalf("not a JSON log line: %q (%v)", line, err)
		}
	}
	var s struct {
		Level  string `json:"level"`
		Access bool   `json:"access"`
	}
	u.okJSON(&s, "log")
	if s.Level != "debug" || !s.Access {
		t.Errorf("log --json after the change: %+v", s)
	}
}
