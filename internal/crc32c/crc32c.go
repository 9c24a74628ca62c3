// Package crc32c is the checksum the store records for each block in its
// blob file and checks on reads: CRC-32C (Castagnoli), hardware accelerated
// on amd64 and arm64. The importer (node/content) and a fetch
// (node/retrieval) compute it where they have just hashed a block, and hand
// it to the store with the block; one definition keeps the three agreeing.
package crc32c

import "hash/crc32"

var table = crc32.MakeTable(crc32.Castagnoli)

// Sum is the CRC-32C of b.
func Sum(b []byte) uint32 { return crc32.Checksum(b, table) }
