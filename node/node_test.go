package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
)

func testNode(t *testing.T) *Node {
	t.Helper()
	n, err := New(Config{Home: t.TempDir(), StoreNoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.db.Check(); err != nil {
			t.Errorf("store check: %v", err)
		}
		n.Close()
	})
	return n
}

func randFile(t *testing.T, dir, name string, seed uint64, size int) (string, []byte) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, data
}

// snapshot is what a user can see of the store: pins, packages, bookmarks, usage.
func snapshot(t *testing.T, n *Node) string {
	t.Helper()
	ctx := context.Background()
	pins, err := n.Pins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q, err := n.Quota(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bms, _ := n.Bookmarks(ctx)
	var b strings.Builder
	for _, p := range pins {
		b.WriteString(p.Root + " " + p.Reason + "\n")
	}
	for _, bm := range bms {
		b.WriteString(bm.Name + "\n")
	}
	fmt.Fprintf(&b, "%d bytes in %d blocks, %d packages", q.DiskUsed, q.Blocks, q.Packages)
	return b.String()
}

func TestAddInfoLsCatGet(t *testing.T) {
	n := testNode(t)
	ctx := context.Background()
	src := t.TempDir()
	filePath, fileData := randFile(t, src, "data.bin", 1, 3<<20+5)
	site := filepath.Join(src, "site")
	randFile(t, site, "css/style.css", 2, 100)
	os.WriteFile(filepath.Join(site, "index.html"), []byte(`<a href="sub/page.html">x</a>`), 0o644)
	os.MkdirAll(filepath.Join(site, "sub"), 0o755)
	os.WriteFile(filepath.Join(site, "sub", "page.html"), []byte("<p>page</p>"), 0o644)

	var progress []apitype.Progress
	res, err := n.Add(ctx, apitype.AddRequest{Path: filePath, Title: "Data", Tags: []string{"a", "b"}, Kind: "dataset", License: "MIT"},
		func(p apitype.Progress) { progress = append(progress, p) })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.MRI, "myco://") || res.Size != int64(len(fileData)) || res.Files != 1 {
		t.Fatalf("result %+v", res)
	}
	if len(progress) == 0 || progress[len(progress)-1].Bytes != int64(len(fileData)) {
		t.Fatalf("progress %+v", progress)
	}
	info, err := n.Info(ctx, res.MRI)
	if err != nil {
		t.Fatal(err)
	}
	if !info.SignatureValid || info.Meta.Title != "Data" || info.Content != res.Content || info.Publisher != n.id.PeerID.String() {
		t.Fatalf("info %+v", info)
	}
	if !reflect.DeepEqual(info.Pins, []string{"local"}) || info.Meta.Size != uint64(len(fileData)) {
		t.Fatalf("info pins/size %+v", info)
	}
	var buf bytes.Buffer
	if err := n.Cat(ctx, res.MRI, &buf); err != nil || !bytes.Equal(buf.Bytes(), fileData) {
		t.Fatalf("cat: %v (equal=%v)", err, bytes.Equal(buf.Bytes(), fileData))
	}
	out := filepath.Join(t.TempDir(), "out.bin")
	if err := n.Get(ctx, res.MRI, out, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, fileData) {
		t.Fatal("get wrote different bytes")
	}
	if err := n.Get(ctx, res.MRI, out, nil); !errors.Is(err, apitype.ErrInvalid) {
		t.Fatalf("get over existing file: %v", err)
	}

	sres, err := n.Add(ctx, apitype.AddRequest{Path: site, Title: "Site"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sinfo, _ := n.Info(ctx, sres.MRI)
	if sinfo.Meta.Kind != "site" || sinfo.Meta.Entry != "index.html" {
		t.Fatalf("site defaults: %+v", sinfo.Meta)
	}
	ents, err := n.Ls(ctx, sres.MRI)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name+":"+e.Type)
	}
	if strings.Join(names, ",") != "css:dir,index.html:file,sub:dir" {
		t.Fatalf("ls = %v", names)
	}
	buf.Reset()
	if err := n.Cat(ctx, sres.MRI+"/sub/page.html", &buf); err != nil || buf.String() != "<p>page</p>" {
		t.Fatalf("cat path: %q %v", buf.String(), err)
	}
	pinfo, err := n.Info(ctx, sres.MRI+"/sub/page.html")
	if err != nil || pinfo.PathType != "file" || pinfo.PathSize != 11 {
		t.Fatalf("info path: %+v %v", pinfo, err)
	}
	dout := filepath.Join(t.TempDir(), "site-out")
	if err := n.Get(ctx, sres.MRI, dout, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dout, "sub", "page.html")); string(got) != "<p>page</p>" {
		t.Fatalf("get dir: %q", got)
	}
}

