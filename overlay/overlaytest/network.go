package overlaytest

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/myconet/myconet/overlay"
)

var (
	_ overlay.Transport = (*Endpoint)(nil)
	_ overlay.Resolver  = (*Network)(nil)
	_ Receiver          = (*overlay.Router)(nil)
)

// Receiver is what a Network delivers to: the overlay Router.
type Receiver interface {
	Deliver(peer string, peerKey []byte, packets [][]byte)
}

// ErrUnknownPeer is returned by Send to a peer that never joined, and by
// Resolve for an address no peer holds.
var ErrUnknownPeer = errors.New("overlaytest: unknown peer")

var errClosed = errors.New("overlaytest: network closed")

// ErrQueueFull is returned by Send when the destination's queue is full.
var ErrQueueFull = errors.New("overlaytest: queue full")

// Network is an in-memory mesh: each joined peer gets an Endpoint, a
// Transport whose packets reach the other peers' Receivers through buffered
// channels (one delivering goroutine per peer). Network is also a Resolver
// for the peers' addresses. Close stops its goroutines.
type Network struct {
	// Resolves counts Resolve calls.
	Resolves atomic.Int64
	// Lossless makes Send wait for room in a full queue instead of failing
	// with ErrQueueFull (for benchmarks). Set it before use.
	Lossless bool

	mu     sync.Mutex
	peers  map[string]*Endpoint
	byAddr map[netip.Addr]*Endpoint
	wg     sync.WaitGroup
	done   chan struct{}
	once   sync.Once
}

// NewNetwork returns an empty network.
func NewNetwork() *Network {
	return &Network{
		peers:  make(map[string]*Endpoint),
		byAddr: make(map[netip.Addr]*Endpoint),
		done:   make(chan struct{}),
	}
}

type batch struct {
	from *Endpoint
	pkts [][]byte
}

// Endpoint is one peer's attachment to a Network; it implements
// overlay.Transport.
type Endpoint struct {
	net   *Network
	name  string
	key   []byte
	inbox chan batch
	// Sent counts packets accepted by Send.
	Sent atomic.Int64
}

// Join adds peer name with key to the network. Its packets queue until
// Attach names its Receiver.
func (n *Network) Join(name string, key []byte) *Endpoint {
	e := &Endpoint{net: n, name: name, key: key, inbox: make(chan batch, 4096)}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.peers[name] = e
	n.byAddr[overlay.AddressFromKey(key)] = e
	return e
}

// Attach starts delivering the endpoint's inbound packets to r.
func (e *Endpoint) Attach(r Receiver) {
	e.net.wg.Add(1)
	go func() {
		defer e.net.wg.Done()
		for {
			select {
			case <-e.net.done:
				return
			case b := <-e.inbox:
				r.Deliver(b.from.name, b.from.key, b.pkts)
			}
		}
	}()
}

// Send copies packets into peer's queue.
func (e *Endpoint) Send(peer string, packets [][]byte) error {
	e.net.mu.Lock()
	to := e.net.peers[peer]
	e.net.mu.Unlock()
	if to == nil {
		return ErrUnknownPeer
	}
	cp := make([][]byte, len(packets))
	for i, p := range packets {
		cp[i] = append([]byte(nil), p...)
	}
	b := batch{from: e, pkts: cp}
	if e.net.Lossless {
		select {
		case <-e.net.done:
			return errClosed
		case to.inbox <- b:
			e.Sent.Add(int64(len(packets)))
			return nil
		}
	}
	select {
	case <-e.net.done:
		return errClosed
	case to.inbox <- b:
		e.Sent.Add(int64(len(packets)))
		return nil
	default:
		return ErrQueueFull
	}
}

// Resolve returns the peer whose key has address addr.
func (n *Network) Resolve(ctx context.Context, addr netip.Addr) (string, []byte, error) {
	n.Resolves.Add(1)
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	e := n.byAddr[addr]
	if e == nil {
		return "", nil, ErrUnknownPeer
	}
	return e.name, e.key, nil
}

// Close stops the delivering goroutines and waits for them. Idempotent.
func (n *Network) Close() {
	n.once.Do(func() { close(n.done) })
	n.wg.Wait()
}
