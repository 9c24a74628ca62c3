package node_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// firstWrite records when the first byte arrives.
type firstWrite struct {
	at     time.Time
	cancel func()
}

func (w *firstWrite) Write(p []byte) (int, error) {
	if w.at.IsZero() && len(p) > 0 {
		w.at = time.Now()
		w.cancel()
	}
	return len(p), nil
}

// Issue 13 item 3: a range of a file of a package another node holds is
// answered before the package has arrived (the blocks it needs are fetched
// first), and cat's first byte comes before the end of the fetch. (The whole
// package arrives in the background meanwhile.)
func TestStreamRangeOfRemoteFile(t *testing.T) {
	// 24 MB at 4 MB/s: the whole package takes about 6 s.
	const size = 24 << 20
	_, b, res, root, want := holderAndReader(t, "4MB/s", size, 21)
	ctx := context.Background()

	start := time.Now()
	f, st, err := b.OpenFile(ctx, res.MRI)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if st.Size != size {
		t.Fatalf("size %d", st.Size)
	}
	const off = 20 << 20
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 1<<20)
	if _, err := io.ReadFull(f, got); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if !bytes.Equal(got, want[off:off+len(got)]) {
		t.Fatal("the range read other bytes")
	}
	if b.PinnedForTest(root) {
		t.Fatalf("the whole package arrived before the range was answered (%v)", took)
	}
	t.Logf("range at 20 MiB of a remote 24 MiB file: %v", took)

	// The gateway answers a Range request on the package's origin the same
	// way, before the package is in.
	req := httptest.NewRequest("GET", "http://"+root.String()+".localhost:8190/", nil)
	req.Header.Set("Range", "bytes=16777216-16842751") // 64 KiB at 16 MiB
	rec := httptest.NewRecorder()
	start = time.Now()
	b.GatewayHandler().ServeHTTP(rec, req)
	t.Logf("gateway range at 16 MiB: %v", time.Since(start))
	if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), want[16<<20:16<<20+64<<10]) {
		t.Fatalf("gateway range: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	if b.PinnedForTest(root) {
		t.Fatal("the whole package arrived before the gateway answered the range")
	}

	// cat: the first byte long before the whole file could be in (the
	// reader gives up after it).
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &firstWrite{cancel: cancel}
	start = time.Now()
	err = b.Cat(cctx, res.MRI, w)
	if w.at.IsZero() {
		t.Fatalf("cat wrote nothing: %v", err)
	}
	if b.PinnedForTest(root) {
		t.Fatal("the whole package arrived before cat's first byte")
	}
	t.Logf("cat: first byte after %v", w.at.Sub(start))
}
