package main

import (
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/myconet/myconet/node/names"
	"github.com/myconet/myconet/node/p2p"
)

// dhtNode is a node that only runs the DHT: a mocknet host and kad-dht with
// the options node.StartNetwork uses (the /myconet prefix, the names
// validators, server mode). It neither stores nor replicates packages.
type dhtNode struct {
	id   peer.ID
	host host.Host // the mocknet host (unwrapped)
	dht  *dht.IpfsDHT
	dead bool
}

// newDHTNode adds a DHT-only node to mn, linked to every peer already in it
// (as nodetest links full nodes: the underlay reaches everyone).
func newDHTNode(mn mocknet.Mocknet, i int, rng *rand.Rand, tr *traffic) (*dhtNode, error) {
	var seed [ed25519.SeedSize]byte
	for k := range seed {
		seed[k] = byte(rng.Uint32())
	}
	priv, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		return nil, err
	}
	addr, _ := ma.NewMultiaddr(fmt.Sprintf("/ip4/127.0.1.%d/tcp/%d", i/60000+1, 1000+i%60000))
	h, err := mn.AddPeer(priv, addr)
	if err != nil {
		return nil, err
	}
	for _, p := range mn.Peers() {
		if p != h.ID() {
			if _, err := mn.LinkPeers(h.ID(), p); err != nil {
				return nil, err
			}
		}
	}
	d, err := dht.New(tr.wrap(h),
		dht.ProtocolPrefix(p2p.DHTPrefix),
		dht.Validator(names.Validators(time.Now)),
		dht.Mode(dht.ModeServer),
	)
	if err != nil {
		h.Close()
		return nil, err
	}
	return &dhtNode{id: h.ID(), host: h, dht: d}, nil
}

// kill stops the node as nodetest.Net.Kill stops a full one: the DHT and
// host close and the links go, so dials to it fail at once.
func (n *dhtNode) kill(mn mocknet.Mocknet) {
	n.dht.Close()
	for _, p := range mn.Peers() {
		if p != n.id {
			mn.UnlinkPeers(n.id, p) // an error only means there was no link
		}
	}
	n.host.Close()
	n.dead = true
}
