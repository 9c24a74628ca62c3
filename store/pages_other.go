//go:build !linux

package store

import (
	"os"

	bolt "go.etcd.io/bbolt"
)

// releasePages is a no-op where madvise semantics differ.
func releasePages([]byte) {}

func openCacheHandle(string) *os.File { return nil }

// dropWritten is a no-op where fadvise is not available.
func (db *DB) dropWritten([]written) {}

func (t blockTable) readAhead(*bolt.Bucket, int) {}
