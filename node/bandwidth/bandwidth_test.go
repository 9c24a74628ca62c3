package bandwidth

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"
)

// fakeClock advances only when someone sleeps: Sleep moves time forward by d
// at once and records it.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
}

func newFake() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept += d
	return ctx.Err()
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestLimiterRate(t *testing.T) {
	tests := []struct {
		name      string
		rate      int64
		total     int
		chunk     int
		wantSlept time.Duration
	}{
		// The bucket starts empty; every byte is paid at the rate.
		{"1MB/s 5MB", 1e6, 5e6, 64 << 10, 5 * time.Second},
		{"10MB/s 1MB", 10e6, 1e6, 1000, 100 * time.Millisecond},
		{"unlimited", 0, 50e6, 1 << 20, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFake()
			l := New(tt.rate, clk)
			for sent := 0; sent < tt.total; sent += tt.chunk {
				n := min(tt.chunk, tt.total-sent)
				if err := l.Wait(context.Background(), n); err != nil {
					t.Fatal(err)
				}
			}
			if diff := math.Abs(float64(clk.slept - tt.wantSlept)); diff > float64(10*time.Millisecond) {
				t.Fatalf("slept %v, want %v", clk.slept, tt.wantSlept)
			}
		})
	}
}

func TestLimiterBurstAfterIdle(t *testing.T) {
	clk := newFake()
	l := New(1e6, clk)
	clk.advance(10 * time.Second) // idle: the bucket fills to one second's worth, no more
	l.Wait(context.Background(), 1e6)
	if clk.slept != 0 {
		t.Fatalf("a full bucket should pay 1 MB at once, slept %v", clk.slept)
	}
	l.Wait(context.Background(), 1e6)
	if d := clk.slept; d < 990*time.Millisecond || d > 1010*time.Millisecond {
		t.Fatalf("the next MB should wait a second, slept %v", d)
	}
}

func TestLimiterSetRateLive(t *testing.T) {
	clk := newFake()
	l := New(1e6, clk)
	l.Wait(context.Background(), 1e6)
	s1 := clk.slept
	l.SetRate(4e6)
	l.Wait(context.Background(), 4e6)
	if d := clk.slept - s1; d < 990*time.Millisecond || d > 1010*time.Millisecond {
		t.Fatalf("4 MB at 4 MB/s should take 1 s, took %v", d)
	}
	l.SetRate(0)
	s2 := clk.slept
	l.Wait(context.Background(), 1e9)
	if clk.slept != s2 || l.Rate() != 0 {
		t.Fatal("unlimited still waits")
	}
}

func TestLimiterCancel(t *testing.T) {
	l := New(1, nil) // one byte per second on the real clock
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx, 1<<20); err == nil {
		t.Fatal("a cancelled wait returned nil")
	}
}
