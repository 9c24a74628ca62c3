package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// withoutEcho runs fn with the terminal f's echo off (passphrase prompts),
// and puts it back.
func withoutEcho(f *os.File, fn func() error) error {
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return fn()
	}
	old := *t
	t.Lflag &^= unix.ECHO
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return fn()
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, &old)
	return fn()
}
