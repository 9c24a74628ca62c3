// Package bandwidth enforces the owner's upload and download limits: a token
// bucket per direction, shared by every stream that carries bulk data, and
// stream wrappers that wait for tokens before moving bytes. Limits change
// live. The clock is injectable, so tests run on fake time.
package bandwidth

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is the time source: Now and a sleep that honours a context.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Limiter is a token bucket of rate bytes per second with a burst of one
// second's worth (at least MinBurst). Rate 0 means unlimited. It is safe for
// concurrent use; waiters are served in order of arrival.
type Limiter struct {
	clock Clock
	total atomic.Int64 // bytes paid for, ever

	mu     sync.Mutex
	rate   float64   // bytes per second; 0 = unlimited
	burst  float64   // bucket size
	tokens float64   // may go negative: debt that later callers wait out
	last   time.Time // when tokens was computed
}

// MinBurst is the smallest bucket, so that one 64 KiB write never waits for
// more than one refill.
const MinBurst = 256 << 10

// New returns a limiter of rate bytes per second (0 = unlimited). clock nil
// means the real clock.
func New(rate int64, clock Clock) *Limiter {
	if clock == nil {
		clock = realClock{}
	}
	l := &Limiter{clock: clock}
	l.SetRate(rate)
	return l
}

// SetRate changes the rate (0 = unlimited); it applies to waits that start
// after the call.
func (l *Limiter) SetRate(rate int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.refillLocked(now)
	l.rate = float64(max(rate, 0))
	l.burst = math.Max(l.rate, MinBurst)
	l.tokens = math.Min(l.tokens, l.burst)
	if rate <= 0 {
		l.tokens = 0
	}
	l.last = now
}

// Total returns the bytes that passed the limiter since it was made.
func (l *Limiter) Total() int64 { return l.total.Load() }

// Rate returns the current rate (0 = unlimited).
func (l *Limiter) Rate() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(l.rate)
}

func (l *Limiter) refillLocked(now time.Time) {
	if l.rate == 0 {
		return
	}
	if el := now.Sub(l.last).Seconds(); el > 0 {
		l.tokens = math.Min(l.burst, l.tokens+el*l.rate)
	}
	l.last = now
}

// Wait takes n tokens, sleeping as long as the bucket needs to pay them. It
// returns early with the context's error.
func (l *Limiter) Wait(ctx context.Context, n int) error {
	l.total.Add(int64(n))
	l.mu.Lock()
	if l.rate == 0 {
		l.mu.Unlock()
		return nil
	}
	now := l.clock.Now()
	l.refillLocked(now)
	l.tokens -= float64(n)
	var wait time.Duration
	if l.tokens < 0 {
		wait = time.Duration(-l.tokens / l.rate * float64(time.Second))
	}
	l.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	return l.clock.Sleep(ctx, wait)
}
