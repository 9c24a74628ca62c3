//go:build race

package content

// raceEnabled: built with -race, where sync.Pool (bufpool) drops a quarter
// of what it is given, by design.
const raceEnabled = true
