// Package retrieval implements /myconet/fetch/1.0.0: a requester asks a
// provider for whole DAGs (or chosen subtrees of one) in one stream, verifies
// every block it receives, and splits large DAGs across several providers.
// No provider is trusted.
//
// # Roles
//
// A [Service] is both sides. As a provider it serves blocks from
// [Config.Blocks] to anyone who asks, subject to [Config.Allow] and
// [Config.MaxConcurrentServes]. As a requester, [Service.Fetch] drives
// several provider sessions in parallel and writes verified blocks to a
// [Sink].
//
// To fetch the part of a package under a path, the caller resolves the path
// one block at a time with [FetchOptions.Shallow] fetches (each CID it asks
// for comes from a block it already verified), then fetches the subtree it
// found.
//
// # Verification
//
// The requester accepts a block only when
//
//   - its CID is one it asked for in this request (a "want", which it learned
//     from the fetch root or from a verified parent), or a link of a block
//     already verified in this same request, and it has not arrived before in
//     this request;
//   - [content.VerifyBlock] passes: sha2-256, a Myconet codec, the bytes hash
//     to the CID, at most [content.MaxBlockSize] bytes.
//
// Anything else is a protocol violation: the stream is reset, the provider is
// dropped for the rest of the fetch, and every block it still owed goes back
// to the shared frontier for another provider. Nothing unverified reaches the
// sink.
//
// # Splitting and resuming
//
// The requester keeps a frontier: CIDs it needs, learned from verified
// blocks (or the root), not yet received and not assigned to a request. Each
// provider session repeatedly takes a share of the frontier as the wants of
// one request, with a byte budget that starts small and doubles per request
// (so the first requests open the DAG's top levels quickly and idle
// providers soon find work). The provider walks each want depth first until
// the budget is spent; whatever the request owed and did not deliver returns
// to the frontier. A provider that lacks a block says so ("missing"); that
// block returns to the frontier marked as lacking at that provider. The
// frontier is handed out in depth-first DAG order, so a file arrives from
// its start. A session that breaks after its provider delivered blocks (the
// connection closed under it) costs that provider nothing: it gets up to
// two more sessions; one that fails before delivering anything drops it.
// Providers found after the fetch started join it (MoreProviders).
//
// Resume is the same mechanism: blocks the requester already holds
// ([FetchOptions.Have]) are never asked for; the walk continues through them
// by reading them locally ([FetchOptions.Local]), and only the subtrees
// missing locally enter the frontier. Because every want is a CID learned
// from a verified block (local blocks are verified by the store), a provider
// can never smuggle in a block that is not part of the requested DAG.
//
// # Wire format
//
// All integers are unsigned varints (encoding/binary). A CID is
// uvarint(len) followed by its binary form (at most 128 bytes). One stream
// carries a session of one or more request/response exchanges; the requester
// sends the next request only after the previous response ended, and closes
// its side when done.
//
// Request (at most 4 KiB after the length prefix):
//
//	uvarint(len(body)) body
//	body = version(1 byte, =1) flags(1 byte) uvarint(maxBlocks) uvarint(maxBytes)
//	       cid(root) uvarint(n) n × cid(want)
//
// root names the DAG (the provider's policy decides on it); wants are the
// subtree roots to send (1 ≤ n ≤ 100). Flag bit 0 ("shallow") asks for the
// wanted blocks only, not their descendants. maxBlocks and maxBytes bound the
// response (0: the provider's own limit, which also caps them).
//
// Response:
//
//	status(1 byte) frames...
//	status: 0 ok, 1 not found (serves nothing), 2 withheld (policy),
//	        3 busy, 4 bad request
//
// Only an ok status is followed by frames; any other status ends the session
// (the provider closes the stream). Frames:
//
//	0x00                                   end of this response
//	0x01 cid uvarint(len(data)) data       a block (len ≤ content.MaxBlockSize)
//	0x02 cid                               the provider lacks this block
//
// The provider walks the wants in order, depth first, sends each CID at most
// once per response, and stops before a block once the budget is spent (the
// first block is always sent, so each response settles at least its first
// want). A block it lacks gets a missing frame and its subtree is skipped.
//
// # Policy
//
// A provider asks [Config.Allow] about each request's root, and answers
// "missing" for a want that it cannot show lies below that root, so a request
// cannot name an allowed root to obtain blocks of a withheld DAG. It learns
// reachability by reading the DAG's inner blocks breadth first, once per
// session; requests for the root alone cost nothing.
//
// # Limits and deadlines
//
// A provider serves at most [Config.MaxConcurrentServes] sessions, and
// [Config.MaxServesPerPeer] per peer; beyond that it answers busy.
//
// Each side resets the stream when the peer stays silent for
// [Config.IdleTimeout] while it waits to read or write. Only time spent
// waiting on the stream counts, so neither a slow sink nor a requester with
// no work for a provider gets the provider dropped. It also resets when a single
// request takes longer than [Config.RequestTimeout]. These are timers, because
// not every transport honours stream deadlines. A requester reopens a
// session that idled for more than half the idle timeout, and retries once
// on a fresh stream when a reused one fails before the provider answered. Oversized messages, unknown frame types, malformed CIDs and
// trailing bytes reset the stream.
package retrieval
