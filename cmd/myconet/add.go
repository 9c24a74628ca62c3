package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/myconet/myconet/node/apitype"
)

func addCmd() *command {
	return &command{
		name:    "add",
		args:    "PATH --title T",
		summary: "add a file or directory as a signed package, pin it, print its MRI",
		detail: `A directory becomes a Mycosite when it has an index.html (or --entry names its start page).
Dotfiles in a directory are skipped unless --hidden is given.

Symlinks: a link that stays inside the directory is kept as a link, and the
gateway follows it. A link that leaves it (an absolute target, or one above
the directory) is followed: its target's content goes into the package, since
readers have nothing outside it. --no-follow-links keeps every link as it is.
A link that loops, or leaves towards nothing, refuses the add. add says what
it did with links.`,
		setup: func(c *cli, fset *flag.FlagSet) runFunc {
			var req apitype.AddRequest
			var tags, authors stringList
			fset.StringVar(&req.Title, "title", "", "package `TITLE` (required)")
			fset.StringVar(&req.Description, "description", "", "package `DESCRIPTION`")
			fset.Var(&tags, "tag", "`TAG` (repeatable)")
			fset.StringVar(&req.Kind, "kind", "", "`KIND`: document, video, audio, image, site, dataset, software, archive or other")
			fset.StringVar(&req.Language, "language", "", "`LANGUAGE` (BCP 47, e.g. en, pt-BR)")
			fset.StringVar(&req.License, "license", "", "license as an `SPDX` id (e.g. CC-BY-4.0)")
			fset.Var(&authors, "author", "`AUTHOR` (repeatable)")
			fset.StringVar(&req.Entry, "entry", "", "start `PAGE` of a site (e.g. index.html)")
			fset.StringVar(&req.Previous, "previous", "", "`MRI` of the package this one updates")
			fset.BoolVar(&req.Hidden, "hidden", false, "include dotfiles of a directory")
			fset.BoolVar(&req.NoFollowLinks, "no-follow-links", false, "keep symlinks that leave the directory as links (default: add their targets' content)")
			quiet := fset.Bool("q", false, "print only the MRI")
			asJSON := jsonFlag(c, fset)
			return func(ctx context.Context, args []string) error {
				if err := wantArgs(args, "PATH"); err != nil {
					return err
				}
				path, err := localPath(args[0])
				if err != nil {
					return err
				}
				req.Path = path
				req.Tags, req.Authors = tags, authors

				api, closeAPI, err := c.connect(ctx, c.home)
				if err != nil {
					return err
				}
				defer closeAPI()
				bar := c.newProgress("add")
				res, err := api.Add(ctx, req, bar.callback())
				bar.done()
				if err != nil {
					return err
				}
				switch {
				case *asJSON:
					return printJSON(c.stdout, res)
				case *quiet:
					_, err = fmt.Fprintln(c.stdout, res.MRI)
				default:
					_, err = fmt.Fprintf(c.stdout, "added %s (%d %s, %s)\n",
						res.MRI, res.Files, plural(res.Files, "file", "files"), apitype.FormatSize(res.Size))
					if err == nil && res.Links != nil {
						err = printLinks(c.stdout, res.Links)
					}
				}
				return err
			}
		},
	}
}

// localPath makes p absolute (the daemon does not share our working
// directory) and checks that it exists, so that the error names the path
// as the user typed it resolved: "/nope: no such file or directory".
func localPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return "", fmt.Errorf("%s: %w", abs, pe.Err)
		}
		return "", err
	}
	return abs, nil
}

// printLinks says what add did with symlinks.
func printLinks(w io.Writer, l *apitype.LinkReport) error {
	var parts []string
	if l.Followed > 0 {
		parts = append(parts, fmt.Sprintf("%d followed out of the directory (their content is in the package)", l.Followed))
	}
	if l.Kept > 0 {
		parts = append(parts, fmt.Sprintf("%d kept as %s", l.Kept, plural(int64(l.Kept), "a link", "links")))
	}
	if _, err := fmt.Fprintf(w, "symlinks: %s\n", strings.Join(parts, ", ")); err != nil {
		return err
	}
	for _, e := range l.Examples {
		if _, err := fmt.Fprintf(w, "  %s\n", e); err != nil {
			return err
		}
	}
	if l.Dangling > 0 {
		_, err := fmt.Fprintf(w, "warning: %d %s to nothing in the package; the gateway answers 404 there\n",
			l.Dangling, plural(int64(l.Dangling), "symlink leads", "symlinks lead"))
		return err
	}
	return nil
}
