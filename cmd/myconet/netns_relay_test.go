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

	add := addThenGet(t, lab, da, dc, 62, 2<<20+33, "through the relay")
	// b holds no copy: c got it from a, relayed by b.
	if pins := db.MustCLI("pin", "ls"); strings.Contains(pins, add.Package) {
		t.Fatalf("b holds the package, so the test proves nothing about relaying:\n%s", pins)
	}
	if ps := dc.MustCLI("peers"); !strings.Contains(ps, "/p2p-circuit") {
		t.Fatalf("c lists no relayed connection:\n%s", ps)
	}
}

// addThenGet adds size bytes (writeFile's seed) in from and waits until to
// gets them, byte for byte.
func addThenGet(t *testing.T, lab *netns.Lab, from, to *netns.Daemon, seed uint64, size int, title string) addResult {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.bin")
	data := writeFile(t, path, seed, size)
	var add addResult
	if err := from.CLIJSON(&add, "add", path, "--title", title); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "got.bin")
	var lastErr error
	start := time.Now()
	defer func() {
		if t.Failed() {
			t.Logf("%s's last get: %v", to.NS.Tag, lastErr)
		}
	}()
	lab.Eventually(30*time.Second, to.NS.Tag+" to fetch "+from.NS.Tag+"'s package", func() bool {
		_, lastErr = to.CLI("get", add.MRI, "-o", out)
		return lastErr == nil
	})
	t.Logf("%s fetched %d bytes %v after %s added them", to.NS.Tag, len(data), time.Since(start).Round(time.Millisecond), from.NS.Tag)
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("%s got %d bytes (%v), want %d", to.NS.Tag, len(got), err, len(data))
	}
	return add
}
