package search

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// memKV is a KV in memory: a map and its sorted keys per table. Get
// returns copies, so a caller that keeps or changes them is not caught;
// Put copies too.
type memKV struct {
	t    [NumTables]map[string][]byte
	keys [NumTables][]string // sorted
}

func newMemKV() *memKV {
	kv := &memKV{}
	for i := range kv.t {
		kv.t[i] = map[string][]byte{}
	}
	return kv
}

func (kv *memKV) Get(t Table, k []byte) []byte {
	v, ok := kv.t[t][string(k)]
	if !ok {
		return nil
	}
	return bytes.Clone(v)
}

func (kv *memKV) Put(t Table, k, v []byte) error {
	if _, ok := kv.t[t][string(k)]; !ok {
		i, _ := slices.BinarySearch(kv.keys[t], string(k))
		kv.keys[t] = slices.Insert(kv.keys[t], i, string(k))
	}
	kv.t[t][string(k)] = bytes.Clone(v)
	return nil
}

func (kv *memKV) Delete(t Table, k []byte) error {
	if i, ok := slices.BinarySearch(kv.keys[t], string(k)); ok {
		kv.keys[t] = slices.Delete(kv.keys[t], i, i+1)
	}
	delete(kv.t[t], string(k))
	return nil
}

func (kv *memKV) Scan(t Table, prefix []byte, fn func(k, v []byte) bool) error {
	i, _ := slices.BinarySearch(kv.keys[t], string(prefix))
	for _, k := range kv.keys[t][i:] { // fn does not write (the KV contract)
		if !strings.HasPrefix(k, string(prefix)) {
			break
		}
		if v, ok := kv.t[t][k]; ok && !fn([]byte(k), bytes.Clone(v)) {
			break
		}
	}
	return nil
}

// size is the number of keys in all tables.
func (kv *memKV) size() int {
	n := 0
	for _, t := range kv.t {
		n += len(t)
	}
	return n
}

// TestStoredAgainstIndex applies the same random adds, replacements and
// removals to an Index and a Stored index and checks that every query
// gives the same results with the same scores, and the same statistics.
func TestStoredAgainstIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ix := NewIndex()
	kv := newMemKV()
	st := NewStored(kv)
	queries, nonEmpty := 0, 0
	for step := range 3000 {
		id := fmt.Sprintf("doc%03d", r.IntN(150))
		switch op := r.IntN(10); {
		case op < 6:
			d := randDoc(r, id)
			ix.Add(d)
			if err := st.Add(d); err != nil {
				t.Fatalf("step %d: Add: %v", step, err)
			}
		case op < 7:
			want := ix.Remove(id)
			if got, err := st.Remove(id); err != nil || got != want {
				t.Fatalf("step %d: Remove(%s) = %v, %v; want %v", step, id, got, err, want)
			}
		default:
			qs := randQuery(r)
			q, err := ParseQuery(qs)
			if err != nil {
				continue
			}
			queries++
			limit := r.IntN(4)
			want := ix.Search(q, limit)
			got, err := st.Search(q, limit)
			if err != nil {
				t.Fatalf("step %d: Search(%q): %v", step, qs, err)
			}
			if len(want) > 0 {
				nonEmpty++
			}
			if !slices.Equal(got, want) {
				t.Fatalf("step %d: Search(%q, %d):\n got %v\nwant %v", step, qs, limit, got, want)
			}
			for _, term := range q.RequiredTerms() {
				if n, err := st.DF(term); err != nil || n != ix.DF(term) {
					t.Fatalf("step %d: DF(%q) = %d, %v; want %d", step, term, n, err, ix.DF(term))
				}
			}
		}
		if step%500 == 0 {
			got, err := st.Stats()
			if want := ix.Stats(); err != nil || got != want {
				t.Fatalf("step %d: Stats = %+v, %v; want %+v", step, got, err, want)
			}
		}
	}
	// The terms and IDs listed are those of the Index.
	var terms []string
	if err := st.Terms(func(term string) bool { terms = append(terms, term); return true }); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, id := range ix.ids() {
		for _, term := range ix.docs[id].termList() {
			want[term] = true
		}
		if ok, err := st.Has(id); !ok || err != nil {
			t.Fatalf("Has(%s) = %v, %v", id, ok, err)
		}
	}
	if len(terms) != len(want) {
		t.Fatalf("Terms lists %d, the index holds %d", len(terms), len(want))
	}
	for _, term := range terms {
		if !want[term] {
			t.Fatalf("Terms lists %q", term)
		}
	}
	// Removing everything leaves empty tables but the statistics.
	for _, id := range ix.ids() {
		if ok, err := st.Remove(id); !ok || err != nil {
			t.Fatalf("Remove(%s) = %v, %v", id, ok, err)
		}
	}
	if n := kv.size(); n != 1 {
		t.Fatalf("%d keys left after removing every document", n)
	}
	t.Logf("%d queries, %d with results", queries, nonEmpty)
	if nonEmpty < queries/4 {
		t.Fatalf("only %d of %d queries had results", nonEmpty, queries)
	}
}

