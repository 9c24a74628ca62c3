package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/nodetest"
)

// TestOverlayFirstPacketAfterRecordAppears: A pings C before C is on the
// network (the lookup fails), then C joins through B and publishes its
// address record. A's pings must get through as soon as the record can be
// found, not after the failed lookup's 5 s cache (issue 10 item 25: the
// first relayed ping took 5.7 s against 0.6 s direct).
func TestOverlayFirstPacketAfterRecordAppears(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 3, nodetest.Options{})
	net.Connect(0, 1)
	a, c := net.Nodes[0], net.Nodes[2]
	ctx := context.Background()
	cAddr := c.Identity().Address

	res, err := a.Ping(ctx, cAddr.String(), apitype.PingOptions{Count: 1, Timeout: time.Second})
	if err != nil || res.Received != 0 {
		t.Fatalf("ping of a node not yet on the network: %+v, %v", res, err)
	}
	net.Connect(2, 1)
	net.Eventually(20*time.Second, "C's address record in the DHT", func() bool { return node.AddrRecordFound(a, cAddr) })
	found := time.Now()
	net.Eventually(10*time.Second, "a ping reply from C", func() bool {
		res, err := a.Ping(ctx, cAddr.String(), apitype.PingOptions{Count: 1, Timeout: 200 * time.Millisecond})
		return err == nil && res.Received == 1
	})
	if d := time.Since(found); d > 2*time.Second {
		t.Fatalf("first reply %v after C's record could be found; want under 2 s", d.Round(time.Millisecond))
	}
	t.Logf("first reply %v after the record could be found", time.Since(found).Round(time.Millisecond))
}
