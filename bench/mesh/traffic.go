package main

import (
	"context"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// traffic counts, per protocol, the streams opened and the bytes and Write
// calls sent on them, over every host wrapped by it. Both ends' writes are
// counted, so bytes are what crossed the links (payload only: mocknet has
// no transport or muxer framing). kad-dht writes each message with one
// buffered flush, so for the DHT a write is a message (below 4 KiB).
type traffic struct {
	mu    sync.Mutex
	proto map[protocol.ID]*counter
}

type counter struct {
	streams, writes, bytes atomic.Int64
}

func newTraffic() *traffic { return &traffic{proto: map[protocol.ID]*counter{}} }

func (t *traffic) counter(p protocol.ID) *counter {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.proto[p]
	if c == nil {
		c = &counter{}
		t.proto[p] = c
	}
	return c
}

// wrap returns h with its application streams counted.
func (t *traffic) wrap(h host.Host) host.Host { return &countingHost{Host: h, t: t} }

// trafficSnap is the counters at one moment, by protocol.
type trafficSnap map[protocol.ID]trafficRow

type trafficRow struct{ Streams, Writes, Bytes int64 }

func (t *traffic) snapshot() trafficSnap {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := trafficSnap{}
	for p, c := range t.proto {
		out[p] = trafficRow{c.streams.Load(), c.writes.Load(), c.bytes.Load()}
	}
	return out
}

// since returns s less base, dropping protocols that did not move.
func (s trafficSnap) since(base trafficSnap) trafficSnap {
	out := trafficSnap{}
	for p, r := range s {
		b := base[p]
		d := trafficRow{r.Streams - b.Streams, r.Writes - b.Writes, r.Bytes - b.Bytes}
		if d != (trafficRow{}) {
			out[p] = d
		}
	}
	return out
}

// group sums protocols by a short family name: dht, retrieval, replicate, …
func (s trafficSnap) group() map[string]trafficRow {
	out := map[string]trafficRow{}
	for p, r := range s {
		name := family(p)
		g := out[name]
		g.Streams += r.Streams
		g.Writes += r.Writes
		g.Bytes += r.Bytes
		out[name] = g
	}
	return out
}

func family(p protocol.ID) string {
	s := string(p)
	switch {
	case strings.HasPrefix(s, "/myconet/kad/"):
		return "dht"
	case strings.HasPrefix(s, "/myconet/"):
		parts := strings.Split(s, "/")
		return parts[2]
	default:
		return s
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type countingHost struct {
	host.Host
	t *traffic
}

func (h *countingHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	s, err := h.Host.NewStream(ctx, p, pids...)
	if err != nil {
		return nil, err
	}
	return h.t.stream(s), nil
}

func (h *countingHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.Host.SetStreamHandler(pid, func(s network.Stream) { handler(h.t.stream(s)) })
}

func (h *countingHost) SetStreamHandlerMatch(pid protocol.ID, m func(protocol.ID) bool, handler network.StreamHandler) {
	h.Host.SetStreamHandlerMatch(pid, m, func(s network.Stream) { handler(h.t.stream(s)) })
}

func (t *traffic) stream(s network.Stream) network.Stream {
	cs := &countingStream{Stream: s, t: t}
	if p := s.Protocol(); p != "" {
		cs.c.Store(t.counter(p))
		cs.c.Load().streams.Add(1)
	}
	return cs
}

type countingStream struct {
	network.Stream
	t *traffic
	c atomic.Pointer[counter]
}

func (s *countingStream) Write(b []byte) (int, error) {
	n, err := s.Stream.Write(b)
	c := s.c.Load()
	if c == nil { // protocol negotiated lazily: known after the first write
		c = s.t.counter(s.Stream.Protocol())
		if s.c.CompareAndSwap(nil, c) {
			c.streams.Add(1)
		} else {
			c = s.c.Load()
		}
	}
	c.writes.Add(1)
	c.bytes.Add(int64(n))
	return n, err
}
