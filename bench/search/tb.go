package main

import (
	"fmt"
	"os"
	"sync"
)

// errFatal is what runTB's Fatal raises; main recovers it on the goroutine
// that called Fatal (nodetest only calls it from the goroutine driving it).
type errFatal struct{ msg string }

// runTB is nodetest.TB for a program: temporary directories live under one
// root, and Cleanup functions run, last first, when close is called.
type runTB struct {
	root    string
	verbose bool

	mu       sync.Mutex
	cleanups []func()
	ndirs    int
	failed   bool
}

func newRunTB(verbose bool) (*runTB, error) {
	root, err := os.MkdirTemp("", "bench-search-")
	if err != nil {
		return nil, err
	}
	return &runTB{root: root, verbose: verbose}, nil
}

func (t *runTB) Helper() {}

func (t *runTB) Log(args ...any) {
	if t.verbose {
		fmt.Fprintln(os.Stderr, args...)
	}
}

func (t *runTB) Errorf(format string, args ...any) {
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
	fmt.Fprintf(os.Stderr, "error: "+format+"\n", args...)
}

func (t *runTB) Fatal(args ...any) { panic(errFatal{fmt.Sprint(args...)}) }

func (t *runTB) Fatalf(format string, args ...any) { panic(errFatal{fmt.Sprintf(format, args...)}) }

func (t *runTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *runTB) TempDir() string {
	t.mu.Lock()
	t.ndirs++
	n := t.ndirs
	t.mu.Unlock()
	dir := fmt.Sprintf("%s/%06d", t.root, n)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// close runs the cleanups, last registered first, and removes the root.
func (t *runTB) close() {
	t.mu.Lock()
	fs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
	os.RemoveAll(t.root)
}
