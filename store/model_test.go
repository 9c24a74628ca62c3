package store_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/myconet/myconet/store"
)

// The reference model: a slow, obvious implementation of the store's
// visible behaviour, driven by the same random operations as the real one.

type mbatch struct {
	b       *store.Batch
	d       dag
	put     int // leaves put so far
	staged  map[string]bool
	touched map[string]bool
}

type mpin struct {
	reason   store.Reason
	accessed int
}

type model struct {
	size    map[string]int      // every block ever seen: key -> size
	links   map[string][]string // every block ever seen: key -> children
	present map[string]bool
	marks   map[string]int
	pins    map[string][]mpin
	batches []*mbatch
	tick    int
}

func newModel() *model {
	return &model{size: map[string]int{}, links: map[string][]string{}, present: map[string]bool{},
		marks: map[string]int{}, pins: map[string][]mpin{}}
}

func (m *model) learn(d dag) {
	rk := d.root.CID.KeyString()
	m.size[rk] = len(d.root.Data)
	m.links[rk] = nil
	for _, l := range d.leaves {
		m.size[l.CID.KeyString()] = len(l.Data)
		m.links[rk] = append(m.links[rk], l.CID.KeyString())
	}
}

func (m *model) flush(b *mbatch, keys []string) {
	for _, k := range keys {
		if b.touched[k] {
			continue
		}
		b.touched[k] = true
		if m.present[k] {
			if m.marks[k] > 0 {
				m.marks[k]++
				b.staged[k] = true
			}
			continue
		}
		m.present[k] = true
		m.marks[k] = 1
		b.staged[k] = true
	}
}

func (m *model) reach(roots []string) map[string]bool {
	seen := map[string]bool{}
	var walk func(k string)
	walk = func(k string) {
		if seen[k] {
			return
		}
		seen[k] = true
		if m.present[k] {
			for _, c := range m.links[k] {
				walk(c)
			}
		}
	}
	for _, r := range roots {
		walk(r)
	}
	return seen
}

func (m *model) pin(root string, reason store.Reason) {
	m.tick++
	ps := slices.DeleteFunc(m.pins[root], func(p mpin) bool { return p.reason == reason })
	m.pins[root] = append(ps, mpin{reason: reason, accessed: m.tick})
	for k := range m.reach([]string{root}) {
		delete(m.marks, k)
	}
}

func (m *model) held() map[string]bool {
	h := map[string]bool{}
	for _, b := range m.batches {
		for k := range b.touched {
			h[k] = true
		}
	}
	return h
}

// collect evicts like EvictCache (evict) or collects like GC.
func (m *model) collect(need int64, evict bool) (freed int64, removed int) {
	type vic struct {
		root     string
		accessed int
	}
	var victims []vic
	var kept []string
	for r, ps := range m.pins {
		if evict && len(ps) == 1 && ps[0].reason == store.ReasonCache {
			victims = append(victims, vic{r, ps[0].accessed})
		} else {
			kept = append(kept, r)
		}
	}
	slices.SortFunc(victims, func(a, b vic) int {
		return cmp.Or(cmp.Compare(a.accessed, b.accessed), cmp.Compare(a.root, b.root))
	})
	held := m.held()
	garbage := func(k int) (map[string]bool, int64) {
		roots := slices.Clone(kept)
		for _, v := range victims[k:] {
			roots = append(roots, v.root)
		}
		live := m.reach(roots)
		out := map[string]bool{}
		var n int64
		for key := range m.present {
			if !live[key] && !held[key] && m.marks[key] == 0 {
				out[key] = true
				n += int64(m.size[key])
			}
		}
		return out, n
	}
	k := 0
	if evict {
		if need <= 0 {
			return 0, 0
		}
		for k = 0; k < len(victims); k++ {
			if _, n := garbage(k); n >= need {
				break
			}
		}
	}
	del, n := garbage(k)
	for _, v := range victims[:k] {
		delete(m.pins, v.root)
	}
	for key := range del {
		delete(m.present, key)
	}
	return n, len(del)
}

func TestModel(t *testing.T) {
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runModel(t, seed, 250) })
	}
}

