package store_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/myconet/myconet/store"
)

func TestModRecordLimits(t *testing.T) {
	db := openTest(t, store.Config{})
	author := func(b byte) []byte { return bytes.Repeat([]byte{b}, store.ModAuthorSize) }
	lim := store.ModLimits{PerTarget: 2, PerAuthor: 2}
	t1, t2, t3 := []byte("target-1"), []byte("target-2"), []byte("target-3")
	put := func(target []byte, a byte, enc string) error {
		return db.PutModRecord(store.ModVote, target, author(a), []byte(enc), lim)
	}
	for _, err := range []error{put(t1, 1, "a"), put(t1, 2, "b"), put(t1, 1, "a2")} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := put(t1, 3, "c"); !errors.Is(err, store.ErrModTargetFull) {
		t.Fatalf("third author: %v", err)
	}
	if err := put(t2, 1, "d"); err != nil {
		t.Fatal(err)
	}
	if err := put(t3, 1, "e"); !errors.Is(err, store.ErrModAuthorFull) {
		t.Fatalf("third target of one author: %v", err)
	}
	// Another kind has its own limits; "target-1" is no prefix trap for "target-10".
	if err := db.PutModRecord(store.ModAnnotation, t1, author(3), []byte("ann"), lim); err != nil {
		t.Fatal(err)
	}
	if err := db.PutModRecord(store.ModVote, []byte("target-10"), author(4), []byte("x"), lim); err != nil {
		t.Fatal(err)
	}
	recs, err := db.ModRecords(store.ModVote, t1)
	if err != nil || len(recs) != 2 || string(recs[0]) != "a2" || string(recs[1]) != "b" {
		t.Fatalf("records: %q %v", recs, err)
	}
	if err := db.PutModRecord(store.ModVote, t1, []byte("short"), []byte("x"), lim); err == nil {
		t.Fatal("short author key accepted")
	}
}

func TestModRules(t *testing.T) {
	db := openTest(t, store.Config{})
	if err := db.SetModRule("b", true, false); err != nil {
		t.Fatal(err)
	}
	if err := db.SetModRule("a", false, false); err != nil {
		t.Fatal(err)
	}
	rules, _ := db.ModRules()
	if len(rules) != 2 || rules[0] != (store.ModRule{Target: "a"}) || rules[1] != (store.ModRule{Target: "b", Allow: true}) {
		t.Fatalf("%+v", rules)
	}
	if err := db.SetModRule("a", false, true); err != nil {
		t.Fatal(err)
	}
	if rules, _ := db.ModRules(); len(rules) != 1 {
		t.Fatalf("after clear: %+v", rules)
	}
}
