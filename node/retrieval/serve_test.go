package retrieval

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/myconet/myconet/internal/leakcheck"
)

// TestServeMatchesSerialWalk checks that the pipelined serve loop (a loader
// reading ahead while the writer sends) answers byte for byte what a serial
// depth-first walk would, missing blocks included, and that a requester
// resetting the stream mid-answer leaves no loader behind.
func TestServeMatchesSerialWalk(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 2)
	full := newMem()
	root, _ := importFile(t, full, 7, 9<<20)
	part := full.clone()
	i := 0
	for c := range full.m {
		if !c.Equals(root) && i%5 == 0 {
			delete(part.m, c)
		}
		i++
	}
	newService(t, hs[0], part, nil)
	req := request{Root: root, Wants: []cid.Cid{root}}
	body, err := req.encode()
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	ww := bufio.NewWriter(&want)
	ww.WriteByte(byte(StatusOK))
	if err := honest(ww, part, req, nil); err != nil {
		t.Fatal(err)
	}
	ww.Flush()

	open := func() network.Stream {
		str, err := hs[1].NewStream(context.Background(), hs[0].ID(), ProtocolID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := str.Write(body); err != nil {
			t.Fatal(err)
		}
		return str
	}
	str := open()
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(str, got); err != nil {
		t.Fatal(err)
	}
	str.Close()
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("served answer differs from the serial walk (%d bytes)", len(got))
	}

	// A requester that goes away after the first bytes.
	str = open()
	if _, err := io.ReadFull(str, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	str.Reset()
}