func TestBadInputLeavesStoreUnchanged(t *testing.T) {
	n := testNode(t)
	ctx := context.Background()
	src := t.TempDir()
	p, _ := randFile(t, src, "f", 3, 2<<20)
	good, err := n.Add(ctx, apitype.AddRequest{Path: p, Title: "ok"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, n)
	cases := []struct {
		name string
		do   func() error
		want error
		msg  string
	}{
		{"missing title", func() error { _, err := n.Add(ctx, apitype.AddRequest{Path: p}, nil); return err }, apitype.ErrInvalid, "title"},
		{"bad kind", func() error {
			_, err := n.Add(ctx, apitype.AddRequest{Path: p, Title: "x", Kind: "movie"}, nil)
			return err
		}, apitype.ErrInvalid, "kind"},
		{"bad language", func() error {
			_, err := n.Add(ctx, apitype.AddRequest{Path: p, Title: "x", Language: "not a language!"}, nil)
			return err
		}, apitype.ErrInvalid, "language"},
		{"missing path", func() error {
			_, err := n.Add(ctx, apitype.AddRequest{Path: filepath.Join(src, "nope"), Title: "x"}, nil)
			return err
		}, apitype.ErrInvalid, "no such file"},
		{"entry not in package", func() error {
			_, err := n.Add(ctx, apitype.AddRequest{Path: p, Title: "x", Entry: "index.html"}, nil)
			return err
		}, apitype.ErrInvalid, "entry"},
		{"malformed MRI", func() error { _, err := n.Info(ctx, "myco://notacid"); return err }, apitype.ErrInvalid, "notacid"},
		{"climbing path", func() error { _, err := n.Info(ctx, good.MRI+"/../x"); return err }, apitype.ErrInvalid, "root"},
		{"unknown CID", func() error {
			_, err := n.Info(ctx, "myco://bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
			return err
		}, apitype.ErrNotFound, "not in the local store"},
		{"missing path in package", func() error { _, err := n.Info(ctx, good.MRI+"/x"); return err }, apitype.ErrNotFound, "x"},
		{"corrupt CAR", func() error { _, err := n.Import(ctx, strings.NewReader("garbage")); return err }, apitype.ErrInvalid, "CAR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("message %q should be one line naming %q", err, tc.msg)
			}
			if after := snapshot(t, n); after != before {
				t.Fatalf("store changed:\n%s\n---\n%s", before, after)
			}
		})
	}
}

func TestQuotaRefusesBeforeWriting(t *testing.T) {
	n := testNode(t)
	ctx := context.Background()
	if _, err := n.SetQuota(ctx, "disk", "1MB"); err != nil {
		t.Fatal(err)
	}
	p, _ := randFile(t, t.TempDir(), "big", 4, 3<<20)
	before := snapshot(t, n)
	_, err := n.Add(ctx, apitype.AddRequest{Path: p, Title: "too big"}, nil)
	if !errors.Is(err, apitype.ErrQuota) {
		t.Fatalf("err = %v, want quota", err)
	}
	if after := snapshot(t, n); after != before {
		t.Fatalf("store changed: %q vs %q", before, after)
	}
	q, _ := n.Quota(ctx)
	if q.Disk != 1e6 {
		t.Fatalf("quota %+v", q)
	}
	if v, _ := n.ConfigGet(ctx, "quota.disk"); v != "1MB" {
		t.Fatalf("config quota.disk = %q", v)
	}
	if _, err := n.SetQuota(ctx, "disk", "lots"); !errors.Is(err, apitype.ErrInvalid) {
		t.Fatalf("bad size: %v", err)
	}
}

