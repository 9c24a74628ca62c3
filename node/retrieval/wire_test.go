package retrieval

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
)

func testCIDs(n int) []cid.Cid {
	out := make([]cid.Cid, n)
	for i := range out {
		out[i] = rawBlock([]byte{byte(i), byte(i >> 8)})
	}
	return out
}

func TestRequestRoundTrip(t *testing.T) {
	cs := testCIDs(maxWants + 1)
	for _, n := range []int{1, 2, maxWants} {
		r := request{Flags: flagShallow, MaxBlocks: 7, MaxBytes: 1 << 40, Root: cs[0], Wants: cs[1 : n+1]}
		msg, err := r.encode()
		if err != nil {
			t.Fatalf("%d wants: %v", n, err)
		}
		got, err := readRequest(bufio.NewReader(bytes.NewReader(msg)))
		if err != nil {
			t.Fatalf("%d wants: %v", n, err)
		}
		if got.Flags != r.Flags || got.MaxBlocks != r.MaxBlocks || got.MaxBytes != r.MaxBytes || !got.Root.Equals(r.Root) || !slices.Equal(got.Wants, r.Wants) {
			t.Fatalf("round trip: %+v != %+v", got, r)
		}
	}
	if _, err := (&request{Root: cs[0], Wants: cs}).encode(); err == nil {
		t.Fatal("encoded too many wants")
	}
	if _, err := (&request{Root: cs[0]}).encode(); err == nil {
		t.Fatal("encoded no wants")
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	c := testCIDs(1)[0]
	good, _ := (&request{Root: c, Wants: []cid.Cid{c}}).encode()
	body := good[1:] // one-byte length prefix
	mutate := func(f func([]byte) []byte) []byte { return f(bytes.Clone(body)) }
	cases := map[string][]byte{
		"empty":     {},
		"version":   mutate(func(b []byte) []byte { b[0] = 2; return b }),
		"flags":     mutate(func(b []byte) []byte { b[1] = 0x80; return b }),
		"truncated": body[:len(body)-1],
		"trailing":  append(bytes.Clone(body), 0),
		"no wants":  mutate(func(b []byte) []byte { return append(b[:len(b)-38], 0) }),
		"cid len":   mutate(func(b []byte) []byte { b[4] = 200; return b }),
		"bad cid":   mutate(func(b []byte) []byte { b[5] = 0xff; return b }),
		"huge":      make([]byte, maxRequestSize+1),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeRequest(b); err == nil {
				t.Fatal("decoded")
			}
		})
	}
	// A length prefix over the limit is refused before reading.
	var big []byte
	big = binary.AppendUvarint(big, maxRequestSize+1)
	if _, err := readRequest(bufio.NewReader(bytes.NewReader(big))); err == nil || !strings.Contains(err.Error(), "length") {
		t.Fatalf("oversized length: %v", err)
	}
	if _, err := readRequest(bufio.NewReader(bytes.NewReader(nil))); err != io.EOF {
		t.Fatalf("empty stream: %v, want io.EOF", err)
	}
}

func TestFramesRoundTrip(t *testing.T) {
	cs := testCIDs(3)
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	writeBlock(w, cs[0], []byte("hello"))
	writeMissing(w, cs[1])
	writeBlock(w, cs[2], nil)
	w.WriteByte(frameEnd)
	w.Flush()
	r := bufio.NewReader(&buf)
	want := []frame{{Type: frameBlock, CID: cs[0], Data: []byte("hello")}, {Type: frameMissing, CID: cs[1]}, {Type: frameBlock, CID: cs[2], Data: []byte{}}, {Type: frameEnd}}
	for i, wf := range want {
		f, err := readFrame(r, maxFrameData)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Type != wf.Type || !f.CID.Equals(wf.CID) || !bytes.Equal(f.Data, wf.Data) {
			t.Fatalf("frame %d: %+v, want %+v", i, f, wf)
		}
	}
	if _, err := readFrame(r, maxFrameData); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("after the end: %v", err)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	cs := testCIDs(3)
	for _, r := range []request{
		{Root: cs[0], Wants: cs[:1]},
		{Flags: flagShallow, MaxBlocks: 1, MaxBytes: 1 << 20, Root: cs[0], Wants: cs},
	} {
		msg, _ := r.encode()
		f.Add(msg)
	}
	f.Add([]byte{0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := readRequest(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			return
		}
		if len(r.Wants) == 0 || len(r.Wants) > maxWants || r.Flags&^knownFlags != 0 || !r.Root.Defined() {
			t.Fatalf("decoded a request that breaks the limits: %+v", r)
		}
		// Whatever decodes re-encodes (canonically) to the same request.
		msg, err := r.encode()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		r2, err := readRequest(bufio.NewReader(bytes.NewReader(msg)))
		if err != nil {
			t.Fatalf("decode re-encoded: %v", err)
		}
		if r2.Flags != r.Flags || r2.MaxBlocks != r.MaxBlocks || r2.MaxBytes != r.MaxBytes || !r2.Root.Equals(r.Root) || !slices.Equal(r2.Wants, r.Wants) {
			t.Fatalf("round trip: %+v != %+v", r2, r)
		}
	})
}

func FuzzReadFrames(f *testing.F) {
	cs := testCIDs(2)
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	writeBlock(w, cs[0], []byte("hello"))
	writeMissing(w, cs[1])
	w.WriteByte(frameEnd)
	w.Flush()
	f.Add(buf.Bytes())
	f.Add([]byte{frameBlock, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add(append([]byte{frameBlock, 36}, make([]byte, 40)...))
	const limit = 1 << 10 // small, so that the fuzzer can cross it
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		for {
			fr, err := readFrame(r, limit)
			if err != nil {
				return
			}
			switch fr.Type {
			case frameEnd:
			case frameBlock:
				if len(fr.Data) > limit || !fr.CID.Defined() || len(fr.CID.KeyString()) > maxCIDLen {
					t.Fatalf("frame breaks the limits: %d bytes, %v", len(fr.Data), fr.CID)
				}
				// A block frame re-encodes to the same frame.
				var out bytes.Buffer
				w := bufio.NewWriter(&out)
				writeBlock(w, fr.CID, fr.Data)
				w.Flush()
				fr2, err := readFrame(bufio.NewReader(&out), limit)
				if err != nil || fr2.Type != frameBlock || !fr2.CID.Equals(fr.CID) || !bytes.Equal(fr2.Data, fr.Data) {
					t.Fatalf("block frame round trip: %v", err)
				}
			case frameMissing:
				if fr.Data != nil {
					t.Fatal("missing frame with data")
				}
			default:
				t.Fatalf("frame type %d", fr.Type)
			}
		}
	})
}
