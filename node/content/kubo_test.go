package content

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/internal/fixture"
)

// discard is a Sink that keeps nothing: CIDs are all these tests compare.
type discard struct{}

func (discard) Put(c cid.Cid, data []byte) error { return nil }

// TestKuboVectors proves that Myconet's CIDs equal what Kubo 0.39.0 gives for
// `ipfs add --cid-version=1 --raw-leaves --chunker=size-1048576 [-r] [-H]`.
func TestKuboVectors(t *testing.T) {
	for _, v := range fixture.KuboVectors {
		t.Run(v.Name, func(t *testing.T) {
			if testing.Short() && v.Size > 16<<20 {
				t.Skip("large vector; run without -short")
			}
			dir := t.TempDir()
			var path string
			if v.Kind == "file" {
				path = filepath.Join(dir, "input")
				f, err := os.Create(path)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.Copy(f, v.Open()); err != nil {
					t.Fatal(err)
				}
				f.Close()
			} else {
				spec, ok := v.Tree()
				if !ok {
					t.Fatalf("no tree for %s", v.Name)
				}
				path = filepath.Join(dir, strings.TrimSuffix(v.Name, fixture.HiddenSuffix))
				if err := fixture.WriteTree(path, spec); err != nil {
					t.Fatal(err)
				}
			}
			plan, err := PlanPath(path, v.Hidden())
			if err != nil {
				t.Fatal(err)
			}
			res, err := Import(context.Background(), discard{}, plan, ImportOptions{Hidden: v.Hidden()})
			if err != nil {
				t.Fatal(err)
			}
			if res.Root.String() != v.CID {
				t.Fatalf("CID %s, Kubo gives %s", res.Root, v.CID)
			}
			if v.Kind == "file" && res.Bytes != v.Size {
				t.Fatalf("bytes %d, want %d", res.Bytes, v.Size)
			}
		})
	}
}
