// Package moderate is a node's community moderation service: the
// aggregator that counts votes and signs tallies, the
// /myconet/moderation/1.0.0 protocol, decisions (cached, refreshed in the
// background, kept on disk), local allow and deny rules, publisher
// retractions, aggregator sync, and the withheld check every other
// service asks (Service.Withheld, WithheldCached, WithheldErr).
//
// It may import the pure cores (moderation, metadata, mri, store),
// node/apitype, node/config and libp2p; never node nor a sibling service.
// What it needs from the node comes in Options (the store, the key, a
// clock, the config, ref resolution, search hooks) and Network (a host
// and the DHT, while the node is on the network).
package moderate
