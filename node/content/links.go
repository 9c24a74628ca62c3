package content

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrSymlink reports a symlink an import cannot honour: one that loops, or
// one that leaves the tree towards nothing.
var ErrSymlink = errors.New("symlink")

// LinkReport reports what an import did with symlinks.
//
// A link whose target stays inside the tree being added (a relative target
// that does not climb above the tree's root) is kept as a UnixFS symlink:
// the package holds the file once and the gateway resolves the link. A link
// that leaves the tree (an absolute target, or one above the root) is
// followed: the package holds its target's content in its place, as a
// publisher whose pages load _static/jquery.js -> /usr/share/javascript/…
// expects, since nothing outside the package exists for a reader. With
// NoFollowLinks every link is kept as it is (ipfs add's default).
type LinkReport struct {
	Followed int      // links leaving the tree whose content was imported
	Kept     int      // links kept as symlinks
	Dangling int      // kept links that resolve to nothing (or, under NoFollowLinks, leave the tree)
	Examples []string // a few "path -> target (followed|kept|dangling)" lines
}

const maxLinkExamples = 5

func (l *LinkReport) note(rel, target, what string) {
	if len(l.Examples) < maxLinkExamples {
		l.Examples = append(l.Examples, rel+" -> "+target+" ("+what+")")
	}
}

// walkDir is a directory on the import's path: the real path it was read
// from, and the real root of the tree it belongs to (the added directory,
// or the target of a followed link), which decides which links stay inside.
type walkDir struct {
	real, mount string
	stack       []string // real paths of the directories above, and this one
}

func (d walkDir) child(name string) walkDir {
	p := filepath.Join(d.real, name)
	return walkDir{real: p, mount: d.mount, stack: append(d.stack[:len(d.stack):len(d.stack)], p)}
}

// followed is the walk state of the directory a followed link leads to.
func (d walkDir) followed(real string) walkDir {
	return walkDir{real: real, mount: real, stack: append(d.stack[:len(d.stack):len(d.stack)], real)}
}

// within reports whether p is dir or below it (both clean and absolute).
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
}

// linkPlan is the decision about one symlink.
type linkPlan struct {
	target string      // as stored in the link
	follow bool        // import the target's content in its place
	info   fs.FileInfo // the target's, when followed
	real   string      // the target's real path, when followed
	loose  bool        // kept, but resolves to nothing in the package
}

// planLink decides about the symlink named name in d (rel is its path in
// the package, for messages).
func planLink(d walkDir, name, rel string, follow bool) (linkPlan, error) {
	p := filepath.Join(d.real, name)
	target, err := os.Readlink(p)
	if err != nil {
		return linkPlan{}, fmt.Errorf("%w: %s: %v", ErrUnreadable, p, unwrapPathErr(err))
	}
	lp := linkPlan{target: target}
	inside := !filepath.IsAbs(target) && within(filepath.Join(d.real, target), d.mount)
	st, statErr := os.Stat(p)
	if errors.Is(statErr, syscall.ELOOP) {
		return linkPlan{}, fmt.Errorf("%w loop: %s -> %s never reaches a file or directory", ErrSymlink, rel, target)
	}
	if !follow || inside {
		lp.loose = statErr != nil || !inside
		return lp, nil
	}
	if statErr != nil {
		return linkPlan{}, fmt.Errorf("%w: %s -> %s leaves the tree and its target cannot be read (%v); fix it, or add with --no-follow-links to keep links as they are", ErrSymlink, rel, target, unwrapPathErr(statErr))
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return linkPlan{}, fmt.Errorf("%w: %s -> %s: %v", ErrSymlink, rel, target, unwrapPathErr(err))
	}
	if st.IsDir() {
		for _, up := range d.stack {
			if within(up, real) {
				return linkPlan{}, fmt.Errorf("%w loop: %s -> %s leads back to %s, which holds the link", ErrSymlink, rel, target, real)
			}
		}
	} else if !st.Mode().IsRegular() {
		return linkPlan{}, fmt.Errorf("%w: %s -> %s: not a regular file or directory", ErrSymlink, rel, target)
	}
	lp.follow, lp.info, lp.real = true, st, real
	return lp, nil
}
