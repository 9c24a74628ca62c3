package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrNoHome reports a home directory that holds no node. Only `init` and
// the daemon create a home; every other command needs one, so that a typo
// in --home or $MYCONET_HOME never starts a new node with a new identity.
var ErrNoHome = errors.New("no Myconet home")

// CheckHome reports whether home holds a node: its identity key exists.
// The error for a missing one wraps ErrNoHome and tells what to do.
func CheckHome(home string) error {
	_, err := os.Stat(filepath.Join(home, IdentityFile))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%w at %s: run `myconet init` (or pass the right --home)", ErrNoHome, home)
	default:
		return fmt.Errorf("home: %w", err)
	}
}
