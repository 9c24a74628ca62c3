// Command myconet is the Myconet command line: it runs the daemon and talks to
// a node, through the HTTP API of a running daemon or, when none runs, by
// opening the node's store in-process.
//
// main stays thin: it parses the global flags, finds the subcommand, runs it
// and turns its error into one line on stderr and an exit status (0 ok,
// 1 error, 2 usage, 128 + N for a command signal N stopped: 130 for Ctrl-C).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/myconet/myconet/node/apitype"
)

// defaultMemoryLimit is the Go runtime's soft memory limit unless GOMEMLIMIT
// or the daemon's quota.memory says otherwise. Content streams through
// bounded buffers, so the live heap stays far below it; the limit only keeps
// garbage from piling up between collections during a large add or get.
const defaultMemoryLimit = 96 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// cli is the environment every command runs in.
type cli struct {
	home    string // node home directory (absolute)
	json    bool   // global --json
	version bool   // global --version
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	// stderrTTY says whether stderr is a terminal (progress bars go there).
	stderrTTY bool
	// stdoutTTY says whether stdout is a terminal: output meant for a
	// person watching (search results as they arrive) goes there only then.
	stdoutTTY bool
	// connect opens the API; a field so that tests may replace it.
	connect func(ctx context.Context, home string) (apitype.API, func(), error)
	// daemon opens the API of a running daemon only (commands that need the
	// network); nil means connectDaemon. A field for tests.
	daemon func(ctx context.Context, home string) (apitype.API, func(), error)
	// exit ends the process on a second signal; nil means os.Exit. A field
	// for tests.
	exit func(code int)
	// undoMu guards undo: what a second signal, which ends the process at
	// once, undoes first (the partial file of a get). See onKill.
	undoMu sync.Mutex
	undo   func()
}

// onKill sets what a second signal undoes before it ends the process, or
// clears it (nil).
func (c *cli) onKill(fn func()) {
	c.undoMu.Lock()
	c.undo = fn
	c.undoMu.Unlock()
}

// run is main without the process: it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, connect: connect, daemon: connectDaemon}
	if f, ok := stderr.(*os.File); ok {
		c.stderrTTY = isTerminal(f)
	}
	if f, ok := stdout.(*os.File); ok {
		c.stdoutTTY = isTerminal(f)
	}
	return c.run(args)
}

// run parses the global flags, runs the command and reports its outcome.
func (c *cli) run(args []string) (status int) {
	stdout, stderr := c.stdout, c.stderr
	defer func() {
		// A bug must not print a stack trace at a user; say what happened in one line.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "myconet: internal error: %s\n", oneLine(fmt.Sprint(r)))
			status = exitError
		}
	}()

	gfs := globalFlags(c)
	if err := gfs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printMainUsage(stdout, gfs)
			return exitOK
		}
		fmt.Fprintf(stderr, "myconet: %s (see 'myconet help')\n", oneLine(err.Error()))
		return exitUsage
	}
	rest := gfs.Args()
	if c.version && len(rest) == 0 {
		return c.report("", c.printVersion(c.json))
	}
	if len(rest) == 0 {
		printMainUsage(stderr, gfs)
		return exitUsage
	}

	home, err := resolveHome(c.home)
	if err != nil {
		fmt.Fprintf(stderr, "myconet: %s\n", oneLine(err.Error()))
		return exitError
	}
	c.home = home

	ctx, signaled, stop := c.notifySignals()
	defer stop()

	name, err := c.dispatch(ctx, rest)
	if sig := signaled(); sig != nil && err != nil {
		// Stopped by Ctrl-C or SIGTERM: say so, and exit as shells expect
		// of a command a signal ended (128 + the signal's number).
		c.report(name, errors.New("interrupted"))
		return exitSignal + int(sig.(syscall.Signal))
	}
	return c.report(name, err)
}

// exitSignal plus a signal's number is the exit status of a command that
// signal stopped: 130 for Ctrl-C (SIGINT), 143 for SIGTERM.
const exitSignal = 128

// notifySignals returns a context that SIGINT or SIGTERM cancels, a
// function that tells which signal did (nil if none) and one that stops
// listening. A second signal ends the process at once, for a command that
// does not stop by itself.
func (c *cli) notifySignals() (context.Context, func() os.Signal, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	var got atomic.Value
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigc:
			got.Store(sig)
			cancel()
		case <-done:
			return
		}
		select {
		case sig := <-sigc:
			fmt.Fprintln(c.stderr, "myconet: interrupted again: stopping now")
			c.undoMu.Lock() // held: a command that ends meanwhile keeps its undo set
			if c.undo != nil {
				c.undo()
			}
			exit := c.exit
			if exit == nil {
				exit = os.Exit
			}
			exit(exitSignal + int(sig.(syscall.Signal)))
			c.undoMu.Unlock() // reached only with a test's exit
		case <-done:
		}
	}()
	signaled := func() os.Signal {
		sig, _ := got.Load().(os.Signal)
		return sig
	}
	stop := func() {
		signal.Stop(sigc)
		close(done)
		cancel()
	}
	return ctx, signaled, stop
}

// globalFlags are the flags before the command name.
func globalFlags(c *cli) *flag.FlagSet {
	gfs := newFlagSet("myconet")
	gfs.StringVar(&c.home, "home", "", "node home `DIR` (default $MYCONET_HOME, else ~/.myconet)")
	gfs.BoolVar(&c.json, "json", false, "print one JSON object, for scripts (see 'myconet help')")
	gfs.BoolVar(&c.version, "version", false, "print the version and exit")
	return gfs
}

// report prints err as one line and returns the exit status for it.
func (c *cli) report(name string, err error) int {
	if err == nil {
		return exitOK
	}
	status := exitError
	var ue *usageError
	if errors.As(err, &ue) {
		status = exitUsage
	}
	prefix := "myconet: "
	// "no daemon is running: start one with `myconet daemon`" reads best alone.
	if name != "" && !errors.Is(err, apitype.ErrNoDaemon) {
		prefix += name + ": "
	}
	msg := dropPrefix(oneLine(err.Error()), name)
	if status == exitUsage && name != "" {
		msg += fmt.Sprintf(" (see 'myconet help %s')", name)
	}
	fmt.Fprintln(c.stderr, prefix+msg)
	return status
}

// dropPrefix removes from msg the operation names that the report's own
// prefix already says: the API and the client name their operation too
// ("import: invalid CAR"), which made "myconet: import: import: …".
func dropPrefix(msg, name string) string {
	if name == "" {
		return msg
	}
	words := strings.Fields(name)
	for _, p := range []string{name, words[len(words)-1]} {
		for strings.HasPrefix(msg, p+": ") {
			msg = msg[len(p)+2:]
		}
	}
	return msg
}

// resolveHome picks the home directory: --home, $MYCONET_HOME, ~/.myconet.
func resolveHome(flagHome string) (string, error) {
	home := flagHome
	if home == "" {
		home = os.Getenv("MYCONET_HOME")
	}
	if home == "" {
		dir, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no home directory: set --home or $MYCONET_HOME: %w", err)
		}
		home = filepath.Join(dir, ".myconet")
	}
	abs, err := filepath.Abs(home)
	if err != nil {
		return "", fmt.Errorf("home: %w", err)
	}
	return abs, nil
}

// oneLine folds a multi-line message into one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\r", "")
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}
