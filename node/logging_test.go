package node

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/myconet/myconet/node/apitype"
)

// logBuffer collects a node's text log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Split(strings.TrimSpace(b.buf.String()), "\n")
}

func loggedNode(t *testing.T, level slog.Level) (*Node, *logBuffer) {
	t.Helper()
	lb := &logBuffer{}
	log := slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: level}))
	n, err := New(Config{Home: t.TempDir(), StoreNoSync: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n, lb
}

// The store names its component itself; the node must not name it again
// (a gc line said component=store twice).
func TestStoreLogNamesComponentOnce(t *testing.T) {
	n, lb := loggedNode(t, slog.LevelDebug)
	ctx := context.Background()
	p, _ := randFile(t, t.TempDir(), "f.bin", 1, 4096)
	res, err := n.Add(ctx, apitype.AddRequest{Path: p, Title: "F"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Unpin(ctx, res.MRI, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := n.GC(ctx); err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, l := range lb.lines() {
		if strings.Contains(l, "component=store") {
			seen = true
			if k := strings.Count(l, "component="); k != 1 {
				t.Errorf("log line names a component %d times: %s", k, l)
			}
		}
	}
	if !seen {
		t.Fatalf("no store log line after gc: %q", lb.lines())
	}
}
