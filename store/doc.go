// Package store keeps a node's content-addressed blocks and its indexes in
// one bbolt file (<home>/store.db): pins, package records, bookmarks and
// usage counters. It never imports libp2p, boxo or other Myconet packages;
// it learns a block's links through Config.Links.
//
// # Layout
//
// The file has these buckets, all keyed by cid.Bytes() unless noted. Blocks,
// staged marks and pins are keyed by the CIDv1 form (blockKey): a CIDv0
// names the same block as its CIDv1, whichever one a caller or a CAR uses;
// Open rewrites CIDv0 keys that older stores hold.
//
//   - blocks: an index from CID to the block's sequence number and size,
//     or to its range in the blob file.
//   - data: block bytes keyed by sequence number, so that a batch appends
//     to the end of the tree instead of rewriting the large neighbours of
//     random keys.
//
// Blocks of 64 KiB or more that a Batch writes go to <path>.blob, an
// append-only file beside the bbolt file, written around the page cache
// (O_DIRECT) and fsynced before the transaction that indexes them, with
// the CRC-32C of their bytes, which reads check; deleted ranges are punched
// out of it (see blobFile). Where holes cannot be punched they stay in
// bbolt, as all blocks did before schema version 3.
//   - staged: blocks written by a batch that has not committed yet, with the
//     number of open batches holding each.
//   - pins: for each pinned root, its pins (one per reason).
//   - packages: package records.
//   - bookmarks: keyed by name.
//   - meta: the schema version and the usage counters (blocks, bytes), which
//     change in the same transaction as the blocks.
//   - indexes: derived indexes (the search index), one nested bucket per
//     index and per table, read and written through ViewIndex and
//     UpdateIndex; their owner keeps them consistent with the pins.
//
// Records are versioned (a leading version byte); Open refuses a file with a
// newer schema version (ErrVersion).
//
// # Writing and crash consistency
//
// Content is added through a Batch. Put buffers blocks and writes them in one
// transaction per ~16 MiB, marking each new block as staged in the same
// transaction; blob blocks are written to the blob file as they come, and
// the blob file is fsynced before the transaction that indexes them (every
// 128 MiB, or 16 MiB for a Keep batch). Commit writes the pin (and package record) and clears the
// staged marks of the batch and of the pinned DAG, in one transaction. Abort
// deletes the blocks only it staged. Open deletes every block still staged:
// they belong to a process that crashed. So after a crash at any point a
// package is either complete and pinned, or absent, and no space leaks.
//
// # Garbage collection and the quota
//
// GC marks from every pin root through Config.Links (raw blocks are not read)
// and deletes unmarked blocks that no open batch holds, a few thousand per
// transaction. The disk quota bounds the bytes of block data. When a write
// would exceed it, cache-only pins are evicted, least recently accessed
// first (see Touch); local and replica pins never are. If that is not
// enough the write fails with a *QuotaError (ErrQuota) before anything
// becomes visible.
//
// # Caveats
//
// Block bytes passed to View, ViewUnverified and LinksFunc point into the
// memory-mapped file: they are valid only during the callback and must not
// be modified. Get returns a copy. Put keeps a reference to its data until
// the batch flushes. Readers except ViewUnverified check what they read
// (ErrCorrupt): a blob block against the CRC-32C its index entry recorded
// when it was written (from schema version 4), any other block against the
// hash in its CID; Verify hashes every block. Only one process can open the
// file (ErrLocked).
package store
