package replication

import (
	"context"
	"sync"
)

// limiter admits at most limit holders at a time; the limit can change while
// holders run (quota.cpu applies live). Lowering it below the number held
// takes effect as holders release.
type limiter struct {
	mu    sync.Mutex
	limit int
	held  int
	freed chan struct{} // closed (and replaced) when a slot frees or the limit grows
}

func newLimiter(limit int) *limiter {
	return &limiter{limit: max(limit, 1), freed: make(chan struct{})}
}

// tryAcquire takes a slot if one is free.
func (l *limiter) tryAcquire() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held >= l.limit {
		return false
	}
	l.held++
	return true
}

// acquire waits for a slot or for ctx to end.
func (l *limiter) acquire(ctx context.Context) error {
	for {
		l.mu.Lock()
		if l.held < l.limit {
			l.held++
			l.mu.Unlock()
			return nil
		}
		freed := l.freed
		l.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release gives a slot back.
func (l *limiter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held--
	l.wakeLocked()
}

// setLimit changes the limit (at least 1).
func (l *limiter) setLimit(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limit = max(n, 1)
	l.wakeLocked()
}

// inUse returns the slots held and the limit.
func (l *limiter) inUse() (held, limit int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held, l.limit
}

func (l *limiter) wakeLocked() {
	close(l.freed)
	l.freed = make(chan struct{})
}
