package node_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/nodetest"
)

// lockedBuf is a log sink safe for the node's goroutines.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBootstrapFailureSaid: a node whose only bootstrap peer cannot be
// reached logs that peer and why, and says in status that it is alone; once
// it has a peer, status and the log say so. Issue 10 item 9, issue 15 §2.
func TestBootstrapFailureSaid(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nobody listens there now: the dial is refused
	k, _, _ := crypto.GenerateEd25519Key(nil)
	ghost, _ := peer.IDFromPrivateKey(k)
	boot := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", port, ghost)

	var logs lockedBuf
	n, err := node.New(node.Config{
		Home: t.TempDir(), StoreNoSync: true,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Override: func(fc *config.FileConfig) {
			node.LoopbackOnly(fc)
			fc.Network.Bootstrap = []string{boot}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	startRun(t, n, node.RunOptions{APIAddr: "127.0.0.1:0", GatewayAddr: "none"})
	ctx := context.Background()
	var st apitype.Status
	nodetest.Eventually(t, 20*time.Second, "status and log saying the node is alone", func() bool {
		st, err = n.Status(ctx)
		return err == nil && st.Alone != "" && strings.Contains(logs.String(), "alone on the network")
	})
	out := logs.String()
	if st.Peers != 0 || !strings.Contains(st.Alone, "join") {
		t.Errorf("status %+v", st)
	}
	if !strings.Contains(out, "bootstrap peer unreachable") || !strings.Contains(out, ghost.String()) {
		t.Fatalf("the log does not name the unreachable bootstrap peer:\n%s", out)
	}

	other := nodetest.New(t, 1, nodetest.Options{Loopback: true})
	ai := other.AddrInfo(0)
	addrs, _ := peer.AddrInfoToP2pAddrs(&ai)
	if _, err := n.Connect(ctx, addrs[0].String()); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 20*time.Second, "status and log saying the node has peers again", func() bool {
		st, err = n.Status(ctx)
		return err == nil && st.Alone == "" && st.Peers > 0 && strings.Contains(logs.String(), "connected to peers again")
	})
}
