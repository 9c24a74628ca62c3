package overlay

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
)

func frame(records ...[]byte) []byte {
	var body []byte
	for _, r := range records {
		body = binary.BigEndian.AppendUint16(body, uint16(len(r)))
		body = append(body, r...)
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	fw := NewFrameWriter(&buf, 100)
	var want [][]byte
	for i := range 20 {
		p := bytes.Repeat([]byte{byte(i)}, 1+i*2)
		want = append(want, p)
		if err := fw.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := fw.Add(make([]byte, 99)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("oversized packet: %v", err)
	}
	if err := fw.Add(nil); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("empty packet: %v", err)
	}
	fr := NewFrameReader(&buf, 100)
	var got [][]byte
	frames := 0
	for {
		pkts, err := fr.ReadBatch()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		frames++
		for _, p := range pkts {
			got = append(got, bytes.Clone(p))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d packets, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("packet %d differs", i)
		}
	}
	if frames < 4 {
		t.Fatalf("%d frames: the writer did not split at 100 bytes", frames)
	}
}

func TestFrameReaderErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		err  error
	}{
		{"empty stream", nil, io.EOF},
		{"partial header", []byte{0, 0}, io.ErrUnexpectedEOF},
		{"too large", binary.BigEndian.AppendUint32(nil, 101), ErrFrameTooLarge},
		{"huge", []byte{0xff, 0xff, 0xff, 0xff}, ErrFrameTooLarge},
		{"zero frame", []byte{0, 0, 0, 0}, ErrBadFrame},
		{"truncated body", frame([]byte("abc"))[:6], io.ErrUnexpectedEOF},
		{"empty packet", frame([]byte{}), ErrBadFrame},
		{"record overruns", append(binary.BigEndian.AppendUint32(nil, 4), 0, 5, 1, 2), ErrBadFrame},
		{"trailing byte", append(binary.BigEndian.AppendUint32(nil, 4), 0, 1, 9, 0), ErrBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewFrameReader(bytes.NewReader(tt.in), 100).ReadBatch()
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
		})
	}
}

// recordingWriter records each Write as one frame.
type recordingWriter struct{ writes [][]byte }

func (w *recordingWriter) Write(b []byte) (int, error) {
	w.writes = append(w.writes, bytes.Clone(b))
	return len(b), nil
}

func TestSenderBatches(t *testing.T) {
	var w recordingWriter
	s := NewSender(&w, SenderConfig{MaxFrame: 1000, QueueLen: 100})
	pkts := make([][]byte, 50)
	for i := range pkts {
		pkts[i] = bytes.Repeat([]byte{byte(i)}, 98) // 100 bytes per record
	}
	if d := s.Send(pkts); d != 0 {
		t.Fatalf("dropped %d", d)
	}
	// Everything is queued before Run starts, so Run batches it into full
	// frames of ten records, then stops when asked.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	for len(s.queue) > 0 {
		runtime.Gosched()
		// Run drains the queue; wait for it (no frame is lost once
		// dequeued, as Run flushes before blocking again).
		select {
		case err := <-done:
			t.Fatal(err)
		default:
		}
	}
	s.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cancel()
	if len(w.writes) != 5 {
		t.Fatalf("%d writes, want 5 frames of 10", len(w.writes))
	}
	fr := NewFrameReader(bytes.NewReader(bytes.Join(w.writes, nil)), 1000)
	n := 0
	for {
		b, err := fr.ReadBatch()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range b {
			if !bytes.Equal(p, pkts[n]) {
				t.Fatalf("packet %d differs", n)
			}
			n++
		}
	}
	if n != 50 {
		t.Fatalf("%d packets", n)
	}
	// After Close, Send drops.
	if d := s.Send(pkts[:3]); d != 3 || s.Dropped() != 3 {
		t.Fatalf("after Close: dropped %d (total %d)", d, s.Dropped())
	}
	// A full queue drops.
	s2 := NewSender(io.Discard, SenderConfig{QueueLen: 2})
	if d := s2.Send(pkts[:5]); d != 3 {
		t.Fatalf("full queue dropped %d, want 3", d)
	}
}

func FuzzFrameReader(f *testing.F) {
	f.Add(frame([]byte("abc"), []byte("defg")), 64)
	f.Add(frame(bytes.Repeat([]byte{1}, 300)), 100)
	f.Add([]byte{0, 0, 0, 3, 0, 1, 7, 0, 0, 0, 2, 0, 0}, 16)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, 1<<20)
	f.Fuzz(func(t *testing.T, in []byte, max int) {
		max = max%(1<<16) + 1
		if max < 0 {
			max = -max
		}
		fr := NewFrameReader(bytes.NewReader(in), max)
		var out bytes.Buffer
		fw := NewFrameWriter(&out, max)
		consumed := 0
		for {
			pkts, err := fr.ReadBatch()
			if cap(fr.buf) > fr.max {
				t.Fatalf("buffer %d beyond limit %d", cap(fr.buf), fr.max)
			}
			if err != nil {
				break
			}
			size := 4
			for _, p := range pkts {
				if len(p) == 0 {
					t.Fatal("empty packet")
				}
				size += 2 + len(p)
				if err := fw.Add(p); err != nil {
					t.Fatalf("re-encoding: %v", err)
				}
			}
			if size-4 > fr.max {
				t.Fatalf("frame of %d bytes beyond %d", size-4, fr.max)
			}
			if err := fw.Flush(); err != nil {
				t.Fatal(err)
			}
			consumed += size
		}
		// Every frame read re-encodes to the same bytes.
		if !bytes.Equal(out.Bytes(), in[:consumed]) {
			t.Fatalf("re-encoded frames differ from input")
		}
	})
}

// TestSenderQueueBytes: the byte bound drops what the packet bound would
// let in, and frees up as Run writes.
func TestSenderQueueBytes(t *testing.T) {
	s := NewSender(io.Discard, SenderConfig{QueueLen: 100, QueueBytes: 10000})
	big := make([][]byte, 4)
	for i := range big {
		big[i] = make([]byte, 3000)
	}
	if d := s.Send(big); d != 1 {
		t.Fatalf("dropped %d of 4 packets of 3000 bytes into 10000, want 1", d)
	}
	if d := s.Send([][]byte{make([]byte, 1000)}); d != 0 {
		t.Fatalf("a packet that fits was dropped")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	for s.bytes.Load() != 0 {
		runtime.Gosched() // Run drains the queue
	}
	if d := s.Send(big[:3]); d != 0 {
		t.Fatalf("after draining, dropped %d", d)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s.Dropped() != 1 {
		t.Fatalf("Dropped() = %d, want 1", s.Dropped())
	}
}
