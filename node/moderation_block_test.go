package node_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/client"
	"github.com/myconet/myconet/node/httpapi"
	"github.com/myconet/myconet/node/nodetest"
	"github.com/myconet/myconet/node/retrieval"
)

// addTree adds a directory of files as a package on n.
func addTree(t *testing.T, n *node.Node, title string, files map[string]string) apitype.PackageInfo {
	t.Helper()
	dir := writeTree(t, files)
	res, err := n.Add(context.Background(), apitype.AddRequest{Path: dir, Title: title}, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := n.Info(context.Background(), res.Package)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// gatewayURL is the gateway's URL of a myco:// ref: the package's own
// origin <cid>.localhost.
func gatewayURL(ref string) string {
	root, path, _ := strings.Cut(strings.TrimPrefix(ref, "myco://"), "/")
	return "http://" + root + ".localhost:8190/" + path
}

// pathCID is the CID of the UnixFS node ref names.
func pathCID(t *testing.T, n *node.Node, ref string) cid.Cid {
	t.Helper()
	st, err := n.Stat(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return st.CID
}

// TestWithheldUnderEveryName: a package withheld by a local deny rule is
// refused under its package CID, its content CID, a path below either, and
// inner blocks named directly, locally, over the API, the gateway and
// retrieval; a block it shares with a package that is served is served.
func TestWithheldUnderEveryName(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 2, nodetest.Options{Override: noReplicas})
	net.Connect(0, 1)
	holder, other := net.Nodes[0], net.Nodes[1]
	ctx := context.Background()
	const shared = "bytes both packages hold\n"
	w := addTree(t, holder, "withheld tree", map[string]string{
		"index.html": "<p>the withheld page</p>", "sub/deep.txt": "deep inside", "shared.txt": shared,
	})
	k := addTree(t, holder, "served tree", map[string]string{"shared.txt": shared, "own.txt": "served"})
	sharedCID := pathCID(t, holder, "myco://"+w.Package+"/shared.txt")
	if got := pathCID(t, holder, "myco://"+k.Package+"/shared.txt"); got != sharedCID {
		t.Fatalf("the shared file has two CIDs: %s %s", sharedCID, got)
	}
	names := map[string]string{
		"package":            "myco://" + w.Package,
		"content":            "myco://" + w.Content,
		"path under content": "myco://" + w.Content + "/index.html",
		"inner directory":    "myco://" + pathCID(t, holder, "myco://"+w.Package+"/sub").String(),
		"inner file block":   "myco://" + pathCID(t, holder, "myco://"+w.Package+"/index.html").String(),
	}
	if _, err := holder.ModerationSet(ctx, w.Package, "deny"); err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewServer(httpapi.New(holder, "tok", nil))
	defer srv.Close()
	api := client.New(srv.URL, "tok")
	defer api.Close()
	gw := holder.GatewayHandler()
	for what, ref := range names {
		if _, err := holder.Stat(ctx, ref); !errors.Is(err, apitype.ErrWithheld) {
			t.Errorf("%s: local stat: %v", what, err)
		}
		if _, err := holder.Info(ctx, ref); !errors.Is(err, apitype.ErrWithheld) {
			t.Errorf("%s: local info: %v", what, err)
		}
		if _, err := api.Info(ctx, ref); !errors.Is(err, apitype.ErrWithheld) {
			t.Errorf("%s: API info: %v", what, err)
		}
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, httptest.NewRequest("GET", gatewayURL(ref), nil))
		if rec.Code != 451 {
			t.Errorf("%s: gateway %d %.80q", what, rec.Code, rec.Body.String())
		}
	}
	if err := holder.Cat(ctx, names["path under content"], io.Discard); !errors.Is(err, apitype.ErrWithheld) {
		t.Errorf("local cat under the content CID: %v", err)
	}
	// Search leaves it out.
	if found, err := holder.Search(ctx, "withheld tree", apitype.SearchOptions{Local: true}, nil); err != nil || len(found) != 0 {
		t.Errorf("search: %v %v", found, err)
	}
	// The shared block is served, for the package that is not withheld.
	var sb strings.Builder
	if err := holder.Cat(ctx, "myco://"+sharedCID.String(), &sb); err != nil || sb.String() != shared {
		t.Errorf("shared block: %q %v", sb.String(), err)
	}
	// Retrieval: another node naming any of them gets "withheld".
	p := net.AddrInfo(0).ID
	for what, c := range map[string]string{"package": w.Package, "content": w.Content,
		"inner file block": strings.TrimPrefix(names["inner file block"], "myco://")} {
		if err := other.FetchFromForTest(ctx, p, cid.MustParse(c)); !errors.Is(err, retrieval.ErrWithheld) {
			t.Errorf("%s: retrieval: %v", what, err)
		}
	}
	for what, c := range map[string]cid.Cid{"shared block": sharedCID, "served package": cid.MustParse(k.Package)} {
		if err := other.FetchFromForTest(ctx, p, c); err != nil {
			t.Errorf("%s: retrieval: %v", what, err)
		}
	}
	// Cleared: every name serves again.
	if _, err := holder.ModerationSet(ctx, w.Package, "clear"); err != nil {
		t.Fatal(err)
	}
	for what, ref := range names {
		if _, err := holder.Stat(ctx, ref); err != nil {
			t.Errorf("%s after clear: %v", what, err)
		}
	}
	if found, err := holder.Search(ctx, "withheld tree", apitype.SearchOptions{Local: true}, nil); err != nil || len(found) != 1 {
		t.Errorf("search after clear: %v %v", found, err)
	}
	if err := other.FetchFromForTest(ctx, p, cid.MustParse(w.Content)); err != nil {
		t.Errorf("content after clear: retrieval: %v", err)
	}
}
