package node_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
)

// startOn starts a node whose libp2p listens on exactly listen.
func startOn(t *testing.T, listen ...string) (*node.Node, error) {
	t.Helper()
	nd, err := node.New(node.Config{
		Home:        t.TempDir(),
		StoreNoSync: true,
		Override: func(fc *config.FileConfig) {
			node.LoopbackOnly(fc)
			fc.Network.Listen = listen
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nd.Close() })
	return nd, nd.StartNetwork(context.Background())
}

// TestListenPortHeldRefused: a second node configured with the port a
// running node listens on must not start (libp2p's SO_REUSEPORT would let it
// share the port and take the first node's connections); nor may a node
// start on a port that another program holds. Issue 10 item 2.
func TestListenPortHeldRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addrs := []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port), fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", port)}
	if _, err := startOn(t, addrs...); err != nil {
		t.Fatalf("first node: %v", err)
	}
	_, err = startOn(t, addrs[0])
	if err == nil || apitype.CodeOf(err) != apitype.CodeInvalid || !strings.Contains(err.Error(), "in use by another program") || !strings.Contains(err.Error(), addrs[0]) {
		t.Fatalf("second node on the same TCP port: %v, want a refusal naming %s", err, addrs[0])
	}
	if _, err := startOn(t, addrs[1]); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second node on the same UDP port: %v, want a refusal", err)
	}

	// A port held by a plain listener (another program).
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	held := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", other.Addr().(*net.TCPAddr).Port)
	if _, err := startOn(t, held, "/ip4/127.0.0.1/udp/0/quic-v1"); err == nil || !strings.Contains(err.Error(), held) {
		t.Fatalf("node on a port another program holds: %v", err)
	}
	// Port 0 never collides.
	if _, err := startOn(t, "/ip4/127.0.0.1/tcp/0"); err != nil {
		t.Fatalf("port 0: %v", err)
	}
}

// TestPortMapOffByDefault: UPnP / NAT-PMP sends multicast onto the LAN, so
// it is opt-in (issue 15 §1), and the key can be set.
func TestPortMapOffByDefault(t *testing.T) {
	if config.DefaultConfig().Network.PortMap {
		t.Fatal("network.port_map is on by default")
	}
	n, err := node.New(node.Config{Home: t.TempDir(), StoreNoSync: true, Override: node.LoopbackOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ctx := context.Background()
	if err := n.ConfigSet(ctx, "network.port_map", "true"); err != nil {
		t.Fatal(err)
	}
	if v, _ := n.ConfigGet(ctx, "network.port_map"); v != "true" {
		t.Fatalf("network.port_map = %q", v)
	}
}
