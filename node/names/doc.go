// Package names implements Myconet's two kinds of signed DHT records: mutable
// channel names (namespace /myco-name/) and overlay address claims (namespace
// /myco-addr/), with their kad-dht validators and small publish and resolve
// helpers over a Routing interface that *dht.IpfsDHT satisfies.
//
// # Channel names
//
// The mutable MRI myco://<publisher-peer-id>/<channel> resolves to the newest
// package a publisher signed for that channel. A [Record] says "channel C of
// the holder of key K points at package P, version S, valid from T1 to T2".
//
// Its DHT key is
//
//	"/myco-name/" + string(peer ID bytes) + "/" + channel
//
// (see [NameKey]). The validator does not parse the key; it recomputes the key
// from the record's publisher and channel and requires equality, so a record
// filed under another publisher's or another channel's key is refused even
// though the peer ID bytes may themselves contain '/'. The key is not hashed:
// kad-dht hashes keys for the XOR metric anyway, and a plain key keeps the
// binding check a string comparison.
//
// # Record encoding (version 1)
//
// A record is a hand-rolled, deterministic binary encoding. Integers are big
// endian; every variable field has a 2-byte length prefix:
//
//	version    1 byte  = 1
//	publisher  u16 len + libp2p-marshalled public key (Ed25519 only; 36 bytes)
//	channel    u16 len + channel name: 1..64 of [a-z0-9._-], not starting with '.'
//	target     u16 len + binary CID: CIDv1, dag-cbor, sha2-256 (36 bytes)
//	seq        8 bytes, uint64
//	created    8 bytes, int64 Unix nanoseconds, > 0
//	expires    8 bytes, int64 Unix nanoseconds, created < expires <= created+MaxTTL
//	signature  u16 len + Ed25519 signature (64 bytes)
//
// The signature covers "myconet-name/v1\n" followed by the encoding up to and
// excluding the signature field. The whole value is at most [MaxRecordSize]
// bytes. [Decode] is strict: it refuses trailing bytes, unknown versions,
// non-canonical keys and CIDs and any invalid field, and it verifies the
// signature, so that every value it accepts is genuine and Encode gives back
// exactly the same bytes. It never panics (fuzzed). Whether a record may be
// accepted under a DHT key at a given time is [Check]'s business.
//
// Why not dag-cbor: a record is a handful of fixed fields, and a fixed layout
// has exactly one encoding per record with nothing to canonicalise (map key
// order, integer widths, indefinite lengths), which makes a strict decoder a
// few dozen lines and the signed bytes obvious.
//
// # Validity, sequence numbers and republishing
//
// [NameValidator.Validate] accepts a record that decodes, is signed by its
// publisher, is filed under its own key, has not expired (now < expires) and
// was not created more than [MaxClockSkew] in the future.
// [NameValidator.Select] prefers the highest sequence number, then the latest
// created time, then the greater encoding; among identical values it returns
// the first. A record re-stored with the same bytes therefore replaces itself,
// which refreshes the DHT's receive time.
//
// The publisher keeps its last sequence number: [Publish] must be given a
// sequence number greater than any it used before for the channel when the
// target changes. To keep a record alive the owner republishes it before it
// expires (default TTL [DefaultTTL]) and before the DHT's record age limit
// (kad-dht MaxRecordAge, 48 h by default), every [RepublishInterval] say; a
// republish of the same target may reuse the sequence number, since a later
// created time wins a tie.
//
// kad-dht validates a value when a node stores it, not when it serves it, so
// a node may hand out a record past its expiry until its MaxRecordAge sweep
// drops it; [Resolve] therefore checks what it gets at its own time.
//
// Anyone may re-put a valid record they fetched (a follower keeping a channel
// alive): records are self-certifying.
//
// # Overlay address records
//
// An [AddrRecord] under "/myco-addr/" + the 16 address bytes (see [AddrKey])
// proves that the holder of a key owns an overlay address:
//
//	version    1 byte  = 1
//	publicKey  u16 len + libp2p-marshalled public key (Ed25519 only)
//	signature  u16 len + Ed25519 signature over "myconet-addr/v1\n" + 16 address bytes
//
// [AddrValidator] checks that overlay.AddressFromKey(publicKey) is the address
// of the key and that the signature verifies. An address record never
// expires: an address is a fingerprint of its key, so the claim is true
// forever. Its Select returns the first of the smallest values.
//
// # Wiring the DHT
//
// For a private DHT that knows only Myconet's namespaces (kad-dht v0.42's
// New takes no context):
//
//	dht.New(h,
//		dht.ProtocolPrefix("/myconet"),
//		dht.Validator(names.Validators(nil)), // replaces the default pk and ipns validators
//		...)
//
// dht.Validator replaces the whole validator map, so it must come before any
// dht.NamespacedValidator option. Adding ours with dht.NamespacedValidator
// instead keeps the default "pk" and "ipns" validators beside them; the two
// wirings interoperate.
package names
