package gateway

import "errors"

// maxLinkHops bounds the symlinks followed for one request, as Linux's
// MAXSYMLINKS (40) bounds path resolution: beyond it the path loops.
const maxLinkHops = 40

// errNoLink is followLinks' answer when no symlink lies on the path: the
// caller's own error stands.
var errNoLink = errors.New("no symlink on the path")
