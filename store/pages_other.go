//go:build !linux

package store

// releasePages is a no-op where madvise semantics differ.
func releasePages([]byte) {}
