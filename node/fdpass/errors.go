package fdpass

import "errors"

// ErrNoFile is what a handler answers when no file came with the request.
var ErrNoFile = errors.New("no file descriptor came with the request")
