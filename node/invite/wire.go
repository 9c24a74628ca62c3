package invite

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
)

// Protocol is the libp2p protocol a joining node presents its invitation on:
// it writes a u16 length and the invitation text; the inviting node answers
// with one JSON Reply (at most MaxReply bytes) and closes the stream.
const Protocol = protocol.ID("/myconet/join/1.0.0")

// Reply limits.
const (
	MaxReply      = 64 << 10
	MaxReplyPeers = 32
)

// Reply is the inviting node's answer: an error, or some of its peers for
// the newcomer to know.
type Reply struct {
	Error string      `json:"error,omitempty"`
	Peers []ReplyPeer `json:"peers,omitempty"`
}

// ReplyPeer is one peer and its addresses.
type ReplyPeer struct {
	ID    string   `json:"id"`
	Addrs []string `json:"addrs"`
}

// WriteRequest sends the invitation text.
func WriteRequest(w io.Writer, text string) error {
	if len(text) > MaxText {
		return fmt.Errorf("%w: too long", ErrMalformed)
	}
	b := binary.BigEndian.AppendUint16(nil, uint16(len(text)))
	_, err := w.Write(append(b, text...))
	return err
}

// ReadRequest reads an invitation text (not parsed).
func ReadRequest(r io.Reader) (string, error) {
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return "", err
	}
	n := int(binary.BigEndian.Uint16(l[:]))
	if n > MaxText {
		return "", fmt.Errorf("%w: %d bytes is too long", ErrMalformed, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// DecodeReply parses and checks a Reply: valid peer IDs and multiaddrs,
// within the limits. It returns the peers as AddrInfos.
func DecodeReply(b []byte) (Reply, []peer.AddrInfo, error) {
	if len(b) > MaxReply {
		return Reply{}, nil, errors.New("join reply too long")
	}
	var rep Reply
	if err := json.Unmarshal(b, &rep); err != nil {
		return Reply{}, nil, fmt.Errorf("join reply: %v", err)
	}
	if len(rep.Peers) > MaxReplyPeers {
		return Reply{}, nil, fmt.Errorf("join reply: %d peers is more than %d", len(rep.Peers), MaxReplyPeers)
	}
	var out []peer.AddrInfo
	for _, p := range rep.Peers {
		id, err := peer.Decode(p.ID)
		if err != nil {
			return Reply{}, nil, fmt.Errorf("join reply: bad peer ID %q", p.ID)
		}
		if len(p.Addrs) > MaxAddrs {
			return Reply{}, nil, fmt.Errorf("join reply: %d addresses for one peer", len(p.Addrs))
		}
		ai := peer.AddrInfo{ID: id}
		for _, s := range p.Addrs {
			a, err := ma.NewMultiaddr(s)
			if err != nil {
				return Reply{}, nil, fmt.Errorf("join reply: bad address %q", s)
			}
			ai.Addrs = append(ai.Addrs, a)
		}
		out = append(out, ai)
	}
	return rep, out, nil
}
