package nodetest

import (
	"fmt"
	"os"
	"sync"
)

// FatalError is what ProgramTB's Fatal panics with; the program recovers it on
// the goroutine that called Fatal (nodetest only calls it from the goroutine
// driving it).
type FatalError struct{ Msg string }

// ProgramTB is a TB for programs (benchmarks) that start nodes outside go
// test: temporary directories live under one root, and Cleanup functions run,
// last first, when Close is called.
type ProgramTB struct {
	root    string
	verbose bool

	mu       sync.Mutex
	cleanups []func()
	ndirs    int
	failed   bool
}

// NewProgramTB makes a ProgramTB whose temporary directories live under a new
// directory named with prefix; verbose sends Log to stderr.
func NewProgramTB(prefix string, verbose bool) (*ProgramTB, error) {
	root, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	return &ProgramTB{root: root, verbose: verbose}, nil
}

// Root is the directory holding every TempDir.
func (t *ProgramTB) Root() string { return t.root }

// Helper implements TB.
func (t *ProgramTB) Helper() {}

func (t *ProgramTB) Log(args ...any) {
	if t.verbose {
		fmt.Fprintln(os.Stderr, args...)
	}
}

func (t *ProgramTB) Errorf(format string, args ...any) {
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
	fmt.Fprintf(os.Stderr, "error: "+format+"\n", args...)
}

func (t *ProgramTB) Fatal(args ...any) { panic(FatalError{fmt.Sprint(args...)}) }

func (t *ProgramTB) Fatalf(format string, args ...any) {
	panic(FatalError{fmt.Sprintf(format, args...)})
}

func (t *ProgramTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *ProgramTB) TempDir() string {
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

// Close runs the cleanups, last registered first, and removes the root.
func (t *ProgramTB) Close() {
	t.mu.Lock()
	fs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
	os.RemoveAll(t.root)
}

// Recover, deferred by a program's run function (`defer tb.Recover(&err)`),
// turns the FatalError panic of a Fatal into *err; other panics go on.
func (tb *ProgramTB) Recover(err *error) {
	if r := recover(); r != nil {
		f, ok := r.(FatalError)
		if !ok {
			panic(r)
		}
		*err = fmt.Errorf("%s", f.Msg)
	}
}
