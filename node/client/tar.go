package client

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// extractTar unpacks a tar stream into the existing directory dest. Only
// directories and regular files are accepted; an entry with an absolute name,
// a ".." segment, or any other type (symlinks, hard links, devices) is refused
// with an error, and no entry can escape dest (writes go through an os.Root).
// Directories are created 0755 and files 0644 (less the umask); existing files
// are never overwritten.
func extractTar(r io.Reader, dest string, pc *progressCounter) error {
	root, err := os.OpenRoot(dest)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("tar: %w", err)
		}
		name, err := localName(hdr.Name)
		if err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if name == "." {
				continue
			}
			if err := root.MkdirAll(name, 0o755); err != nil {
				return err
			}
		case tar.TypeReg, '\x00': // '\x00' is the old TypeRegA
			if name == "." {
				return fmt.Errorf("tar: a file entry names the root")
			}
			if dir := path.Dir(name); dir != "." {
				if err := root.MkdirAll(dir, 0o755); err != nil {
					return err
				}
			}
			f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.MultiWriter(f, pc), tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("tar: %s: %w", name, err)
			}
			pc.p.Files++
		default:
			return fmt.Errorf("tar: refusing entry %q of type %q (only directories and regular files)", hdr.Name, hdr.Typeflag)
		}
	}
}

// localName checks a tar entry name and returns it cleaned ("." for the
// root itself).
func localName(name string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("tar: refusing entry %q: %s", name, why)
	}
	if name == "" {
		return bad("empty name")
	}
	if strings.ContainsAny(name, "\x00\\") {
		return bad("NUL or backslash in the name")
	}
	if strings.HasPrefix(name, "/") {
		return bad("absolute path")
	}
	for _, seg := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if seg == ".." {
			return bad("\"..\" segment")
		}
	}
	clean := path.Clean(name)
	if clean != "." && !filepath.IsLocal(filepath.FromSlash(clean)) {
		return bad("not a local path")
	}
	return clean, nil
}
