package node

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// Build stamps, set at link time by scripts/release.sh:
//
//	-ldflags "-X github.com/myconet/myconet/node.Version=v0.2.0
//	          -X github.com/myconet/myconet/node.BuildCommit=<sha>
//	          -X github.com/myconet/myconet/node.BuildDate=<RFC 3339>"
//
// Left empty, Build fills them from debug.ReadBuildInfo (the VCS stamps
// `go build` records in a git checkout) or says "unknown".
var (
	// Version is the software version reported by status, version and the
	// libp2p user agent.
	Version = "0.1.0-dev"
	// BuildCommit is the VCS revision the binary was built from.
	BuildCommit = ""
	// BuildDate is when that revision was committed (or the build ran), RFC 3339.
	BuildDate = ""
)

// BuildInfo describes the running binary: what `myconet version --json`
// prints. No field is ever empty.
type BuildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	Modified  bool   `json:"modified,omitempty"` // built from a tree with uncommitted changes
	GoVersion string `json:"go"`
	Platform  string `json:"platform"` // GOOS/GOARCH
}

var buildOnce = sync.OnceValue(func() BuildInfo {
	b := BuildInfo{Version: Version, Commit: BuildCommit, Date: BuildDate,
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version // go install module@vX.Y.Z
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				if b.Date == "" {
					b.Date = s.Value
				}
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	for _, f := range []*string{&b.Version, &b.Commit, &b.Date} {
		if *f == "" {
			*f = "unknown"
		}
	}
	return b
})

// Build returns the running binary's version, commit and date.
func Build() BuildInfo { return buildOnce() }
