// Package storetest opens stores for tests.
package storetest

import (
	"errors"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/myconet/myconet/store"
)

// Open opens a store in tb.TempDir() (unless cfg.Path is set) with NoSync
// and logs sent to the test log. On cleanup it runs db.Check, then closes the
// store.
func Open(tb testing.TB, cfg store.Config) *store.DB {
	tb.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(tb.TempDir(), "store.db")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg.NoSync = true
	db, err := store.Open(cfg)
	if err != nil {
		tb.Fatalf("storetest: open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Check(); err != nil && !errors.Is(err, store.ErrClosed) {
			tb.Errorf("storetest: %v", err)
		}
		if err := db.Close(); err != nil {
			tb.Errorf("storetest: close: %v", err)
		}
	})
	return db
}
