package main_test

// End-to-end checks of what a new user and a tester broke (issue 10, CLI).

import (
	"os"
	"strings"
	"testing"
)

// A typo in --home must not start a new node: only init and the daemon
// create a home; init on an existing home says nothing was initialized.
func TestNoHomeIsAnError(t *testing.T) {
	u := newBareUser(t)
	for _, args := range [][]string{{"pin", "ls"}, {"status"}, {"id"}, {"config", "show"}, {"search", "x"}, {"info", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"}} {
		msg := u.fail(1, args...)
		if want := "no Myconet home at " + u.home + ": run `myconet init`"; !strings.Contains(msg, want) {
			t.Errorf("myconet %s: %q lacks %q", strings.Join(args, " "), msg, want)
		}
		if _, err := os.Stat(u.home); !os.IsNotExist(err) {
			t.Fatalf("myconet %s created the home (%v)", strings.Join(args, " "), err)
		}
	}
	if out := u.ok("init"); !strings.HasPrefix(out, "initialized "+u.home+"\n") {
		t.Errorf("first init: %q", out)
	}
	id := u.ok("id")
	out := u.ok("init")
	if strings.Contains(out, "initialized") || !strings.Contains(out, "already a Myconet home; nothing changed") {
		t.Errorf("second init: %q", out)
	}
	if again := u.ok("id"); again != id {
		t.Errorf("second init changed the identity: %q → %q", id, again)
	}
	u.ok("pin", "ls")
}
