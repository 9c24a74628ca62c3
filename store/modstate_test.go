package store_test

import (
	"errors"
	"testing"

	"github.com/myconet/myconet/store"
)

func TestModState(t *testing.T) {
	db := openTest(t, store.Config{})
	if _, err := db.ModState(store.ModDecision, []byte("a")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty: %v", err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if err := db.PutModState(store.ModDecision, []byte(k), []byte("d"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutModState(store.ModRetraction, []byte("a"), []byte("ra")); err != nil {
		t.Fatal(err)
	}
	if v, err := db.ModState(store.ModDecision, []byte("b")); err != nil || string(v) != "db" {
		t.Fatalf("get: %q %v", v, err)
	}
	n, err := db.DeleteModStates(store.ModDecision, func(target, enc []byte) bool { return string(target) != "b" })
	if err != nil || n != 2 {
		t.Fatalf("delete: %d %v", n, err)
	}
	var left []string
	_ = db.ModStates(store.ModDecision, func(target, _ []byte) bool { left = append(left, string(target)); return true })
	if len(left) != 1 || left[0] != "b" {
		t.Errorf("left %q", left)
	}
	if v, err := db.ModState(store.ModRetraction, []byte("a")); err != nil || string(v) != "ra" {
		t.Errorf("another kind was touched: %q %v", v, err)
	}
}
