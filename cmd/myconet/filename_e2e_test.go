package main_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Issue 10 item 8: `get` without -o on another node than the one that added
// a single file writes it under its original name (signed into the
// package), not under the package CID; `ls` there shows the name.
func TestGetKeepsFileNameOnAnotherNode(t *testing.T) {
	flags := []string{"--api", "127.0.0.1:0", "--gateway", "127.0.0.1:0", "--no-tun"}
	a, b := newUser(t), newUser(t)
	a.startDaemon(flags...)
	b.startDaemon(append(flags, "--bootstrap", a.listenTCP())...)
	data := writeFile(t, filepath.Join(a.dir, "report.pdf"), 7, 20<<10)
	var file addResult
	a.okJSON(&file, "add", "report.pdf", "--title", "Report")

	b.eventually(40*time.Second, nil, "get", file.MRI)
	sameFile(t, filepath.Join(b.dir, "report.pdf"), data)
	if out := b.ok("ls", file.MRI); !strings.Contains(out, "report.pdf") {
		t.Errorf("ls on B does not show the name:\n%s", out)
	}
	var info struct{ Name string }
	b.okJSON(&info, "info", file.MRI)
	if info.Name != "report.pdf" {
		t.Errorf("info on B: name %q", info.Name)
	}
}
