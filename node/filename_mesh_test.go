package node_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/nodetest"
)

// Issue 10 item 8: a file added on its own keeps its name on every node,
// not only on the one that added it: the name is signed into the package
// (meta.name), so B, which only fetched it, shows and uses it.
func TestFileNameTravelsWithPackage(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 2, nodetest.Options{Loopback: true, Override: func(i int, fc *config.FileConfig) {
		fc.Quota.Replicas = "1KB" // B holds only what it reads
	}})
	net.Connect(1, 0)
	a, b := net.Nodes[0], net.Nodes[1]
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "report.pdf")
	want := writeRand(t, src, 3, 10<<10)
	res, err := a.Add(ctx, apitype.AddRequest{Path: src, Title: "Report"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	getEventually(t, b, res.MRI, out)
	if got, err := os.ReadFile(out); err != nil || len(got) != len(want) {
		t.Fatalf("get on B: %d bytes (%v), want %d", len(got), err, len(want))
	}
	info, err := b.Info(ctx, res.MRI)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "report.pdf" || info.Meta.Name != "report.pdf" {
		t.Errorf("info on B: name %q, meta.name %q; want report.pdf", info.Name, info.Meta.Name)
	}
	ents, err := b.Ls(ctx, res.MRI)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name != "report.pdf" {
		t.Errorf("ls on B = %+v, want one entry named report.pdf", ents)
	}
	f, st, err := b.OpenFile(ctx, res.MRI)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if st.Name != "report.pdf" {
		t.Errorf("gateway stat on B: name %q (its content type comes from it)", st.Name)
	}
	srv := httptest.NewServer(b.GatewayHandler())
	defer srv.Close()
	req, err := http.NewRequest("GET", srv.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = res.Package + ".localhost"
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); resp.StatusCode != 200 ||
		ct != "application/pdf" || cd != `inline; filename=report.pdf` {
		t.Errorf("B's gateway: %d, Content-Type %q, Content-Disposition %q", resp.StatusCode, ct, cd)
	}
}
