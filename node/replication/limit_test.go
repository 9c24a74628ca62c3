package replication

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLimiterBoundsHoldersAndChangesLive(t *testing.T) {
	l := newLimiter(2)
	if !l.tryAcquire() || !l.tryAcquire() {
		t.Fatal("two slots of two not granted")
	}
	if l.tryAcquire() {
		t.Fatal("a third slot granted at limit 2")
	}
	// A waiter is admitted when the limit grows.
	got := make(chan error, 1)
	go func() { got <- l.acquire(context.Background()) }()
	select {
	case <-got:
		t.Fatal("acquire returned while every slot was held")
	case <-time.After(20 * time.Millisecond): // it must still be waiting
	}
	l.setLimit(3)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	// Lowering the limit below the holders admits nobody until enough leave.
	l.setLimit(1)
	l.release()
	l.release()
	if l.tryAcquire() {
		t.Fatal("slot granted with 1 held at limit 1")
	}
	l.release()
	if !l.tryAcquire() {
		t.Fatal("slot refused with 0 held at limit 1")
	}
	// A cancelled wait returns the context's error and takes nothing.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.acquire(ctx); err != context.Canceled {
		t.Fatalf("acquire with a cancelled context = %v", err)
	}
	if held, limit := l.inUse(); held != 1 || limit != 1 {
		t.Fatalf("inUse = %d, %d; want 1, 1", held, limit)
	}
}

func TestLimiterNeverExceedsLimitUnderLoad(t *testing.T) {
	l := newLimiter(3)
	var cur, peak atomic.Int64
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.acquire(context.Background()); err != nil {
				t.Error(err)
				return
			}
			n := cur.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			if i == 25 {
				l.setLimit(2)
			}
			time.Sleep(time.Millisecond) // hold the slot a while
			cur.Add(-1)
			l.release()
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 3 {
		t.Fatalf("%d holders at once, limit 3", p)
	}
}
