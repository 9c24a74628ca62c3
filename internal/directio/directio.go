// Package directio holds what writing and reading around the page cache
// (O_DIRECT) needs from memory: buffers whose address is aligned. The
// store's blob file, the daemon's file writer (node/fdpass) and
// bench/fetch's disk floor use it.
package directio

import "unsafe"

// Align is the alignment of direct I/O's buffers, offsets and sizes here:
// the file systems' block size (logical sector sizes of 512 also divide it).
const Align = 4096

// Bytes returns a new slice of n bytes that starts on an Align boundary.
func Bytes(n int) []byte {
	raw := make([]byte, n+Align)
	skip := int(-uintptr(unsafe.Pointer(unsafe.SliceData(raw))) & (Align - 1))
	return raw[skip : skip+n : skip+n]
}

// IsAligned reports whether b starts on an Align boundary.
func IsAligned(b []byte) bool {
	return uintptr(unsafe.Pointer(unsafe.SliceData(b)))%Align == 0
}
