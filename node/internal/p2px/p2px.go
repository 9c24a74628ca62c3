// Package p2px holds the few libp2p helpers several of the node's services
// need alike (p2p, overlaynet, library, moderate, searchsvc, replication),
// so that none of them copies another's or imports a sibling service.
package p2px

import (
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// PeerIDFromEd25519 converts a raw Ed25519 public key (as packages carry
// it) to a peer ID; "" if the key is malformed.
func PeerIDFromEd25519(pub []byte) peer.ID {
	k, err := crypto.UnmarshalEd25519PublicKey(pub)
	if err != nil {
		return ""
	}
	id, err := peer.IDFromPublicKey(k)
	if err != nil {
		return ""
	}
	return id
}

// IsRelayed reports whether a is a circuit address (through a relay).
func IsRelayed(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}

// HasDirectConn reports whether one of conns is not relayed.
func HasDirectConn(conns []network.Conn) bool {
	for _, c := range conns {
		if !IsRelayed(c.RemoteMultiaddr()) {
			return true
		}
	}
	return false
}
