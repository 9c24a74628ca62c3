//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package main

import "os"

// isTerminal reports whether f is a terminal; without a termios ioctl we
// assume not, so no progress bar is drawn.
func isTerminal(f *os.File) bool { return false }
