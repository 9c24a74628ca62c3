//go:build !linux

package main

import "os"

// withoutEcho runs fn; only Linux turns the terminal's echo off.
func withoutEcho(f *os.File, fn func() error) error { return fn() }
