package namesvc

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeResolvectl puts a resolvectl on PATH that records its arguments, one
// call a line, in the returned file, and exits with status code (failing
// only for the verb failVerb, when not empty).
func fakeResolvectl(t *testing.T, failVerb string) (log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "calls")
	script := "#!/bin/sh\necho \"$*\" >> " + log + "\n"
	if failVerb != "" {
		script += "[ \"$1\" = " + failVerb + " ] && exit 1\n"
	}
	script += "exit 0\n"
	if err := os.WriteFile(filepath.Join(dir, "resolvectl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	return log
}

func calls(t *testing.T, log string) string {
	t.Helper()
	b, err := os.ReadFile(log)
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestResolverSetup: with systemd-resolved, the daemon gives the TUN link
// its DNS server and the routing-only domain ~myco, and keeps the link out
// of other queries; when resolved is not running (resolvectl fails) or is
// not installed, or the server is not on port 53 of the TUN, it changes
// nothing that stays and the printed how-to applies. Issue 15 §3.
func TestResolverSetup(t *testing.T) {
	ctx := context.Background()
	addr := "[fd6d:7963::1]:53"

	log := fakeResolvectl(t, "")
	msg, ok := resolverSetup(ctx, addr, "myco0")
	want := "dns myco0 fd6d:7963::1\ndomain myco0 ~myco\ndefault-route myco0 false"
	if !ok || calls(t, log) != want || !strings.Contains(msg, "myco0") {
		t.Fatalf("resolved running: ok=%v %q, calls:\n%s\nwant:\n%s", ok, msg, calls(t, log), want)
	}

	log = fakeResolvectl(t, "dns") // resolved not running
	if _, ok := resolverSetup(ctx, addr, "myco0"); ok || calls(t, log) != "dns myco0 fd6d:7963::1" {
		t.Fatalf("resolved down: ok=%v, calls:\n%s", ok, calls(t, log))
	}
	log = fakeResolvectl(t, "domain")
	if _, ok := resolverSetup(ctx, addr, "myco0"); ok || calls(t, log) != "dns myco0 fd6d:7963::1\ndomain myco0 ~myco\nrevert myco0" {
		t.Fatalf("domain refused: ok=%v, calls:\n%s", ok, calls(t, log))
	}

	log = fakeResolvectl(t, "")
	for _, c := range [][2]string{{"127.0.0.1:5353", "myco0"}, {addr, ""}} {
		if _, ok := resolverSetup(ctx, c[0], c[1]); ok || calls(t, log) != "" {
			t.Fatalf("server %s on link %q: ok=%v, calls:\n%s", c[0], c[1], ok, calls(t, log))
		}
	}
	if !strings.Contains(resolverHowTo(addr, "myco0"), "resolvectl dns myco0 fd6d:7963::1 && resolvectl domain myco0 ~myco") {
		t.Fatalf("how-to: %s", resolverHowTo(addr, "myco0"))
	}

	t.Setenv("PATH", t.TempDir()) // no resolvectl
	if _, ok := resolverSetup(ctx, addr, "myco0"); ok {
		t.Fatal("set up without resolvectl")
	}
}
