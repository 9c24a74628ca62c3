package library

import "time"

// SetReaderGoneForTest shortens readerGone; the returned func restores it.
func SetReaderGoneForTest(d time.Duration) func() {
	old := readerGone
	readerGone = d
	return func() { readerGone = old }
}