func TestExportImportUnpinGC(t *testing.T) {
	a := testNode(t)
	b := testNode(t)
	ctx := context.Background()
	dir := t.TempDir()
	randFile(t, dir, "x/a.bin", 5, 2<<20+1)
	randFile(t, dir, "b.txt", 6, 10)
	res, err := a.Add(ctx, apitype.AddRequest{Path: dir, Title: "Tree"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var car bytes.Buffer
	if err := a.Export(ctx, res.MRI, &car); err != nil {
		t.Fatal(err)
	}
	ires, err := b.Import(ctx, bytes.NewReader(car.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(ires.Roots) != 1 || ires.Roots[0] != res.MRI {
		t.Fatalf("import roots %v, want %s", ires.Roots, res.MRI)
	}
	ia, _ := a.Info(ctx, res.MRI)
	ib, err := b.Info(ctx, res.MRI)
	if err != nil || !reflect.DeepEqual(ia.Meta, ib.Meta) || !ib.SignatureValid {
		t.Fatalf("imported info differs: %+v vs %+v (%v)", ia, ib, err)
	}
	// A truncated CAR leaves nothing behind.
	c := testNode(t)
	before := snapshot(t, c)
	if _, err := c.Import(ctx, bytes.NewReader(car.Bytes()[:car.Len()/2])); err == nil {
		t.Fatal("truncated CAR imported")
	}
	if snapshot(t, c) != before {
		t.Fatal("truncated import changed the store")
	}
	// Unpin + gc frees the space.
	if err := b.Unpin(ctx, res.MRI, ""); err != nil {
		t.Fatal(err)
	}
	if err := b.Unpin(ctx, res.MRI, ""); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("second unpin: %v", err)
	}
	g, err := b.GC(ctx)
	if err != nil || g.Freed < 2<<20 {
		t.Fatalf("gc %+v %v", g, err)
	}
	q, _ := b.Quota(ctx)
	if q.DiskUsed != 0 || q.Packages != 0 {
		t.Fatalf("after gc: %+v", q)
	}
	if _, err := b.Info(ctx, res.MRI); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("info after gc: %v", err)
	}
}

func TestBookmarksAndConfig(t *testing.T) {
	n := testNode(t)
	ctx := context.Background()
	p, _ := randFile(t, t.TempDir(), "f", 7, 10)
	res, _ := n.Add(ctx, apitype.AddRequest{Path: p, Title: "f"}, nil)
	bm, err := n.BookmarkAdd(ctx, apitype.BookmarkRequest{Name: "docs", Ref: res.MRI + "/"})
	if err != nil || bm.MRI != res.MRI || !strings.Contains(bm.URL, ".localhost:") {
		t.Fatalf("bookmark %+v %v", bm, err)
	}
	if _, err := n.BookmarkAdd(ctx, apitype.BookmarkRequest{Name: "bad name!", Ref: res.MRI}); !errors.Is(err, apitype.ErrInvalid) {
		t.Fatalf("bad name: %v", err)
	}
	if _, err := n.BookmarkAdd(ctx, apitype.BookmarkRequest{Name: "x", Ref: "myco://nope"}); !errors.Is(err, apitype.ErrInvalid) {
		t.Fatalf("bad MRI: %v", err)
	}
	u1, err := n.OpenURL(ctx, "docs")
	u2, _ := n.OpenURL(ctx, res.MRI)
	if err != nil || u1 != u2 || u1.Stale {
		t.Fatalf("open: %+v %+v %v", u1, u2, err)
	}
	if err := n.BookmarkRm(ctx, "docs"); err != nil {
		t.Fatal(err)
	}
	if err := n.BookmarkRm(ctx, "docs"); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("rm twice: %v", err)
	}
	if err := n.ConfigSet(ctx, "gateway.address", "127.0.0.1:9999"); err != nil {
		t.Fatal(err)
	}
	if err := n.ConfigSet(ctx, "no.such", "1"); !errors.Is(err, apitype.ErrInvalid) {
		t.Fatalf("unknown key: %v", err)
	}
	if err := n.ConfigSet(ctx, "replication.replicas", "0"); !errors.Is(err, apitype.ErrInvalid) {
		t.Fatalf("out of range: %v", err)
	}
	text, _ := n.ConfigShow(ctx)
	if !strings.Contains(text, `address = "127.0.0.1:9999"`) || !strings.Contains(text, "# ") {
		t.Fatalf("config file:\n%s", text)
	}
	cfg, err := config.LoadConfig(filepath.Join(n.Home(), config.ConfigFile))
	if err != nil || cfg.Gateway.Address != "127.0.0.1:9999" {
		t.Fatalf("reload: %+v %v", cfg.Gateway, err)
	}
	if _, err := n.Status(ctx); !errors.Is(err, apitype.ErrNoDaemon) {
		t.Fatalf("status offline: %v", err)
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	n := testNode(t)
	_, err := New(Config{Home: n.Home()})
	if !errors.Is(err, apitype.ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
}

func TestIdentityFile(t *testing.T) {
	n := testNode(t)
	st, err := os.Stat(filepath.Join(n.Home(), IdentityFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("identity file mode %v %v", st.Mode(), err)
	}
	id, _ := n.ID(context.Background())
	if !strings.HasPrefix(id.Address, "fd6d:7963:") || id.PeerID == "" || id.PublicKey == "" {
		t.Fatalf("id %+v", id)
	}
}

func TestOverrideNeverWritten(t *testing.T) {
	home := t.TempDir()
	n, err := New(Config{Home: home, StoreNoSync: true, Override: func(fc *config.FileConfig) {
		fc.Overlay.TUN = false
		fc.Network.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ctx := context.Background()
	if err := n.ConfigSet(ctx, "quota.disk", "5GB"); err != nil {
		t.Fatal(err)
	}
	if v, _ := n.ConfigGet(ctx, "overlay.tun"); v != "false" {
		t.Fatalf("effective overlay.tun = %s, want the override", v)
	}
	file, err := config.LoadConfig(filepath.Join(home, config.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if !file.Overlay.TUN || len(file.Network.Listen) != 4 || file.Quota.Disk != "5GB" {
		t.Fatalf("file config took the override or lost the change: %+v %+v %s", file.Overlay, file.Network.Listen, file.Quota.Disk)
	}
}
