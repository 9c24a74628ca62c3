package moderate

import (
	"bytes"
	"crypto/ed25519"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/store"
)

// testService opens a store in dir and builds an offline service on it
// with key (nil: a new one) and the moderation config mc; close releases
// the store.
func testService(t *testing.T, dir string, key ed25519.PrivateKey, mc config.ModerationConfig, log *slog.Logger) (s *Service, close func()) {
	t.Helper()
	db, err := store.Open(store.Config{Path: filepath.Join(dir, "store.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if key == nil {
		_, key, _ = ed25519.GenerateKey(nil)
	}
	s, err = New(Options{DB: db, Key: key, Logger: log, Config: func() config.ModerationConfig { return mc }})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	var once sync.Once
	close = func() { once.Do(func() { db.Close() }) }
	t.Cleanup(close)
	return s, close
}

// logBuffer collects text log lines.
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

// A first "undecided" decision is what most reads get: debug, not info.
// A decision that keeps or withholds, or a change, stays at info.
func TestUndecidedDecisionLogsAtDebug(t *testing.T) {
	lb := &logBuffer{}
	log := slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelInfo}))
	m, _ := testService(t, t.TempDir(), nil, config.DefaultConfig().Moderation, log)
	c := testPackageCID(t, "pkg")
	for range 3 {
		m.cacheDecision(c, apitype.TallyReport{Decision: "undecided"})
		m.forgetDecision(c)
	}
	if l := lb.lines(); len(l) != 1 || l[0] != "" {
		t.Fatalf("undecided decisions logged at info: %q", l)
	}
	m.cacheDecision(c, apitype.TallyReport{Decision: "remove"})
	m.cacheDecision(c, apitype.TallyReport{Decision: "undecided"})
	if l := lb.lines(); len(l) != 2 || !strings.Contains(l[0], "decision=remove") || !strings.Contains(l[1], "decision=undecided") {
		t.Fatalf("decisions and changes not logged at info: %q", l)
	}
}
