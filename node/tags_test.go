package node

import (
	"context"
	"reflect"
	"testing"

	"github.com/myconet/myconet/node/apitype"
)

// An add whose tags repeat up to case keeps the first spelling of each
// instead of refusing the whole add.
func TestAddFoldsDuplicateTags(t *testing.T) {
	n := testNode(t)
	ctx := context.Background()
	p, _ := randFile(t, t.TempDir(), "song.ogg", 2, 100)
	res, err := n.Add(ctx, apitype.AddRequest{Path: p, Title: "Song", Tags: []string{"Audio", "audio", "Music", "audio"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := n.Info(ctx, res.MRI)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Audio", "Music"}; !reflect.DeepEqual(info.Meta.Tags, want) {
		t.Fatalf("tags %q, want %q", info.Meta.Tags, want)
	}
}