func runModel(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 99))
	clk := &clock{t: time.Unix(1_000_000, 0)}
	db := openTest(t, store.Config{Now: clk.Now})
	m := newModel()
	ctx := context.Background()
	reasons := []store.Reason{store.ReasonLocal, store.ReasonReplica, store.ReasonCache, store.ReasonCache}
	var roots []dag // every DAG ever generated

	newDAG := func() dag {
		n := 1 + rng.IntN(4)
		seeds := make([]uint64, n)
		for i := range seeds {
			seeds[i] = uint64(rng.IntN(24))
		}
		slices.Sort(seeds)
		seeds = slices.Compact(seeds)
		d := makeDAG(t, seeds, 64+int(seeds[0])*8)
		m.learn(d)
		roots = append(roots, d)
		return d
	}
	putSome := func(b *mbatch, n int) {
		var keys []string
		for ; n > 0 && b.put < len(b.d.leaves); n-- {
			l := b.d.leaves[b.put]
			if err := b.b.Put(l.CID, l.Data); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, l.CID.KeyString())
			b.put++
		}
		if err := b.b.Flush(); err != nil {
			t.Fatal(err)
		}
		m.flush(b, keys)
	}
	pinned := func() (string, store.Reason, bool) {
		var all []string
		for r := range m.pins {
			all = append(all, r)
		}
		if len(all) == 0 {
			return "", "", false
		}
		slices.Sort(all)
		r := all[rng.IntN(len(all))]
		ps := m.pins[r]
		return r, ps[rng.IntN(len(ps))].reason, true
	}
	findDAG := func(key string) dag {
		for _, d := range roots {
			if d.root.CID.KeyString() == key {
				return d
			}
		}
		t.Fatal("unknown root")
		return dag{}
	}

	counts := map[string]int{}
	var evicted, collected int64
	defer func() { t.Logf("ops %v; evicted %d bytes, collected %d bytes", counts, evicted, collected) }()
	for step := range steps {
		var op string
		switch x := rng.IntN(100); {
		case x < 15 && len(m.batches) < 3:
			op = "open"
			b, err := db.NewBatch(store.BatchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			m.batches = append(m.batches, &mbatch{b: b, d: newDAG(), staged: map[string]bool{}, touched: map[string]bool{}})
		case x < 35 && len(m.batches) > 0:
			op = "put"
			putSome(m.batches[rng.IntN(len(m.batches))], 1+rng.IntN(2))
		case x < 50 && len(m.batches) > 0:
			op = "commit"
			i := rng.IntN(len(m.batches))
			b := m.batches[i]
			putSome(b, len(b.d.leaves))
			reason := reasons[rng.IntN(len(reasons))]
			if err := b.b.Commit(store.Commit{Blocks: []store.Block{b.d.root}, Pin: store.Pin{Root: b.d.root.CID, Reason: reason}}); err != nil {
				t.Fatal(err)
			}
			rk := b.d.root.CID.KeyString()
			m.present[rk] = true
			for k := range b.staged {
				delete(m.marks, k)
			}
			m.batches = slices.Delete(m.batches, i, i+1)
			m.pin(rk, reason)
		case x < 58 && len(m.batches) > 0:
			op = "abort"
			i := rng.IntN(len(m.batches))
			b := m.batches[i]
			if err := b.b.Abort(); err != nil {
				t.Fatal(err)
			}
			m.batches = slices.Delete(m.batches, i, i+1)
			for k := range b.staged {
				switch {
				case m.marks[k] == 0:
				case m.marks[k] > 1:
					m.marks[k]--
				default:
					delete(m.marks, k)
					delete(m.present, k)
				}
			}
		case x < 68:
			op = "removepin"
			if r, reason, ok := pinned(); ok {
				if err := db.RemovePin(findDAG(r).root.CID, reason); err != nil {
					t.Fatal(err)
				}
				m.pins[r] = slices.DeleteFunc(m.pins[r], func(p mpin) bool { return p.reason == reason })
				if len(m.pins[r]) == 0 {
					delete(m.pins, r)
				}
			}
		case x < 76 && len(roots) > 0:
			op = "addpin"
			d := roots[rng.IntN(len(roots))]
			reason := reasons[rng.IntN(len(reasons))]
			err := db.AddPin(store.Pin{Root: d.root.CID, Reason: reason})
			rk := d.root.CID.KeyString()
			if !m.present[rk] {
				if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("AddPin of absent root = %v", err)
				}
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			m.pin(rk, reason)
		case x < 82:
			op = "touch"
			if r, _, ok := pinned(); ok {
				db.Touch(findDAG(r).root.CID)
				m.tick++
				for i := range m.pins[r] {
					m.pins[r][i].accessed = m.tick
				}
			}
		case x < 90:
			op = "gc"
			res, err := db.GC(ctx)
			if err != nil {
				t.Fatal(err)
			}
			freed, removed := m.collect(0, false)
			if res.Freed != freed || res.Removed != removed {
				t.Fatalf("step %d: GC = %+v, model %d blocks %d bytes", step, res, removed, freed)
			}
			collected += freed
		default:
			op = "evict"
			need := int64(rng.IntN(2000))
			got, err := db.EvictCache(ctx, need)
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := m.collect(need, true); got != want {
				t.Fatalf("step %d: EvictCache(%d) = %d, model %d", step, need, got, want)
			}
			evicted += got
		}
		counts[op]++
		compareModel(t, db, m, step, op)
		if step%50 == 0 {
			if err := db.Check(); err != nil {
				t.Fatalf("step %d (%s): %v", step, op, err)
			}
		}
	}
	for _, b := range m.batches {
		b.b.Abort()
	}
}

func compareModel(t *testing.T, db *store.DB, m *model, step int, op string) {
	t.Helper()
	var blocks, bytes, staged int64
	for k := range m.size {
		c, err := castKey(k)
		if err != nil {
			t.Fatal(err)
		}
		ok, err := db.Has(c)
		if err != nil {
			t.Fatal(err)
		}
		if ok != m.present[k] {
			t.Fatalf("step %d (%s): Has(%s) = %v, model %v", step, op, c, ok, m.present[k])
		}
		if ok {
			blocks++
			bytes += int64(m.size[k])
			if m.marks[k] > 0 {
				staged += int64(m.size[k])
			}
		}
	}
	u, err := db.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if u.Blocks != blocks || u.Bytes != bytes || u.Staged != staged {
		t.Fatalf("step %d (%s): Usage = %+v, model %d blocks %d bytes %d staged", step, op, u, blocks, bytes, staged)
	}
	pins, err := db.Pins()
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, p := range pins {
		got = append(got, p.Root.KeyString()+string(p.Reason))
	}
	for r, ps := range m.pins {
		for _, p := range ps {
			want = append(want, r+string(p.reason))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("step %d (%s): %d pins, model %d", step, op, len(got), len(want))
	}
}
