package node_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	chunker "github.com/ipfs/boxo/chunker"
	mdutils "github.com/ipfs/boxo/ipld/merkledag/test"
	"github.com/ipfs/boxo/ipld/unixfs/importer"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	"github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
	"github.com/ipld/go-car/v2/storage"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/nodetest"
)

// kuboCAR builds, as `ipfs add` with Kubo's defaults would (CIDv0, dag-pb
// leaves, 256 KiB chunks), a file and a directory holding it and a small
// file, and exports both DAGs in one CARv1.
func kuboCAR(t *testing.T, data []byte) (car []byte, file, dir cid.Cid) {
	t.Helper()
	ctx := context.Background()
	ds := mdutils.Mock()
	fnode, err := importer.BuildDagFromReader(ds, chunker.NewSizeSplitter(bytes.NewReader(data), 256<<10))
	if err != nil {
		t.Fatal(err)
	}
	small, err := importer.BuildDagFromReader(ds, chunker.NewSizeSplitter(bytes.NewReader([]byte("hello kubo\n")), 256<<10))
	if err != nil {
		t.Fatal(err)
	}
	d, err := uio.NewDirectory(ds)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.AddChild(ctx, "big.bin", fnode); err != nil {
		t.Fatal(err)
	}
	if err := d.AddChild(ctx, "hello.txt", small); err != nil {
		t.Fatal(err)
	}
	dnode, err := d.GetNode()
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Add(ctx, dnode); err != nil {
		t.Fatal(err)
	}
	if fnode.Cid().Version() != 0 || dnode.Cid().Version() != 0 {
		t.Fatalf("not Kubo's defaults: %s %s", fnode.Cid(), dnode.Cid())
	}
	var buf bytes.Buffer
	w, err := storage.NewWritable(&buf, []cid.Cid{fnode.Cid(), dnode.Cid()}, carv2.WriteAsCarV1(true))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[cid.Cid]bool{}
	var walk func(c cid.Cid)
	walk = func(c cid.Cid) {
		if seen[c] {
			return
		}
		seen[c] = true
		nd, err := ds.Get(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Put(ctx, c.KeyString(), nd.RawData()); err != nil {
			t.Fatal(err)
		}
		for _, l := range nd.Links() {
			walk(l.Cid)
		}
	}
	walk(fnode.Cid())
	walk(dnode.Cid())
	if err := w.Finalize(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), fnode.Cid(), dnode.Cid()
}

// Issue 10 item 26: a CAR as Kubo exports it by default (CIDv0, dag-pb
// leaves) imports, and then reads through every command, named by the MRI
// the import printed or by its Qm… CID.
func TestImportKuboDefaultCAR(t *testing.T) {
	n := newTestNode(t)
	ctx := context.Background()
	data := bytes.Repeat([]byte("myconet kubo interop "), 150000) // ~3 MB, 12 chunks
	car, file, dir := kuboCAR(t, data)
	res, err := n.Import(ctx, bytes.NewReader(car))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Roots) != 2 {
		t.Fatalf("roots %v", res.Roots)
	}
	for _, ref := range []string{res.Roots[0], file.String()} {
		if _, err := n.Info(ctx, ref); err != nil {
			t.Fatalf("info %s: %v", ref, err)
		}
		var out bytes.Buffer
		if err := n.Cat(ctx, ref, &out); err != nil {
			t.Fatalf("cat %s: %v", ref, err)
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("cat %s: %d bytes, want %d", ref, out.Len(), len(data))
		}
		dest := filepath.Join(t.TempDir(), "f")
		if err := n.Get(ctx, ref, dest, nil); err != nil {
			t.Fatalf("get %s: %v", ref, err)
		}
		if got, _ := os.ReadFile(dest); !bytes.Equal(got, data) {
			t.Fatalf("get %s wrote other bytes", ref)
		}
	}
	for _, ref := range []string{res.Roots[1], dir.String()} {
		ents, err := n.Ls(ctx, ref)
		if err != nil || len(ents) != 2 || ents[0].Name != "big.bin" || ents[0].Size != int64(len(data)) {
			t.Fatalf("ls %s: %+v %v", ref, ents, err)
		}
		var out bytes.Buffer
		if err := n.Cat(ctx, ref+"/hello.txt", &out); err != nil || out.String() != "hello kubo\n" {
			t.Fatalf("cat %s/hello.txt: %q %v", ref, out.String(), err)
		}
		dest := filepath.Join(t.TempDir(), "d")
		if err := n.Get(ctx, ref, dest, nil); err != nil {
			t.Fatalf("get %s: %v", ref, err)
		}
		if got, _ := os.ReadFile(filepath.Join(dest, "big.bin")); !bytes.Equal(got, data) {
			t.Fatalf("get %s wrote other bytes", ref)
		}
		var exp bytes.Buffer
		if err := n.Export(ctx, ref, &exp); err != nil {
			t.Fatalf("export %s: %v", ref, err)
		}
		// The export imports again into a fresh node and reads the same.
		m := newTestNode(t)
		r2, err := m.Import(ctx, io.Reader(&exp))
		if err != nil {
			t.Fatalf("re-import of the export of %s: %v", ref, err)
		}
		if err := m.Cat(ctx, r2.Roots[0]+"/big.bin", io.Discard); err != nil {
			t.Fatalf("cat after re-import: %v", err)
		}
	}
}

// Issue 10 item 8: a file added on its own keeps its name: ls and info show
// it, and it survives another pin of the same root.
func TestSingleFileKeepsItsName(t *testing.T) {
	n := newTestNode(t)
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "report 2026.pdf")
	if err := os.WriteFile(src, []byte("%PDF-1.7 not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := n.Add(ctx, apitype.AddRequest{Path: src, Title: "Report"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := n.Ls(ctx, res.MRI)
	if err != nil || len(ents) != 1 || ents[0].Name != "report 2026.pdf" {
		t.Fatalf("ls: %+v %v", ents, err)
	}
	info, err := n.Info(ctx, res.MRI)
	if err != nil || info.Name != "report 2026.pdf" {
		t.Fatalf("info name %q, %v", info.Name, err)
	}
	// A directory has no such name; its entries have theirs.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644)
	dres, err := n.Add(ctx, apitype.AddRequest{Path: dir, Title: "Dir"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := n.Info(ctx, dres.MRI); info.Name != "" {
		t.Fatalf("a directory package got name %q", info.Name)
	}
}

// A Kubo CAR (CIDv0 blocks) imported on A is fetched by B over the network,
// blocks named by their CIDv0 links, verified and found.
func TestKuboCARAcrossNodes(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 2, nodetest.Options{})
	net.Connect(1, 0)
	a, b := net.Nodes[0], net.Nodes[1]
	ctx := context.Background()
	data := bytes.Repeat([]byte("across "), 200000)
	car, _, dir := kuboCAR(t, data)
	if _, err := a.Import(ctx, bytes.NewReader(car)); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "d")
	getEventually(t, b, dir.String(), dest)
	if got, _ := os.ReadFile(filepath.Join(dest, "big.bin")); !bytes.Equal(got, data) {
		t.Fatal("B got other bytes")
	}
}
