package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/myconet/myconet/node/apitype"
)

func exportCmd() *command {
	return &command{
		name:    "export",
		args:    "MRI -o FILE.car",
		summary: "write a package and all its content as a CAR file",
		detail:  `The CAR is complete or absent: it is written to a temporary file and renamed when done. "-o -" writes to stdout.`,
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			out := fs.String("o", "", "output `FILE` (.car), or - for stdout")
			asJSON := jsonFlag(c, fs)
			return func(ctx context.Context, args []string) error {
				if err := wantArgs(args, "MRI"); err != nil {
					return err
				}
				if *out == "" {
					return usagef("missing -o FILE.car")
				}
				if *out == "-" && *asJSON {
					return usagef("--json needs -o FILE: with -o - standard output carries the CAR")
				}
				api, closeAPI, err := c.connect(ctx, c.home)
				if err != nil {
					return err
				}
				defer closeAPI()
				if *out == "-" {
					w := bufio.NewWriterSize(c.stdout, 256<<10)
					if err := api.Export(ctx, args[0], w); err != nil {
						return err
					}
					return w.Flush()
				}
				dest, err := filepath.Abs(*out)
				if err != nil {
					return err
				}
				n, err := writeAtomic(dest, func(w io.Writer) error { return api.Export(ctx, args[0], w) })
				if err != nil {
					return err
				}
				return c.printDone(*asJSON, exported{args[0], dest, n},
					fmt.Sprintf("exported %s to %s (%s)", args[0], dest, apitype.FormatSize(n)))
			}
		},
	}
}

// exported is the JSON report of `export`.
type exported struct {
	MRI  string `json:"mri"`
	File string `json:"file"`
	Size int64  `json:"size"` // bytes of the CAR
}

// writeAtomic writes a file through fill into a temporary file next to dest
// and renames it into place only if fill succeeds. It returns the size.
func writeAtomic(dest string, fill func(io.Writer) error) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	cw := &countWriter{w: bufio.NewWriterSize(tmp, 256<<10)}
	if err := fill(cw); err != nil {
		tmp.Close()
		return 0, err
	}
	if err := cw.w.(*bufio.Writer).Flush(); err != nil {
		tmp.Close()
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return 0, err
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func importCmd() *command {
	return &command{
		name:    "import",
		args:    "FILE.car",
		summary: "import a CAR file (v1 or v2), verify every block and pin its roots",
		detail:  `"-" reads the CAR from stdin.`,
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			asJSON := jsonFlag(c, fs)
			return func(ctx context.Context, args []string) error {
				if err := wantArgs(args, "FILE.car"); err != nil {
					return err
				}
				var r io.Reader = c.stdin
				if args[0] != "-" {
					f, err := os.Open(args[0])
					if err != nil {
						return err
					}
					defer f.Close()
					r = f
				}
				api, closeAPI, err := c.connect(ctx, c.home)
				if err != nil {
					return err
				}
				defer closeAPI()
				res, err := api.Import(ctx, bufio.NewReaderSize(r, 256<<10))
				if err != nil {
					return err
				}
				if *asJSON {
					if res.Roots == nil {
						res.Roots = []string{}
					}
					return printJSON(c.stdout, res)
				}
				_, err = fmt.Fprintf(c.stdout, "imported %s (%d %s, %s)\n", strings.Join(res.Roots, " "),
					res.Blocks, plural(res.Blocks, "block", "blocks"), apitype.FormatSize(res.Bytes))
				return err
			}
		},
	}
}