func (ix *Index) ids() []string {
	var out []string
	for id := range ix.docs {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func (a *analyzed) termList() []string {
	var out []string
	for t := range a.terms {
		out = append(out, t)
	}
	return out
}

func TestStoredSkip(t *testing.T) {
	st := NewStored(newMemKV())
	for i := range 5 {
		if err := st.Add(Doc{ID: fmt.Sprintf("d%d", i), Title: "needle" + strings.Repeat(" hay", i)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.SearchFunc(mustQuery(t, "needle"), 2, func(id string) bool { return id == "d0" })
	if err != nil || !slices.Equal(ids(got), []string{"d1", "d2"}) {
		t.Fatalf("got %v, %v", ids(got), err)
	}
}

// TestStoredCorrupt: a record that does not decode is an ErrCorrupt error
// from every reader, never a panic or a wrong answer.
func TestStoredCorrupt(t *testing.T) {
	for _, tc := range []struct {
		table Table
		key   func(kv *memKV) string
	}{
		{TableMeta, func(*memKV) string { return "stats" }},
		{TableDocs, anyKey(TableDocs)},
		{TableForward, anyKey(TableForward)},
		{TablePostings, anyKey(TablePostings)},
		{TableTerms, anyKey(TableTerms)},
		{TableIDs, anyKey(TableIDs)},
	} {
		for _, bad := range [][]byte{{}, {2}, {1}, {1, 0x80}, {1, 200, 1}} {
			if _, err := decodeCount(bad); tc.table == TableTerms && err == nil {
				continue // a wrong but valid frequency
			}
			kv := newMemKV()
			st := NewStored(kv)
			for i := range 3 {
				if err := st.Add(Doc{ID: fmt.Sprint(i), Title: "needle thread"}); err != nil {
					t.Fatal(err)
				}
			}
			for k := range kv.t[tc.table] { // every key of the table
				kv.t[tc.table][k] = bad
			}
			_, err1 := st.Search(mustQuery(t, "needle thread"), 10)
			_, err2 := st.Remove("1")
			err3 := st.Add(Doc{ID: "1", Title: "needle"})
			if !errors.Is(err1, ErrCorrupt) && !errors.Is(err2, ErrCorrupt) && !errors.Is(err3, ErrCorrupt) {
				t.Errorf("table %s = %x: search %v, remove %v, add %v", tc.table, bad, err1, err2, err3)
			}
		}
	}
}

func anyKey(tb Table) func(*memKV) string {
	return func(kv *memKV) string {
		for k := range kv.t[tb] {
			return k
		}
		return ""
	}
}

// FuzzStoredRecords: the decoders of persisted records never panic, and
// what they accept re-encodes to the same bytes.
func FuzzStoredRecords(f *testing.F) {
	a := analyze(Doc{ID: "x", Title: "a b a", Tags: []string{"t u"}, Kind: "video", Publisher: "p"})
	f.Add(byte(0), encodeDoc(a))
	f.Add(byte(1), encodeTerms([]string{"a", "b"}))
	f.Add(byte(2), encodeHits(a.terms["a"]))
	f.Add(byte(3), storedStats{docs: 1, next: 2, terms: 3, pairs: 4}.encode())
	f.Add(byte(4), encodeCount(7))
	f.Fuzz(func(t *testing.T, kind byte, b []byte) {
		var re []byte
		switch kind % 5 {
		case 0:
			d, err := decodeDoc(b)
			if err != nil {
				return
			}
			re = encodeDoc(d)
		case 1:
			ts, err := decodeTerms(b)
			if err != nil {
				return
			}
			re = encodeTerms(ts)
		case 2:
			hs, err := decodeHits(b)
			if err != nil {
				return
			}
			re = encodeHits(hs)
		case 3:
			s, err := decodeStats(b)
			if err != nil || b == nil {
				return
			}
			re = s.encode()
		case 4:
			n, err := decodeCount(b)
			if err != nil {
				return
			}
			re = encodeCount(n)
		}
		if !bytes.Equal(re, b) {
			t.Fatalf("kind %d: %x re-encodes as %x", kind%5, b, re)
		}
	})
}
