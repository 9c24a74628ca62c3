package library

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

func testBlock(t *testing.T, i, size int) (cid.Cid, []byte) {
	t.Helper()
	data := make([]byte, size)
	copy(data, fmt.Sprint(i))
	sum, err := mh.Sum(data, mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.Raw, sum), data
}

func TestArrivalsKeepForReaders(t *testing.T) {
	var none *arrivals // no fetch under way: nothing found, nothing panics
	none.offer(cid.Undef, nil, nil)
	none.advance()
	none.end()
	if _, _, ok := none.take(cid.Undef); ok {
		t.Fatal("nil arrivals gave a block")
	}
	if _, _, ok := none.await(t.Context(), cid.Undef, time.Millisecond, time.Millisecond); ok {
		t.Fatal("nil arrivals gave a block")
	}

	a := newArrivals()
	c0, d0 := testBlock(t, 0, 10)
	a.offer(c0, d0, nil)
	if _, _, ok := a.take(c0); ok {
		t.Fatal("a block offered before any reader looked was kept")
	}
	c1, d1 := testBlock(t, 1, 10)
	a.offer(c1, d1, nil) // the take above showed interest
	if got, _, ok := a.take(c1); !ok || string(got) != string(d1) {
		t.Fatalf("take after offer: %q %v", got, ok)
	}
	if _, _, ok := a.take(c1); ok {
		t.Fatal("a block was taken twice")
	}
	a.end()
	c2, d2 := testBlock(t, 2, 10)
	a.offer(c2, d2, nil)
	if _, _, ok := a.take(c2); ok {
		t.Fatal("a block offered after the end was kept")
	}
}

func TestArrivalsAwait(t *testing.T) {
	a := newArrivals()
	c, d := testBlock(t, 0, 10)
	go func() {
		time.Sleep(20 * time.Millisecond)
		a.offer(c, d, nil)
	}()
	if got, _, ok := a.await(t.Context(), c, 10*time.Second, 10*time.Second); !ok || string(got) != string(d) {
		t.Fatalf("await: %q %v", got, ok)
	}

	// Nothing arrives: it gives up after idle, not max.
	c1, _ := testBlock(t, 1, 10)
	start := time.Now()
	if _, _, ok := a.await(t.Context(), c1, 50*time.Millisecond, time.Minute); ok {
		t.Fatal("await of a block never offered succeeded")
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Fatalf("await waited %v with nothing arriving", el)
	}
	if len(a.waiters) != 0 {
		t.Fatalf("a waiter outlived its await: %d left", len(a.waiters))
	}

	// The fetch ends: a waiting reader gives up at once.
	done := make(chan bool)
	go func() {
		_, _, ok := a.await(context.Background(), c1, time.Minute, time.Minute)
		done <- ok
	}()
	for {
		a.mu.Lock()
		n := len(a.waiters)
		a.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	a.end()
	if <-done {
		t.Fatal("await succeeded after the end")
	}
}

// TestArrivalsHoldBack: with arrivalsMax kept, the fetch waits for a reader
// that is reading to take a block, instead of dropping the block that reader
// needs next; with the reader gone quiet, it drops the oldest and goes on.
func TestArrivalsHoldBack(t *testing.T) {
	a := newArrivals()
	const size = 1 << 20
	n := arrivalsMax / size
	var cids []cid.Cid
	a.take(cid.Undef) // a reader looks
	for i := range n + 1 {
		c, _ := testBlock(t, i, size)
		cids = append(cids, c)
	}
	for i := range n {
		_, d := testBlock(t, i, size)
		a.offer(cids[i], d, nil)
	}
	a.advance() // the reader reads
	_, last := testBlock(t, n, size)
	offered := make(chan struct{})
	go func() {
		a.offer(cids[n], last, nil)
		close(offered)
	}()
	select {
	case <-offered:
		t.Fatal("the fetch dropped a kept block while the reader read")
	case <-time.After(50 * time.Millisecond):
	}
	if _, _, ok := a.take(cids[0]); !ok {
		t.Fatal("the oldest block was not kept")
	}
	<-offered
	if _, _, ok := a.take(cids[n]); !ok {
		t.Fatal("the block offered after the reader made room was not kept")
	}

	// The reader goes quiet: offers drop the oldest.
	b := newArrivals()
	b.take(cid.Undef)
	for i := range n + 1 {
		_, d := testBlock(t, i, size)
		b.offer(cids[i], d, nil) // no reader progress: never waits
	}
	if _, _, ok := b.take(cids[0]); ok {
		t.Fatal("the oldest block was kept beyond arrivalsMax")
	}
	if _, _, ok := b.take(cids[n]); !ok {
		t.Fatal("the newest block was not kept")
	}
}

// TestArrivalsShares: arrivals lets go of its share of a pooled buffer on
// every path where it keeps the block no more without a reader taking it
// (not kept, dropped, the end), and hands it to the reader that takes it.
func TestArrivalsShares(t *testing.T) {
	released := 0
	share := func() *shared { return newShared(1, func() { released++ }) }
	check := func(what string, want int) {
		t.Helper()
		if released != want {
			t.Fatalf("%s: %d shares released, want %d", what, released, want)
		}
	}
	var none *arrivals
	c0, d0 := testBlock(t, 0, 10)
	none.offer(c0, d0, share())
	check("no fetch", 1)

	a := newArrivals()
	a.offer(c0, d0, share())
	check("no reader interested", 2)
	a.take(cid.Undef) // a reader looks
	sh := share()
	a.offer(c0, d0, sh)
	a.offer(c0, d0, share())
	check("kept, then offered again", 3)
	if _, got, ok := a.take(c0); !ok || got != sh {
		t.Fatalf("take: share %p, ok %v; want %p", got, ok, sh)
	}
	check("taken", 3) // the reader holds it now
	got := sh
	got.release()
	check("the reader let go", 4)

	b := newArrivals()
	b.take(cid.Undef) // a reader looks, and reads nothing
	const size = 1 << 20
	for i := range arrivalsMax/size + 1 {
		c, d := testBlock(t, i, size)
		b.offer(c, d, share()) // no reader progress: the oldest is dropped
	}
	check("one dropped beyond arrivalsMax", 5)
	b.end()
	check("the end", 5+arrivalsMax/size)
	b.offer(c0, d0, share())
	check("after the end", 6+arrivalsMax/size)
}
