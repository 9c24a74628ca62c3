package library

import "time"

// SetReaderGoneForTest shortens readerGone; the returned func restores it.
func SetReaderGoneForTest(d time.Duration) func() {
	old := readerGone.Swap(int64(d))
	return func() { readerGone.Store(old) }
}
