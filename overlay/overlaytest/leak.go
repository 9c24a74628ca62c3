package overlaytest

import (
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

// CheckGoroutines fails tb if, after the test and its other cleanups, more
// goroutines run than when it was called. Call it first in a test so that
// its cleanup runs last. It polls for up to five seconds.
func CheckGoroutines(tb testing.TB) {
	tb.Helper()
	before := runtime.NumGoroutine()
	tb.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				var sb strings.Builder
				pprof.Lookup("goroutine").WriteTo(&sb, 1)
				tb.Errorf("goroutine leak: %d before, %d after\n%s", before, n, sb.String())
				return
			}
			runtime.Gosched()
			time.Sleep(10 * time.Millisecond)
		}
	})
}
