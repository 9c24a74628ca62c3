package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/node/apitype"
)

func getCmd() *command {
	return &command{
		name:    "get",
		args:    "MRI",
		summary: "save the file or directory tree an MRI names",
		detail: `The output is named after the MRI's last path segment, the name a single file was added
under, or the package CID, unless -o says otherwise; it must not exist yet. "-o -" writes a file to stdout, and a directory as a tar
stream with one top directory (myconet get MRI -o - | tar x).`,
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			out := fs.String("o", "", "output `PATH`, or - for stdout")
			asJSON := jsonFlag(c, fs)
			return c.onNode("MRI", func(ctx context.Context, api apitype.API, args []string) error {
				if *out == "-" && *asJSON {
					return usagef("--json needs -o PATH: with -o - standard output carries the content")
				}
				// Info validates the ref before anything is written and gives
				// the default output name.
				info, err := api.Info(ctx, args[0])
				if err != nil {
					return err
				}
				// A daemon streams a file out while the package arrives (the
				// progress is the file's). A directory tree is written once
				// the whole package is in: fetch it first, to show progress.
				if !isFile(info) {
					if err := c.fetch(ctx, api, args[0]); err != nil {
						return err
					}
				}
				if *out == "-" {
					return c.getToStdout(ctx, api, args[0], info)
				}
				dest := *out
				if dest == "" {
					dest = defaultOutputName(info)
				}
				if dest, err = filepath.Abs(dest); err != nil {
					return err
				}
				if _, err := os.Lstat(dest); err == nil {
					return fmt.Errorf("%s: already exists", dest)
				}
				bar := c.newProgress("get")
				// A second Ctrl-C ends the process at once: it removes the
				// partial file (or tree) first, as the first one does.
				c.onKill(func() { os.RemoveAll(dest) })
				err = api.Get(ctx, args[0], dest, bar.callback())
				c.onKill(nil)
				bar.done()
				if err != nil {
					return err
				}
				return c.printDone(*asJSON, saved{args[0], dest}, fmt.Sprintf("saved %s to %s", args[0], dest))
			})
		},
	}
}

// isFile reports whether info names a file: a path that is one, or a
// package of a single file (which has a name). Unsure, it says no.
func isFile(info apitype.PackageInfo) bool {
	if info.Path != "" {
		return info.PathType == "file"
	}
	return info.Name != ""
}

// saved is the JSON report of `get`.
type saved struct {
	MRI  string `json:"mri"`
	Path string `json:"path"`
}

// fetcher is implemented by the API client of a daemon: it fetches a package
// from the network with progress.
type fetcher interface {
	Fetch(ctx context.Context, ref string, progress func(apitype.Progress)) (apitype.FetchResult, error)
}

// fetch makes the daemon bring the package ref names into its store, with a
// progress bar and, on a terminal, a line saying what came from the network.
// Without a daemon, or when the package is held, it does nothing.
func (c *cli) fetch(ctx context.Context, api apitype.API, ref string) error {
	f, ok := api.(fetcher)
	if !ok {
		return nil
	}
	bar := c.newProgress("fetch")
	res, err := f.Fetch(ctx, ref, bar.callback())
	bar.done()
	if err != nil || !res.Fetched || !c.stderrTTY {
		return err
	}
	_, err = fmt.Fprintf(c.stderr, "fetched %s (%d %s) from %d %s\n", apitype.FormatSize(res.Bytes),
		res.Blocks, plural(res.Blocks, "block", "blocks"), res.Providers, plural(int64(res.Providers), "provider", "providers"))
	return err
}

