package store_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/myconet/myconet/store"
)

// TestIndexTables: tables of a derived index are separate, ordered, kept
// across reopening, rolled back with a failed transaction, read-only in a
// view, and dropped whole.
func TestIndexTables(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db := openTest(t, store.Config{Path: path})
	scan := func(name string, table byte, prefix string) (out []string) {
		t.Helper()
		err := db.ViewIndex(name, func(tx *store.IndexTx) error {
			return tx.Scan(table, []byte(prefix), func(k, v []byte) bool {
				out = append(out, string(k)+"="+string(v))
				return len(out) < 3
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := scan("search", 1, ""); got != nil { // a new index is empty
		t.Fatalf("new index: %q", got)
	}
	err := db.UpdateIndex("search", func(tx *store.IndexTx) error {
		for _, k := range []string{"b\x00", "a\x00", "ab", "a\x00\x01", "c", "d"} {
			if err := tx.Put(1, []byte(k), []byte("v"+k[:1])); err != nil {
				return err
			}
		}
		return tx.Put(2, []byte("a\x00"), []byte("other table"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := scan("search", 1, "a\x00"), []string{"a\x00=va", "a\x00\x01=va"}; !slices.Equal(got, want) {
		t.Fatalf("prefix scan %q, want %q", got, want)
	}
	if got := scan("search", 1, ""); len(got) != 3 || got[0] != "a\x00=va" { // stops when fn says so
		t.Fatalf("scan all: %q", got)
	}
	if got := scan("other", 1, ""); got != nil {
		t.Fatalf("another index: %q", got)
	}
	boom := errors.New("boom")
	err = db.UpdateIndex("search", func(tx *store.IndexTx) error {
		if err := tx.Delete(1, []byte("c")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failed update: %v", err)
	}
	err = db.ViewIndex("search", func(tx *store.IndexTx) error {
		if v := tx.Get(1, []byte("c")); string(v) != "vc" {
			t.Errorf("rolled back delete: c = %q", v)
		}
		if err := tx.Put(1, []byte("x"), nil); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("put in view: %v", err)
		}
		if err := tx.Delete(1, []byte("c")); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("delete in view: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openTest(t, store.Config{Path: path})
	if got := scan("search", 2, ""); !slices.Equal(got, []string{"a\x00=other table"}) {
		t.Fatalf("after reopen: %q", got)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	if err := db.DropIndex("search"); err != nil {
		t.Fatal(err)
	}
	if got := scan("search", 1, ""); got != nil {
		t.Fatalf("after drop: %q", got)
	}
	if err := db.DropIndex("search"); err != nil {
		t.Fatalf("drop twice: %v", err)
	}
}
