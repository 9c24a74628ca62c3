package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// A command is one subcommand (or a group of them, such as `pin`).
type command struct {
	name    string // "add"
	args    string // positional synopsis: "PATH --title T"
	summary string // one line for `myconet help`
	// setup registers the command's flags on fs and returns the function that
	// runs it with the positional arguments. Calling setup only to print
	// usage is fine: it has no side effects.
	setup func(c *cli, fs *flag.FlagSet) runFunc
	// subs are the subcommands of a group. A group without setup needs one;
	// a group with setup runs itself when the first argument names no
	// subcommand (`publish NAME MRI` beside `publish ls`).
	subs []*command
	// detail is extra help text printed after the synopsis.
	detail string
}

type runFunc func(ctx context.Context, args []string) error

// commands is the table `myconet` dispatches on, in help order.
func commands() []*command {
	return []*command{
		initCmd(), daemonCmd(), idCmd(), statusCmd(),
		peersCmd(), connectCmd(), inviteCmd(), joinCmd(), pingCmd(), routesCmd(), firewallCmd(), nameCmd(),
		addCmd(), getCmd(), catCmd(), lsCmd(), infoCmd(),
		providersCmd(), searchCmd(), siteCmd(), publishCmd(),
		voteCmd(), tallyCmd(), annotateCmd(), moderationCmd(), retractCmd(),
		pinCmd(), gcCmd(), exportCmd(), importCmd(),
		bookmarkCmd(), openCmd(), quotaCmd(), configCmd(), uiCmd(),
		identityCmd(), repoCmd(), logCmd(), versionCmd(), completionCmd(), helpCmd(),
	}
}

func findCommand(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.name == name {
			return c
		}
	}
	return nil
}

// usageError is an error in how the command was called (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// errHelpShown reports that -h printed the usage; the exit status is 0.
var errHelpShown = errors.New("help shown")

// dispatch finds and runs the command args names. It returns the command's
// full name ("pin rm") for error messages.
func (c *cli) dispatch(ctx context.Context, args []string) (string, error) {
	cmds := commands()
	cmd := findCommand(cmds, args[0])
	if cmd == nil {
		return "", usagef("unknown command %q (see 'myconet help')", args[0])
	}
	name := cmd.name
	args = args[1:]
	for cmd.subs != nil {
		if len(args) > 0 && cmd.setup != nil {
			if sub := findCommand(cmd.subs, args[0]); sub != nil {
				cmd, name, args = sub, name+" "+sub.name, args[1:]
				continue
			}
		}
		if cmd.setup != nil {
			break // the group runs itself
		}
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
			if len(args) > 0 {
				printUsage(c.stdout, c, name, cmd)
				return name, nil
			}
			return name, usagef("missing subcommand: one of %s", subNames(cmd))
		}
		sub := findCommand(cmd.subs, args[0])
		if sub == nil {
			return name, usagef("unknown subcommand %q: want one of %s", args[0], subNames(cmd))
		}
		cmd = sub
		name += " " + sub.name
		args = args[1:]
	}

	fs := newFlagSet(name)
	runner := cmd.setup(c, fs)
	addGlobalFlags(c, fs)
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(c.stdout, c, name, cmd)
		return name, nil
	}
	if err != nil {
		return name, &usageError{err.Error()}
	}
	return name, runner(ctx, pos)
}

func subNames(cmd *command) string {
	names := make([]string, len(cmd.subs))
	for i, s := range cmd.subs {
		names[i] = s.name
	}
	return strings.Join(names, ", ")
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by report
	fs.Usage = func() {}
	return fs
}

// parseInterleaved parses flags that may appear before, between and after
// positional arguments (`myconet add ./dir --title T`). The stdlib flag
// package stops at the first non-flag, so parse, take one positional, parse
// the rest again. After "--" everything is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" && !isFlagValue(fs, args, consumed-1) {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// isFlagValue reports whether args[i] was consumed as the value of the
// non-boolean flag just before it (`--title --`).
func isFlagValue(fs *flag.FlagSet, args []string, i int) bool {
	if i == 0 {
		return false
	}
	prev := args[i-1]
	if !strings.HasPrefix(prev, "-") || strings.Contains(prev, "=") || prev == "--" {
		return false
	}
	f := fs.Lookup(strings.TrimLeft(prev, "-"))
	if f == nil {
		return false
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return false
	}
	return true
}

// stringList is a repeatable string flag (--tag a --tag b).
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// wantArgs checks the number of positional arguments.
func wantArgs(args []string, names ...string) error {
	switch {
	case len(args) < len(names):
		return usagef("missing %s", strings.Join(names[len(args):], " "))
	case len(args) > len(names):
		return usagef("unexpected argument %q", args[len(names)])
	}
	return nil
}

// jsonFlag registers a per-command --json that defaults to the global one.
func jsonFlag(c *cli, fs *flag.FlagSet) *bool {
	return fs.Bool("json", c.json, "print JSON")
}

// printMainUsage prints `myconet help`.
func printMainUsage(w io.Writer, gfs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: myconet [--home DIR] [--json] COMMAND [ARGS]\n\n")
	fmt.Fprintf(w, "Myconet is a peer-to-peer content network. Commands:\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, cmd := range commands() {
		if cmd.setup != nil {
			fmt.Fprintf(tw, "  %s\t%s\n", cmd.name, cmd.summary)
		}
		for _, s := range cmd.subs {
			fmt.Fprintf(tw, "  %s %s\t%s\n", cmd.name, s.name, s.summary)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nGlobal flags (before COMMAND):\n")
	printFlags(w, gfs)
	fmt.Fprintf(w, "\nScripting: %s\n", jsonConvention)
	fmt.Fprintf(w, "\nRun 'myconet help COMMAND' or 'myconet COMMAND -h' for a command's flags.\n")
}

// printUsage prints one command's (or group's) usage.
func printUsage(w io.Writer, c *cli, name string, cmd *command) {
	subcommands := func() {
		fmt.Fprintf(w, "\nSubcommands:\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, s := range cmd.subs {
			fmt.Fprintf(tw, "  %s %s\t%s\n", s.name, s.args, s.summary)
		}
		tw.Flush()
	}
	if cmd.setup == nil {
		fmt.Fprintf(w, "Usage: myconet %s SUBCOMMAND\n\n%s\n", name, cmd.summary)
		if cmd.detail != "" {
			fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(cmd.detail))
		}
		subcommands()
		return
	}
	fs := newFlagSet(name)
	cmd.setup(c, fs)
	synopsis := "myconet " + name
	if cmd.args != "" {
		synopsis += " " + cmd.args
	}
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		synopsis += " [flags]"
	}
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", synopsis, cmd.summary)
	if cmd.detail != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(cmd.detail))
	}
	if hasFlags {
		fmt.Fprintf(w, "\nFlags:\n")
		printFlags(w, fs)
	}
	if cmd.subs != nil {
		subcommands()
	}
}

// printFlags lists flags GNU style: "  --title T   package title".
func printFlags(w io.Writer, fs *flag.FlagSet) {
	type row struct{ left, usage string }
	var rows []row
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		left := dash + f.Name
		if _, isBool := f.Value.(interface{ IsBoolFlag() bool }); !isBool {
			if arg == "" {
				arg = "VALUE"
			}
			left += " " + strings.ToUpper(arg)
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		rows = append(rows, row{left, usage})
	})
	sort.SliceStable(rows, func(i, j int) bool {
		return strings.TrimLeft(rows[i].left, "-") < strings.TrimLeft(rows[j].left, "-")
	})
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%s\n", r.left, r.usage)
	}
	tw.Flush()
}