// defaultOutputName is the last path segment of the MRI, else the package CID.
func defaultOutputName(info apitype.PackageInfo) string {
	if p := strings.Trim(info.Path, "/"); p != "" {
		if base := path.Base(p); base != "." && base != ".." && base != "/" {
			return base
		}
	}
	// A single file keeps the name it was added under.
	if base := filepath.Base(info.Name); info.Name != "" && !strings.ContainsAny(info.Name, `/\`) && base != "." && base != ".." {
		return base
	}
	return info.Package
}

func catCmd() *command {
	return &command{
		name:    "cat",
		args:    "MRI",
		summary: "write the bytes of the file an MRI names to stdout",
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			return c.onNode("MRI", func(ctx context.Context, api apitype.API, args []string) error {
				w := bufio.NewWriterSize(c.stdout, 256<<10)
				if err := api.Cat(ctx, args[0], w); err != nil {
					w.Flush()
					return err
				}
				return w.Flush()
			})
		},
	}
}

func lsCmd() *command {
	return &command{
		name:    "ls",
		args:    "MRI",
		summary: "list the directory an MRI names: type, size, CID, name",
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			return c.onNode("MRI", func(ctx context.Context, api apitype.API, args []string) error {
				entries, err := api.Ls(ctx, args[0])
				if err != nil {
					return err
				}
				return emitList(c, *asJSON, "entries", entries, printEntries)
			})
		},
	}
}

func printEntries(w io.Writer, entries []apitype.Entry) error {
	tw := newTable(w)
	for _, e := range entries {
		name := e.Name
		if e.Type == "dir" {
			name += "/"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Type, apitype.FormatSize(e.Size), e.CID, name)
	}
	return tw.Flush()
}

func infoCmd() *command {
	return &command{
		name:    "info",
		args:    "MRI",
		summary: "describe a package: CIDs, metadata, publisher, signature check",
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			return c.onNode("MRI", func(ctx context.Context, api apitype.API, args []string) error {
				info, err := api.Info(ctx, args[0])
				if err != nil {
					return err
				}
				if info.Publisher == "" {
					// Content without a package root: there is no metadata
					// and no signature to report ("signature: INVALID" was
					// wrong). Say what the CID is instead.
					return notAPackage(ctx, api, info)
				}
				if *asJSON {
					return printJSON(c.stdout, info)
				}
				return printKV(c.stdout, infoRows(info))
			})
		},
	}
}

// notAPackage is the error of `info` on a CID that names content, not a
// package: a raw block, a file's UnixFS root or a directory.
func notAPackage(ctx context.Context, api apitype.API, info apitype.PackageInfo) error {
	what := "content, not a package"
	if c, err := cid.Decode(info.Package); err == nil && c.Type() == cid.Raw {
		what = "a raw block (file data, without metadata or signature): read it with `myconet cat`"
	} else if ents, err := api.Ls(ctx, info.Package); err == nil {
		if len(ents) == 1 && ents[0].CID == info.Package && ents[0].Type != "dir" {
			what = "a file's content (without metadata or signature): read it with `myconet cat`"
		} else {
			what = fmt.Sprintf("a content directory of %d %s (without metadata or signature): list it with `myconet ls`",
				len(ents), plural(len(ents), "entry", "entries"))
		}
	}
	return fmt.Errorf("%s is not a package but %s", info.Package, what)
}

// infoRows is the human report of `info`: every metadata field, set or not.
func infoRows(info apitype.PackageInfo) []kv {
	m := info.Meta
	sig := "valid"
	if !info.SignatureValid {
		sig = "INVALID"
	}
	size := "-"
	if m.Size > 0 {
		size = fmt.Sprintf("%s (%d bytes)", apitype.FormatSize(int64(m.Size)), m.Size)
	}
	files := "-"
	if m.Files > 0 {
		files = fmt.Sprint(m.Files)
	}
	created := m.Created
	if t, err := time.Parse(time.RFC3339, created); err == nil {
		created = t.Local().Format("2006-01-02 15:04:05 MST")
	}
	rows := []kv{
		{"mri", info.MRI},
		{"package", info.Package},
		{"content", info.Content},
		{"title", m.Title},
		{"description", orDash(m.Description)},
		{"tags", orDash(strings.Join(m.Tags, ", "))},
		{"kind", orDash(m.Kind)},
		{"language", orDash(m.Language)},
		{"license", orDash(m.License)},
		{"authors", orDash(strings.Join(m.Authors, ", "))},
		{"entry", orDash(m.Entry)},
		{"created", orDash(created)},
		{"size", size},
		{"files", files},
		{"previous", orDash(m.Previous)},
		{"publisher", info.Publisher},
		{"signature", sig},
	}
	if info.Path != "" {
		rows = append(rows,
			kv{"path", info.Path},
			kv{"path cid", info.PathCID},
			kv{"path type", info.PathType},
			kv{"path size", apitype.FormatSize(info.PathSize)},
		)
	}
	rows = append(rows, kv{"pinned", orDash(strings.Join(info.Pins, ", "))})
	rows = append(rows, annotationRows(info.Annotations)...)
	if info.Stale {
		rows = append([]kv{{"channel", staleNote(info.ResolvedAt)}}, rows...)
	}
	return rows
}
