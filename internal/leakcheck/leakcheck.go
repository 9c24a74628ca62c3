// Package leakcheck fails a test whose goroutines outlive it. The tests of
// every package use it, so that one check, with one deadline, says what a
// leak is.
package leakcheck

import (
	"runtime"
	"testing"
	"time"
)

// Check fails tb if, once the test and every cleanup registered after this
// call have run, more goroutines run than when it was called. Call it first
// in a test so that its cleanup runs last. It polls for up to ten seconds,
// since goroutines take a moment to exit, and prints every stack on failure.
func Check(tb testing.TB) {
	tb.Helper()
	before := runtime.NumGoroutine()
	tb.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			now := runtime.NumGoroutine()
			if now <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				tb.Errorf("goroutine leak: %d before, %d after\n%s", before, now, buf)
				return
			}
			time.Sleep(10 * time.Millisecond) // polling a condition, not synchronizing
		}
	})
}
