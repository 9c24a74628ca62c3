package node

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/myconet/myconet/node/apitype"
)

// addSmall adds a 10-byte file of seed's bytes on n.
func addSmall(t *testing.T, n *Node, seed uint64) apitype.AddResult {
	t.Helper()
	p, _ := randFile(t, t.TempDir(), "f", seed, 10)
	res, err := n.Add(context.Background(), apitype.AddRequest{Path: p, Title: "f"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestBookmarkAddConcurrent: of many adds of one name at once, exactly one
// wins and the others are refused; none replaces it.
func TestBookmarkAddConcurrent(t *testing.T) {
	n := testNode(t)
	ctx := context.Background()
	res := addSmall(t, n, 3)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, refused := []string{}, 0
	for i := range 8 {
		wg.Go(func() {
			ref := res.MRI
			if i%2 == 1 {
				ref += "/"
			}
			_, err := n.BookmarkAdd(ctx, apitype.BookmarkRequest{Name: "x", Ref: ref})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, ref)
			case errors.Is(err, apitype.ErrInvalid) && strings.Contains(err.Error(), "already exists"):
				refused++
			default:
				t.Errorf("add: %v", err)
			}
		})
	}
	wg.Wait()
	if len(won) != 1 || refused != 7 {
		t.Fatalf("%d adds won, %d refused", len(won), refused)
	}
}
