package main

import (
	"context"
	"syscall"
	"testing"

	"github.com/myconet/myconet/node/apitype"
)

// blockingAPI's Add waits for its context, as a long add does.
type blockingAPI struct {
	fakeAPI
	started chan struct{}
}

func (f *blockingAPI) Add(ctx context.Context, req apitype.AddRequest, progress func(apitype.Progress)) (apitype.AddResult, error) {
	close(f.started)
	<-ctx.Done()
	return apitype.AddResult{}, ctx.Err()
}

// Ctrl-C stops a command with "interrupted" and exit status 130, SIGTERM
// with 143, as shells expect (it was 1).
func TestSignalExitStatus(t *testing.T) {
	for _, tt := range []struct {
		sig  syscall.Signal
		want int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		api := &blockingAPI{started: make(chan struct{})}
		c, _, stderr := testCLI(t, api)
		go func() {
			<-api.started // the handler is installed: run is inside the command
			syscall.Kill(syscall.Getpid(), tt.sig)
		}()
		if status := c.run([]string{"--home", t.TempDir(), "add", t.TempDir(), "--title", "T"}); status != tt.want {
			t.Errorf("%v: status %d, want %d", tt.sig, status, tt.want)
		}
		if got := stderr.String(); got != "myconet: add: interrupted\n" {
			t.Errorf("%v: stderr %q", tt.sig, got)
		}
	}
}
