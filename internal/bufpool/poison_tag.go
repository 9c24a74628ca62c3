//go:build bufpoison

package bufpool

// Built with -tags bufpoison (cmd/myconet's end-to-end tests build their
// daemon so), freed buffers are overwritten: see Poison.
func init() { Poison = true }
