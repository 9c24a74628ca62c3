package store_test

import (
	"bytes"
	"testing"

	"github.com/myconet/myconet/store"
)

func TestModTargets(t *testing.T) {
	db := openTest(t, store.Config{})
	author := func(i byte) []byte { return bytes.Repeat([]byte{i}, store.ModAuthorSize) }
	for _, r := range []struct {
		kind   store.ModKind
		target string
		author byte
	}{{store.ModVote, "pkg-b", 1}, {store.ModVote, "pkg-a", 1}, {store.ModVote, "pkg-a", 2}, {store.ModVote, "pkg-a", 0xff},
		{store.ModVote, "pkg-c", 3}, {store.ModAnnotation, "pkg-z", 1}} {
		if err := db.PutModRecord(r.kind, []byte(r.target), author(r.author), []byte("x"), store.ModLimits{}); err != nil {
			t.Fatal(err)
		}
	}
	str := func(bs [][]byte) string { return string(bytes.Join(bs, []byte(","))) }
	all, err := db.ModTargets(store.ModVote, nil, 0)
	if err != nil || str(all) != "pkg-a,pkg-b,pkg-c" {
		t.Fatalf("all: %q %v", str(all), err)
	}
	page, err := db.ModTargets(store.ModVote, []byte("pkg-a"), 1)
	if err != nil || str(page) != "pkg-b" {
		t.Fatalf("after pkg-a: %q %v", str(page), err)
	}
	if anns, _ := db.ModTargets(store.ModAnnotation, nil, 0); str(anns) != "pkg-z" {
		t.Fatalf("annotations: %q", str(anns))
	}
}
