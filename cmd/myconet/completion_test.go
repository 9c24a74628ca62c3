package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletionBash loads the bash script in bash, as a user's shell does,
// and asks it for completions.
func TestCompletionBash(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	u := newUser(t)
	script := filepath.Join(t.TempDir(), "myconet.bash")
	if err := os.WriteFile(script, []byte(u.ok("completion", "bash")), 0o600); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) []string {
		t.Helper()
		// COMP_WORDS as bash fills them; the last word is the one completed.
		arr := "myconet"
		for _, w := range words {
			arr += " '" + w + "'"
		}
		out, err := exec.Command("bash", "-c", `source "$0" && complete -p myconet >/dev/null && COMP_WORDS=(`+arr+`) && COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) && _myconet && printf '%s\n' "${COMPREPLY[@]}"`, script).CombinedOutput()
		if err != nil {
			t.Fatalf("bash completion of %q: %v\n%s", words, err, out)
		}
		return strings.Fields(string(out))
	}
	has := func(got []string, want ...string) {
		t.Helper()
		for _, w := range want {
			found := false
			for _, g := range got {
				found = found || g == w
			}
			if !found {
				t.Errorf("completions %q lack %q", got, w)
			}
		}
	}
	has(complete("pi"), "pin", "ping")
	has(complete("--home", "/tmp/x", "pin", ""), "ls", "rm", "--json")
	has(complete("add", "--t"), "--title", "--tag")
	has(complete("completion", ""), "--home")
	if got := complete("--home", ""); len(got) != 0 {
		t.Errorf("completing --home's value offered words %q (want files)", got)
	}
}

// TestCompletionZshFish checks the zsh and fish scripts name every command
// and parse in their shells when those are installed.
func TestCompletionZshFish(t *testing.T) {
	u := newUser(t)
	for _, sh := range []string{"zsh", "fish"} {
		out := u.ok("completion", sh)
		for _, cmd := range []string{"daemon", "pin", "completion", "identity", "repo"} {
			if !strings.Contains(out, cmd) {
				t.Errorf("%s completion lacks %q", sh, cmd)
			}
		}
		if _, err := exec.LookPath(sh); err != nil {
			t.Logf("no %s here: its script is not parsed", sh)
			continue
		}
		check := exec.Command(sh, "-n", "/dev/stdin")
		if sh == "fish" {
			check = exec.Command("fish", "--no-execute", "/dev/stdin")
		}
		check.Stdin = strings.NewReader(out)
		if msg, err := check.CombinedOutput(); err != nil {
			t.Errorf("%s rejects its script: %v\n%s", sh, err, msg)
		}
	}
	if r := u.run("completion", "tcsh"); r.code != 2 || !strings.Contains(r.stderr, "bash, zsh or fish") {
		t.Errorf("completion tcsh: %d %q", r.code, r.stderr)
	}
}

// TestGlobalFlagsAfterCommand: --home and --json work after the command as
// before it.
func TestGlobalFlagsAfterCommand(t *testing.T) {
	u := newUser(t)
	u.ok("init")
	before := u.ok("--json", "id")
	cmd := exec.Command(bin, "id", "--home", u.home, "--json")
	cmd.Env = append(filteredEnv(), "HOME="+u.dir)
	after, err := cmd.Output()
	if err != nil {
		t.Fatalf("id --home --json: %v", err)
	}
	if string(after) != before || !strings.Contains(before, `"peer_id"`) {
		t.Fatalf("after the command:\n%s\nbefore:\n%s", after, before)
	}
	// A relative --home after the command resolves against the working directory.
	rel := exec.Command(bin, "id", "--home", "home")
	rel.Dir = filepath.Dir(u.home)
	rel.Env = cmd.Env
	if out, err := rel.Output(); err != nil || !strings.Contains(string(out), "12D3Koo") {
		t.Fatalf("relative --home: %v %s", err, out)
	}
}
