// Package poisoned, imported for its effect by a package's tests, sets
// bufpool.Poison before anything uses the pool: freed buffers are then
// overwritten, so a fetch's leaf or an import's chunk reused while still
// read shows as wrong bytes in what the tests compare.
package poisoned

import "github.com/myconet/myconet/internal/bufpool"

func init() { bufpool.Poison = true }
