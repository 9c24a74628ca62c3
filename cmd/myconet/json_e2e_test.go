package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// notData are the commands whose output is not data, so they take no
// --json: a stream of bytes, a shell script, usage text or a daemon's log.
var notData = map[string]string{
	"daemon":     "runs until stopped; logs on stderr",
	"cat":        "writes the file's bytes",
	"completion": "prints a shell script",
	"help":       "prints usage",
}

// TestJSONEveryCommand runs every command that prints data with --json
// against real daemons and checks the convention `myconet help` states: one
// JSON object (never a bare list), no null (lists are [] and absent values
// absent), no duration as a Go string ("1h2m3s"), times RFC 3339. It fails
// too when a command of `myconet help` is neither run here nor in notData.
func TestJSONEveryCommand(t *testing.T) {
	flags := []string{"--api", "127.0.0.1:0", "--gateway", "127.0.0.1:0", "--no-tun"}
	a, b := newUser(t), newUser(t)
	for _, u := range []*user{a, b} {
		u.ok("config", "set", "moderation.pow_bits", "8") // votes in milliseconds
	}
	a.startDaemon(flags...)
	b.startDaemon(append(flags, "--bootstrap", a.listenTCP())...)
	writeFile(t, filepath.Join(a.dir, "data.bin"), 7, 100_000)
	makeSite(t, filepath.Join(a.dir, "site"))
	var file, site addResult
	a.okJSON(&file, "add", "data.bin", "--title", "Json data")
	a.okJSON(&site, "add", "site", "--title", "Json site")
	var bid struct {
		PeerID  string `json:"peer_id"`
		Address string
	}
	b.okJSON(&bid, "id")
	a.eventually(20*time.Second, func(out string) bool { return strings.Contains(out, bid.PeerID) }, "peers")
	pass := filepath.Join(a.dir, "pass")
	if err := os.WriteFile(pass, []byte("correct horse battery\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var inv struct{ Invite string }
	a.okJSON(&inv, "invite")
	offline := newUser(t) // for the commands that need the daemon stopped

	type step struct {
		u    *user
		args []string
	}
	steps := []step{
		{a, []string{"version"}},
		{newBareUser(t), []string{"init"}},
		{a, []string{"id"}},
		{a, []string{"status"}},
		{a, []string{"peers"}},
		{b, []string{"connect", a.listenTCP()}},
		{a, []string{"invite"}},
		{b, []string{"join", inv.Invite}},
		{a, []string{"ping", bid.Address, "-c", "1", "-W", "10s"}},
		{a, []string{"routes"}},
		{a, []string{"firewall", "allow", "tcp", "8000"}},
		{a, []string{"firewall", "deny", "tcp", "22"}},
		{a, []string{"firewall", "rm", "tcp", "8000"}},
		{a, []string{"firewall", "ls"}},
		{a, []string{"name", "set", "laptop", bid.PeerID}},
		{a, []string{"name", "resolve", "laptop"}},
		{a, []string{"name", "publish", "www"}},
		{a, []string{"name", "ls"}},
		{a, []string{"name", "rm", "laptop"}},
		{a, []string{"add", "data.bin", "--title", "Json data again"}},
		{a, []string{"get", file.MRI, "-o", filepath.Join(a.dir, "got.bin")}},
		{a, []string{"ls", site.MRI}},
		{a, []string{"info", site.MRI}},
		{b, []string{"providers", file.MRI}},
		{a, []string{"search", "json"}},
		{b, []string{"site", "get", site.MRI}},
		{a, []string{"publish", "docs", file.MRI}},
		{a, []string{"publish", "ls"}},
		{a, []string{"vote", site.MRI, "keep"}},
		{a, []string{"annotate", site.MRI, "--tag", "example"}},
		{a, []string{"tally", site.MRI}},
		{a, []string{"moderation", "why", site.MRI}},
		{a, []string{"moderation", "allow", site.MRI}},
		{a, []string{"moderation", "deny", site.MRI}},
		{a, []string{"moderation", "ls"}},
		{a, []string{"moderation", "clear", site.MRI}},
		{a, []string{"export", file.MRI, "-o", filepath.Join(a.dir, "data.car")}},
		{b, []string{"import", filepath.Join(a.dir, "data.car")}},
		{a, []string{"pin", "ls"}},
		{b, []string{"pin", "rm", file.MRI}},
		{a, []string{"gc"}},
		{a, []string{"bookmark", "add", "mine", "myco://" + a.peerID() + "/docs"}},
		{a, []string{"bookmark", "follow", "mine"}},
		{a, []string{"bookmark", "unfollow", "mine"}},
		{a, []string{"bookmark", "ls"}},
		{a, []string{"open", site.MRI}},
		{a, []string{"bookmark", "rm", "mine"}},
		{a, []string{"quota", "set", "replicas", "1GB"}},
		{a, []string{"quota", "show"}},
		{a, []string{"config", "set", "quota.cpu", "2"}},
		{a, []string{"config", "get", "overlay.mtu"}},
		{a, []string{"config", "show"}},
		{a, []string{"ui"}},
		{a, []string{"identity", "export", filepath.Join(a.dir, "id.bak"), "--passphrase-file", pass}},
		{offline, []string{"identity", "import", filepath.Join(a.dir, "id.bak"), "--passphrase-file", pass, "--force"}},
		{a, []string{"repo", "verify"}},
		{offline, []string{"repo", "compact"}},
		{a, []string{"log"}},
		{a, []string{"retract", file.MRI, "--reason", "test"}},
	}

	ran := map[string]bool{}
	for _, s := range steps {
		name := commandName(s.args)
		ran[name] = true
		out := s.u.ok(append(s.args, "--json")...)
		if err := checkJSONOutput(out, name != "config show" && name != "config get"); err != nil {
			t.Errorf("myconet %s --json: %v\n%s", strings.Join(s.args, " "), err, out)
			continue
		}
		switch name {
		case "status":
			var st map[string]any
			json.Unmarshal([]byte(out), &st)
			if _, ok := st["uptime"].(float64); !ok {
				t.Errorf("status uptime is %#v, want seconds as a number", st["uptime"])
			}
		case "config get":
			var v struct{ Value any }
			json.Unmarshal([]byte(out), &v)
			if v.Value != 16384.0 {
				t.Errorf("config get overlay.mtu --json: value %#v, want the number 16384", v.Value)
			}
		}
	}
	for _, name := range helpCommands(t, a) {
		if !ran[name] && notData[strings.Fields(name)[0]] == "" {
			t.Errorf("`myconet %s` is in the command table but TestJSONEveryCommand does not check its --json (add it, or to notData with why)", name)
		}
	}
}

// commandName is the command args run, without its arguments: "pin rm".
func commandName(args []string) string {
	groups := map[string]bool{"firewall": true, "moderation": true, "pin": true, "bookmark": true, "quota": true,
		"config": true, "identity": true, "repo": true, "site": true, "name": true}
	if groups[args[0]] || (args[0] == "publish" && args[1] == "ls") {
		return args[0] + " " + args[1]
	}
	return args[0]
}

// helpCommands lists the commands `myconet help` shows ("pin rm").
func helpCommands(t *testing.T, u *user) []string {
	t.Helper()
	var names []string
	in := false
	for _, line := range strings.Split(u.ok("help"), "\n") {
		switch {
		case strings.HasSuffix(line, "Commands:"):
			in = true
		case in && strings.TrimSpace(line) == "":
			if len(names) > 0 {
				return names
			}
		case in:
			// "  pin ls   list pinned packages…": the name ends at two spaces.
			name, _, _ := strings.Cut(strings.TrimSpace(line), "  ")
			names = append(names, name)
		}
	}
	if len(names) < 30 {
		t.Fatalf("found %d commands in `myconet help`: %q", len(names), names)
	}
	return names
}

var (
	goDuration = regexp.MustCompile(`^-?[0-9.]+(ns|us|µs|ms|s|m|h)([0-9.]+(ns|us|µs|ms|s|m|h))*$`)
	timeKeys   = map[string]bool{"created": true, "started": true, "expires": true, "checked": true, "time": true, "resolved_at": true}
)

// checkJSONOutput checks that out is exactly one JSON object following the
// convention; durations says whether to refuse Go duration strings (config
// values keep the file's own syntax: "1h").
func checkJSONOutput(out string, durations bool) error {
	dec := json.NewDecoder(strings.NewReader(out))
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("more than one JSON value")
	}
	if _, ok := v.(map[string]any); !ok {
		return fmt.Errorf("a %T, not an object", v)
	}
	return walkJSON("", v, durations)
}

func walkJSON(path string, v any, durations bool) error {
	switch v := v.(type) {
	case nil:
		return fmt.Errorf("%s is null", path)
	case map[string]any:
		for k, e := range v {
			p := path + "." + k
			if s, ok := e.(string); ok && timeKeys[k] {
				if _, err := time.Parse(time.RFC3339, s); err != nil {
					return fmt.Errorf("%s = %q is not an RFC 3339 time", p, s)
				}
			}
			if err := walkJSON(p, e, durations); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range v {
			if err := walkJSON(fmt.Sprintf("%s[%d]", path, i), e, durations); err != nil {
				return err
			}
		}
	case string:
		if durations && goDuration.MatchString(v) && v != "0" {
			return fmt.Errorf("%s = %q is a duration string, want seconds as a number", path, v)
		}
	}
	return nil
}

// TestCheckJSONOutput checks the checker TestJSONEveryCommand relies on.
func TestCheckJSONOutput(t *testing.T) {
	for _, tc := range []struct {
		out string
		ok  bool
	}{
		{`{"pins": [], "uptime": 3723, "created": "2026-12-04T20:00:00Z"}`, true},
		{`{"config": {"moderation.refresh": "1h"}}`, true}, // with durations off, below
		{`[{"mri": "myco://x"}]`, false},
		{`{"pins": null}`, false},
		{`{"status": {"uptime": "1h2m3s"}}`, false},
		{`{"peers": [{"latency": "1.2ms"}]}`, false},
		{`{"expires": "2026-12-04 20:00"}`, false},
		{"unpinned myco://x\n", false},
		{`{"a": 1}{"b": 2}`, false},
	} {
		err := checkJSONOutput(tc.out, !strings.Contains(tc.out, "config"))
		if (err == nil) != tc.ok {
			t.Errorf("checkJSONOutput(%s) = %v, want ok %v", tc.out, err, tc.ok)
		}
	}
}
