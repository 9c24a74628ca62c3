// Package moderation is the pure core of Myconet's community moderation:
// signed keep-or-remove votes with proof of work, polls that count one vote
// per voter, aggregators' signed tallies that anyone can recount, the
// policy that turns several tallies into a node's decision, and signed
// community annotations of package metadata.
//
// The package does no I/O, starts no goroutines and does not log. The node
// carries votes, tallies and annotations over the DHT, keeps them, and
// calls in here to encode, verify, count and decide.
//
// # Records and encodings (version 1)
//
// Votes, tallies and annotations are hand-rolled, deterministic binary
// records, like the channel records of node/names: integers big endian,
// public keys (raw 32-byte Ed25519, as a package's publisher) and
// signatures at their fixed sizes, every variable field behind a 2-byte
// length, times as int64 Unix nanoseconds after 1970. A fixed layout has
// one encoding per record, so the decoders are strict (no trailing bytes,
// canonical CIDs, sorted lists) and Encode of a decoded record gives back
// its input. Decoders only parse; the Verify functions check keys, times,
// work and signatures. All decoders are fuzzed.
//
// A vote (at most MaxVoteSize = 1 KiB; 434 bytes with the longest reason):
//
//	version  1 byte = 1
//	target   u16 length + binary package CID (CIDv1 dag-cbor sha2-256, 36 bytes)
//	choice   1 byte: 1 keep, 2 remove
//	voter    32 bytes
//	time     8 bytes
//	reason   u16 length + UTF-8, at most MaxReason = 280 bytes, no control characters
//	nonce    8 bytes
//	sig      64 bytes
//
// The proof of work is SHA-256("myconet-vote-pow/v1\n" + the encoding from
// version to reason + nonce); it must have at least D leading zero bits.
// The signature is Ed25519 by the voter over "myconet-vote/v1\n" + the
// encoding from version to nonce, so it covers the nonce too and a vote
// has exactly one encoding.
//
// A tally (TallySize = 183 bytes):
//
//	version  1 byte = 1
//	target   u16 length + binary package CID
//	keep     4 bytes
//	remove   4 bytes
//	digest   32 bytes: Poll.Digest of the counted votes
//	time     8 bytes
//	signer   32 bytes: the aggregator's key
//	sig      64 bytes: over "myconet-tally/v1\n" + everything before it
//
// The digest is SHA-256("myconet-poll/v1\n" + for each counted vote, in
// ascending byte order of encodings: u16 length + encoding). It depends
// only on the set of votes, so aggregators that counted the same votes
// sign the same digest, and Recount can check a tally against the votes
// its signer offers.
//
// An annotation (at most MaxAnnotationSize = 4 KiB):
//
//	version   1 byte = 1
//	target    u16 length + binary package CID
//	annotator 32 bytes
//	time      8 bytes
//	tags      1 byte count (<= 16) + each u16 length + tag (1..64 bytes), unique, ascending
//	titles    1 byte count (<= 8) + each u16 length + language (canonical BCP 47),
//	          u16 length + title (1..256 bytes); languages unique, ascending
//	note      u16 length + UTF-8 (<= 1024 bytes; tab and line feed allowed)
//	nonce     8 bytes
//	sig       64 bytes
//
// with work domain "myconet-annotation-pow/v1\n" and signature domain
// "myconet-annotation/v1\n", as for votes.
//
// # On the network
//
// Package node carries these records over /myconet/moderation/1.0.0 to the
// k nodes closest in the DHT to the poll key "myconet-poll/" + binary
// package CID (see node/moderation_wire.go and node/moderation.go):
//
//	request  = u16 len(body) body
//	body     = version(1) op(1) u16 len(target) target [record]
//	           op 1 vote, 2 annotate (record = the encoding above),
//	           3 tally, 4 tally and its votes, 5 annotations (no record)
//	response = status(1: 0 ok, 1 rejected, 2 busy) u32 len(payload) payload
//	           ok payloads: outcome text; a tally; a tally, u32 count and
//	           count × (u16 len, vote); u32 count and count × (u16 len, annotation)
//
// # Counting
//
// A Poll counts one vote per voter key: of two votes by one voter the later
// (by its signed time; at equal times the greater encoding) is counted, a
// replay of the counted vote is a duplicate, and the outcome never depends
// on arrival order. A poll holds at most a configured number of voters
// (DefaultMaxVotes); further new voters are refused, replacements are
// not. The bound protects an aggregator's disk, at a price: whoever fills
// a poll first (see the Sybil limits below) shuts later voters out of it. Summarize counts annotations the same way, one (the latest) per
// annotator, and reports each tag, title and note with the number of
// distinct annotators who gave it.
//
// Verify (and VerifyAnnotation) checks from cheap to dear: fields and
// sizes, the time window (ErrFuture beyond the allowed skew, ErrExpired
// beyond a maximum age when the caller gives one: the node gives none for
// votes, which stay valid however old, since aggregators hand them on to
// each other and one counted vote per voter is what limits a replay), the
// work, and last the signature.
//
// # Combining tallies
//
// A node gathers tallies of a package from several aggregators (the k
// nodes closest to its poll key) and Policy.Decide combines them:
//
//  1. The node's own deny and allow lists decide first (deny beats allow).
//  2. Tallies for another package, with a bad signature, or by a
//     distrusted signer are ignored; of one signer's tallies only the
//     latest is used. If the policy names trusted signers and any of
//     them has a tally, only the trusted signers' tallies are used.
//  3. Fewer than MinTallies usable tallies: undecided.
//  4. Combined keep = the upper median of the tallies' keep counts;
//     combined remove = the lower median of their remove counts (for an
//     odd number of tallies both are the plain median).
//  5. Fewer than MinVotes combined votes: undecided. Otherwise remove when
//     remove ≥ RemoveRatio × (keep + remove), else keep.
//
// Why the median: if fewer than half of the used tallies lie, each
// combined count lies between the smallest and the largest count of an
// honest tally; when the honest aggregators agree (they counted the same
// votes) the combined counts are exactly theirs, whatever the liars claim.
// So one lying aggregator out of five, or two, change nothing. A mean
// would let one liar claiming a million remove votes decide alone;
// "any tally says remove" would too. The two middle values of an even
// number of tallies are resolved towards keep (more keep, fewer remove):
// with two tallies, one liar can at worst block a removal, never force
// one, which is the safer failure for a network meant to resist
// censorship. Trust works by selection rather than weights: a trusted
// signer's tally is believed as a whole, and the median then runs over
// the trusted ones only.
//
// What the median cannot catch: an aggregator that leaves votes out
// signs a smaller set honestly, and Recount (which proves counts and
// digest agree with the votes shown) passes. A majority of aggregators is
// needed to bias the result that way; aggregators are chosen by DHT
// distance, and node IDs are free to generate, so an attacker can place
// nodes near a poll key. Trusted signers and MinTallies are the policy's
// answer; a node can also recount tallies and compare the digests of
// different aggregators.
//
// # Sybil limits
//
// One key is one vote, and keys cost nothing: an Ed25519 key pair takes
// microseconds. Proof of work only raises the price of each vote; it does
// not tie votes to people. At DefaultDifficulty (23 bits: 2^23 ≈ 8.4
// million SHA-256 compressions expected per vote) the figures are:
//
//   - this implementation (Go, SHA extensions, restarting from the hash
//     state after the fixed prefix) on one core of the AMD EPYC virtual
//     machine it was measured on: 10.5 million work hashes per CPU second,
//     0.8 CPU-seconds per vote on average, about 4,500 votes per
//     core-hour. An attacker with N cores casts about 4,500·N votes an
//     hour: 100 cores fill a poll of DefaultMaxVotes in about a minute
//     and a half, one core in a little over 2 hours;
//   - hand-tuned CPU code may gain a small factor at most over that, as
//     the compression function already runs in the SHA instructions;
//   - one consumer GPU computes on the order of 10^9 to 10^10 SHA-256 per
//     second: 100 to 1,000 votes per second, millions per hour. Proof of
//     work does not stop an attacker with GPUs.
//
// The time to find a nonce is geometric: half of all votes take under
// 0.7 of the mean, one in a hundred over 4.6 times it.
//
// So the defaults only stop casual abuse. With MinVotes = 10 and
// RemoveRatio = 2/3, a single core removes a package nobody voted on in
// about 8 seconds; each honest keep vote then costs the attacker two
// more remove votes. What protects a node beyond that is its own policy:
// trusted tally signers (aggregators who may filter voters by their own
// means), a higher MinVotes, and its allow list, which beats every
// tally. Votes are public and signed: anyone can see which keys voted.
package moderation
