package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
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

// slowGetAPI's Get writes part of dest, then, once its context ends, takes
// until release to return (a download slow to stop).
type slowGetAPI struct {
	fakeAPI
	started, stopping, release chan struct{}
}

func (f *slowGetAPI) Info(ctx context.Context, ref string) (apitype.PackageInfo, error) {
	return apitype.PackageInfo{Name: "film.mkv"}, nil
}

func (f *slowGetAPI) Get(ctx context.Context, ref, dest string, progress func(apitype.Progress)) error {
	if err := os.WriteFile(dest, []byte("part of a film"), 0o644); err != nil {
		return err
	}
	close(f.started)
	<-ctx.Done()
	close(f.stopping)
	<-f.release
	return ctx.Err()
}

// A second Ctrl-C ends the process at once, and removes the partial file
// of a get first (it was left behind).
func TestSecondSignalRemovesPartialGet(t *testing.T) {
	api := &slowGetAPI{started: make(chan struct{}), stopping: make(chan struct{}), release: make(chan struct{})}
	c, _, stderr := testCLI(t, api)
	dest := filepath.Join(t.TempDir(), "film.mkv")
	exited := make(chan int, 1)
	c.exit = func(code int) {
		exited <- code
		close(api.release) // let the command finish: this process goes on
	}
	go func() {
		<-api.started
		syscall.Kill(syscall.Getpid(), syscall.SIGINT)
		<-api.stopping // the first one arrived: the second is not merged into it
		syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	}()
	c.run([]string{"--home", t.TempDir(), "get", "myco://bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", "-o", dest})
	select {
	case code := <-exited:
		if code != 130 {
			t.Errorf("exit status %d, want 130", code)
		}
	default:
		t.Fatalf("the second signal did not end the process; stderr %q", stderr.String())
	}
	if _, err := os.Lstat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the partial file is still there: %v", err)
	}
	if !strings.Contains(stderr.String(), "interrupted again") {
		t.Errorf("stderr %q", stderr.String())
	}
}
