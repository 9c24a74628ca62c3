package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/client"
)

// identityCmd backs up and restores the node's identity (its key: peer ID
// and overlay address).
func identityCmd() *command {
	return &command{
		name:    "identity",
		summary: "back up or restore the node's identity (its key)",
		subs: []*command{
			{
				name:    "export",
				args:    "FILE",
				summary: "write the identity to FILE, encrypted with a passphrase",
				detail: "The passphrase (at least 8 characters) comes from --passphrase-file, else from\n" +
					"the first line of standard input. FILE is created with mode 0600 and never overwritten.",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					passFile := fs.String("passphrase-file", "", "read the passphrase from `FILE`")
					asJSON := jsonFlag(c, fs)
					return func(ctx context.Context, args []string) error {
						if err := wantArgs(args, "FILE"); err != nil {
							return err
						}
						pass, err := c.passphrase(*passFile)
						if err != nil {
							return err
						}
						data, err := node.ExportIdentity(c.home, pass)
						if err != nil {
							return err
						}
						f, err := os.OpenFile(args[0], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
						if err != nil {
							return err
						}
						if _, err := f.Write(data); err != nil {
							f.Close()
							os.Remove(args[0])
							return err
						}
						if err := f.Sync(); err != nil {
							f.Close()
							os.Remove(args[0])
							return err
						}
						if err := f.Close(); err != nil {
							return err
						}
						fmt.Fprintf(c.stderr, "identity written to %s; keep it and its passphrase apart\n", args[0])
						if *asJSON {
							return printJSON(c.stdout, map[string]string{"file": args[0]})
						}
						return nil
					}
				},
			},
			{
				name:    "import",
				args:    "FILE",
				summary: "install the identity of a backup FILE into this home (stop the daemon first)",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					passFile := fs.String("passphrase-file", "", "read the passphrase from `FILE`")
					force := fs.Bool("force", false, "replace a different identity (the old key is kept as identity.key.bak)")
					asJSON := jsonFlag(c, fs)
					return func(ctx context.Context, args []string) error {
						if err := wantArgs(args, "FILE"); err != nil {
							return err
						}
						if err := c.noDaemon(ctx, "identity import"); err != nil {
							return err
						}
						data, err := os.ReadFile(args[0])
						if err != nil {
							return err
						}
						pass, err := c.passphrase(*passFile)
						if err != nil {
							return err
						}
						id, err := node.ImportIdentity(c.home, data, pass, *force)
						if err != nil {
							return err
						}
						type out struct {
							PeerID  string `json:"peer_id"`
							Address string `json:"address"`
						}
						return emit(c, *asJSON, out{id.PeerID.String(), id.Address.String()}, func(w io.Writer, o out) error {
							_, err := fmt.Fprintf(w, "identity %s (overlay %s) installed in %s\n", o.PeerID, o.Address, c.home)
							return err
						})
					}
				},
			},
		},
	}
}

// repoCmd checks and compacts the node's store.
func repoCmd() *command {
	return &command{
		name:    "repo",
		summary: "check or compact the node's store",
		subs: []*command{
			{
				name:    "verify",
				summary: "re-hash every block, walk every pin's DAG, check every index (exit 1 naming what is wrong)",
				detail:  "With a daemon running, the daemon checks its store (a read transaction beside its work).",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					return func(ctx context.Context, args []string) error {
						if err := wantArgs(args); err != nil {
							return err
						}
						rep, schema, err := c.verifyRepo(ctx)
						if err != nil {
							return err
						}
						type out struct {
							apitype.VerifyReport
							Schema int `json:"schema"`
						}
						if err := emit(c, *asJSON, out{rep, schema}, func(w io.Writer, o out) error {
							for _, p := range o.Problems {
								fmt.Fprintf(w, "problem: %s\n", p)
							}
							schema := ""
							if o.Schema > 0 {
								schema = fmt.Sprintf(", store schema v%d", o.Schema)
							}
							_, err := fmt.Fprintf(w, "%d blocks (%s) re-hashed, %d pins walked, %d packages checked%s: %d problems\n",
								o.Blocks, apitype.FormatSize(o.Bytes), o.Pins, o.Packages, schema, len(o.Problems))
							return err
						}); err != nil {
							return err
						}
						if len(rep.Problems) > 0 {
							return fmt.Errorf("%d problems, first: %s", len(rep.Problems), rep.Problems[0])
						}
						return nil
					}
				},
			},
			{
				name:    "compact",
				summary: "give the space a gc freed back to the disk (bbolt compaction; daemon stopped)",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					return func(ctx context.Context, args []string) error {
						if err := wantArgs(args); err != nil {
							return err
						}
						if err := c.noDaemon(ctx, "repo compact"); err != nil {
							return err
						}
						res, err := node.CompactRepo(ctx, c.home)
						if err != nil {
							return lockedErr(c.home, err)
						}
						return emit(c, *asJSON, res, func(w io.Writer, r apitype.CompactResult) error {
							_, err := fmt.Fprintf(w, "store file %s → %s\n", apitype.FormatSize(r.Before), apitype.FormatSize(r.After))
							return err
						})
					}
				},
			},
		},
	}
}

// verifyRepo checks the store through the running daemon, or in-process
// when none runs (then it also reads the store's schema version).
func (c *cli) verifyRepo(ctx context.Context) (apitype.VerifyReport, int, error) {
	cl, err := client.FromHome(ctx, c.home)
	if err == nil {
		defer cl.Close()
		rep, err := cl.VerifyRepo(ctx)
		return rep, 0, err
	}
	if !errors.Is(err, apitype.ErrNoDaemon) {
		return apitype.VerifyReport{}, 0, err
	}
	n, err := node.New(node.Config{Home: c.home})
	if err != nil {
		return apitype.VerifyReport{}, 0, lockedErr(c.home, err)
	}
	defer n.Close()
	rep, err := n.VerifyRepo(ctx)
	info, _ := n.Store().Info()
	return rep, info.Version, err
}

// noDaemon refuses to run op while a daemon serves this home.
func (c *cli) noDaemon(ctx context.Context, op string) error {
	cl, err := client.FromHome(ctx, c.home)
	if err == nil {
		cl.Close()
		return fmt.Errorf("%s needs the daemon stopped (`systemctl stop myconet`, or Ctrl-C the daemon)", op)
	}
	if !errors.Is(err, apitype.ErrNoDaemon) {
		return err
	}
	return nil
}

// passphrase reads a passphrase from file, or the first line of stdin.
func (c *cli) passphrase(file string) (string, error) {
	var line string
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("passphrase: %w", err)
		}
		line, _, _ = strings.Cut(string(b), "\n")
	} else {
		read := func() error {
			l, err := bufio.NewReader(c.stdin).ReadString('\n')
			if err != nil && (err != io.EOF || l == "") {
				return usagef("no passphrase: give --passphrase-file or one line on standard input")
			}
			line = l
			return nil
		}
		var err error
		if f, ok := c.stdin.(*os.File); ok && isTerminal(f) {
			fmt.Fprint(c.stderr, "passphrase: ")
			err = withoutEcho(f, read)
			fmt.Fprintln(c.stderr)
		} else {
			err = read()
		}
		if err != nil {
			return "", err
		}
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usagef("empty passphrase")
	}
	return line, nil
}
