package dnsserver

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"testing"
)

// TestStartPortTakenForTCP: with port 0, the UDP port the kernel picks may
// be taken for TCP by someone else; Start then picks another port instead
// of failing (the .myco server of a node in a busy test run did not start).
func TestStartPortTakenForTCP(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	taken := busy.Addr().(*net.TCPAddr).Port
	calls := 0
	listenPacket = func(network, addr string) (net.PacketConn, error) {
		calls++
		if calls == 1 { // as if the kernel picked the port taken for TCP
			return net.ListenPacket(network, net.JoinHostPort("127.0.0.1", strconv.Itoa(taken)))
		}
		return net.ListenPacket(network, addr)
	}
	defer func() { listenPacket = net.ListenPacket }()
	s, err := Start("127.0.0.1:0", "myco", func(context.Context, string) ([]netip.Addr, bool, error) { return nil, false, nil }, nil)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer s.Close()
	if calls != 2 || s.Addr() == busy.Addr().String() {
		t.Fatalf("%d tries, address %s (TCP taken: %s)", calls, s.Addr(), busy.Addr())
	}
	// A fixed port that is taken stays an error.
	if _, err := Start(busy.Addr().String(), "myco", nil, nil); err == nil {
		t.Fatal("started on a port taken for TCP")
	}
}
