//go:build !linux

package store

import (
	"errors"
	"os"
)

// canPunch is false here: large blocks stay in bbolt (see blobFile).
func canPunch(*os.File) bool { return false }

func punch(*os.File, int64, int64) {}

func fdatasync(f *os.File) error { return f.Sync() }

func dropCached(*os.File, int64, int64) {}

func openDirect(string, int) *os.File { return nil }

type blobStat struct{ allocated int64 }

func statBlocks(string, *blobStat) error { return errors.New("no block counts here") }
