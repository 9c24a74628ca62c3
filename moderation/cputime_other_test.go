//go:build !unix

package moderation

import "time"

// cpuTime is not measured here; benchmarks then report no CPU figures.
func cpuTime() time.Duration { return 0 }
