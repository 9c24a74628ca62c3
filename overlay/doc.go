// Package overlay makes every node an IPv6 router on the mesh: key-derived
// addresses, the TUN device, packet forwarding between peers and the firewall.
//
// # Seams
//
// The Router sits between two interfaces: wireguard's tun.Device (nil for a
// node without a TUN) and the mesh, which the node supplies as a Transport
// (send packets to a peer) and a Resolver (overlay address → peer and public
// key, from the /myco-addr/ DHT record). Inbound packets reach the Router
// through Deliver, with the key of the connection they came on.
//
// # Data path
//
// Outbound: TUN (batched Read) → parse → source must be our address,
// destination inside fd6d:7963::/32 → MTU check (Packet Too Big to the TUN)
// → firewall records the flow → route cache (resolving in the background,
// holding a few packets meanwhile) → Transport.Send, one call per peer and
// batch.
//
// Inbound: Deliver → parse → destination must be our address, source must be
// AddressFromKey(peer key) (else dropped as spoofed) → MTU check (Packet Too
// Big back to the peer) → firewall → echo requests answered directly → TUN
// (batched Write).
//
// # On the wire
//
// Per peer, one long-lived stream carries frames (see FrameWriter): a u32
// length and then [u16 size][packet] records. A Sender batches whatever is
// queued into one frame per Write; a FrameReader reads them back with strict
// limits.
//
// # Pure parts
//
// ParsePacket, the ICMPv6 builders, the framing codec, rules (ParseRule,
// Rule.String) and the Firewall start no goroutines and do no I/O.
package overlay
