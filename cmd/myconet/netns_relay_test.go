package main_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/myconet/myconet/internal/netns"
)

// A package added in a is fetched in c through b's relay: a and c cannot
// reach each other, and b takes no replica (quota replicas 1B), so the only
// way for c to get it is a circuit through b to a.
func TestNetnsContentRelayed(t *testing.T) {
	needNetns(t)
	lab, da, db, dc := chain(t, netns.DaemonOptions{})
	db.MustCLI("quota", "set", "replicas", "1B")

	path := filepath.Join(t.TempDir(), "relayed.bin")
	data := writeFile(t, path, 62, 2<<20+33)
	var add addResult
	if err := da.CLIJSON(&add, "add", path, "--title", "through the relay"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "got.bin")
	var lastErr error
	start := time.Now()
	defer func() {
		if t.Failed() {
			t.Logf("c's last get: %v", lastErr)
		}
	}()
	lab.Eventually(30*time.Second, "c to fetch a's package through b", func() bool {
		_, lastErr = dc.CLI("get", add.MRI, "-o", out)
		return lastErr == nil
	})
	t.Logf("c fetched %d bytes %v after a added them", len(data), time.Since(start).Round(time.Millisecond))
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("c got %d bytes (%v), want a's %d", len(got), err, len(data))
	}
	// b holds no copy: c got it from a, relayed by b.
	if pins := db.MustCLI("pin", "ls"); strings.Contains(pins, add.Package) {
		t.Fatalf("b holds the package, so the test proves nothing about relaying:\n%s", pins)
	}
	if ps := dc.MustCLI("peers"); !strings.Contains(ps, "/p2p-circuit") {
		t.Fatalf("c lists no relayed connection:\n%s", ps)
	}
}
