// Package deps pins the module's dependencies during bootstrap.
package deps

import (
	_ "github.com/ipfs/boxo/ipld/merkledag"
	_ "github.com/ipfs/boxo/ipld/unixfs/importer"
	_ "github.com/ipfs/boxo/ipld/unixfs/io"
	_ "github.com/ipfs/boxo/chunker"
	_ "github.com/ipld/go-car/v2"
	_ "github.com/ipld/go-ipld-prime/codec/dagcbor"
	_ "go.etcd.io/bbolt"
	_ "github.com/libp2p/go-libp2p"
	_ "github.com/libp2p/go-libp2p-kad-dht"
	_ "golang.zx2c4.com/wireguard/tun"
)
