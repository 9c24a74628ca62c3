package store

import (
	"errors"
	"fmt"
	"strconv"
)

// Errors returned by Open.
var (
	// ErrLocked is returned by Open when another process (usually a running
	// daemon) holds the store's file lock.
	ErrLocked = errors.New("store: database is in use by another process")

	// ErrVersion is returned by Open when the file was written by a newer
	// version of the store than this one understands.
	ErrVersion = errors.New("store: unsupported schema version")

	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("store: closed")
)

// Errors returned by readers.
var (
	// ErrNotFound is returned when a block, package record or bookmark does
	// not exist.
	ErrNotFound = errors.New("store: not found")

	// ErrCorrupt is returned when a stored block no longer hashes to its CID,
	// or when an on-disk record cannot be decoded. The bytes are never
	// returned.
	ErrCorrupt = errors.New("store: corrupt data")
)

// Errors returned by writers.
var (
	// ErrQuota is returned when a write would exceed the disk quota even
	// after evicting cache pins. The concrete error is a *QuotaError.
	ErrQuota = errors.New("store: disk quota exceeded")

	// ErrNotPinned is returned by RemovePin when the root is not pinned with
	// the given reason.
	ErrNotPinned = errors.New("store: not pinned")

	// ErrExists is returned by AddBookmark for a name already taken.
	ErrExists = errors.New("store: already exists")

	// ErrBadName is returned for an invalid bookmark name or pin reason.
	ErrBadName = errors.New("store: invalid name")

	// ErrBatchDone is returned by Put, Flush and Commit on a batch that was
	// already committed or aborted.
	ErrBatchDone = errors.New("store: batch already committed or aborted")
)

// QuotaError describes a write that does not fit under the disk quota.
// errors.Is(err, ErrQuota) reports true for it.
type QuotaError struct {
	Need  int64 // bytes the operation needs to write
	Free  int64 // bytes still free under the quota (after possible eviction)
	Quota int64 // the quota
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("store: disk quota exceeded: need %s, have %s of %s",
		humanBytes(e.Need), humanBytes(e.Free), humanBytes(e.Quota))
}

// Unwrap returns ErrQuota.
func (e *QuotaError) Unwrap() error { return ErrQuota }

// lockedError names the path of a locked store.
type lockedError struct{ path string }

func (e *lockedError) Error() string {
	return "store: " + e.path + " is in use by another process (is a daemon running?)"
}

func (e *lockedError) Unwrap() error { return ErrLocked }

// humanBytes formats n with a binary unit: "512 B", "1.5 MiB".
func humanBytes(n int64) string {
	// Decimal units, as quotas are written ("500MB", "20GB") and shown.
	if n < 0 {
		return "-" + humanBytes(-n)
	}
	if n < 1000 {
		return strconv.FormatInt(n, 10) + " B"
	}
	const units = "kMGTPE"
	f := float64(n)
	i := -1
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + units[i:i+1] + "B"
}
