package svc

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/store"
)

func TestGroupStopWaitsAndRefusesAfter(t *testing.T) {
	g := NewGroup(context.Background())
	var ended atomic.Int32
	started := make(chan struct{})
	for range 3 {
		g.Go(func(ctx context.Context) {
			started <- struct{}{}
			<-ctx.Done()
			ended.Add(1)
		})
	}
	for range 3 {
		<-started
	}
	g.Stop()
	if n := ended.Load(); n != 3 {
		t.Fatalf("Stop returned with %d of 3 goroutines ended", n)
	}
	ran := make(chan struct{}, 1)
	g.Go(func(context.Context) { ran <- struct{}{} })
	g.Stop() // idempotent
	select {
	case <-ran:
		t.Fatal("a goroutine started after Stop")
	default:
	}
	if !g.Stopping() || g.Context().Err() == nil {
		t.Fatal("a stopped group's context is still live")
	}
}

func TestGroupEndsWithParent(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	g := NewGroup(parent)
	done := make(chan struct{})
	g.Go(func(ctx context.Context) { <-ctx.Done(); close(done) })
	cancel()
	<-done
	g.Wait()
}

func TestStoreErrCodes(t *testing.T) {
	for _, c := range []struct {
		err  error
		code apitype.Code
	}{
		{store.ErrNotFound, apitype.CodeNotFound},
		{store.ErrQuota, apitype.CodeQuota},
		{store.ErrCorrupt, apitype.CodeCorrupt},
		{store.ErrLocked, apitype.CodeLocked},
		{store.ErrNotPinned, apitype.CodeInvalid},
	} {
		got := StoreErr(c.err)
		if apitype.CodeOf(got) != c.code || !errors.Is(got, c.err) {
			t.Errorf("%v: code %q, want %q (and the cause kept)", c.err, apitype.CodeOf(got), c.code)
		}
	}
	if StoreErr(nil) != nil {
		t.Error("StoreErr(nil) is not nil")
	}
	plain := errors.New("other")
	if StoreErr(plain) != plain {
		t.Error("an error the store did not make changed")
	}
}
