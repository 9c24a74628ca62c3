package store_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/store"
)

const crashEnv = "MYCONET_STORE_CRASH_CHILD"

// TestCrash runs a child process that adds packages in a loop and SIGKILLs
// it at random points. After each kill the store must reopen cleanly: Check
// passes, nothing is staged, every committed DAG is complete and pinned, and
// after GC the store holds exactly the blocks reachable from pins.
func TestCrash(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(t, path)
		return
	}
	if testing.Short() {
		t.Skip("slow")
	}
	path := filepath.Join(t.TempDir(), "store.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	committed := map[string]dag{} // root key -> DAG expected pinned
	recovered := 0                // rounds whose reopen removed staged blocks
	defer func() { t.Logf("%d of 8 rounds removed staged blocks on reopen", recovered) }()
	for round := range 8 {
		seen := crashRound(t, "TestCrash", crashEnv, path, round, 1+rng.IntN(6), 30, rng, committed)

		var logBuf bytes.Buffer
		db, err := store.Open(store.Config{Path: path, Links: toyLinks, NoSync: true, Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		if err := db.Check(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		u, _ := db.Usage()
		if u.Staged != 0 {
			t.Errorf("round %d: %d bytes still staged", round, u.Staged)
		}
		for _, d := range committed {
			if err := dagComplete(db, d); err != nil {
				t.Errorf("round %d: committed DAG incomplete: %v", round, err)
			}
			if pins, _ := db.PinsOf(d.root.CID); len(pins) == 0 {
				t.Errorf("round %d: committed DAG %s not pinned", round, d.root.CID)
			}
		}
		if _, err := db.GC(context.Background()); err != nil {
			t.Fatal(err)
		}
		if leaked := leakedBytes(t, db); leaked != 0 {
			t.Errorf("round %d: %d bytes held by no pin after GC", round, leaked)
		}
		if strings.Contains(logBuf.String(), "staged") {
			recovered++
		}
		t.Logf("round %d: killed after %d commits; %d blocks, %d bytes, %d DAGs checked; %s", round, seen, u.Blocks, u.Bytes, len(committed), strings.TrimSpace(logBuf.String()))
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// leakedBytes returns the bytes stored beyond those reachable from pins.
func leakedBytes(t *testing.T, db *store.DB) int64 {
	pins, err := db.Pins()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[cid.Cid]bool{}
	var reachable int64
	var walk func(c cid.Cid)
	walk = func(c cid.Cid) {
		if seen[c] {
			return
		}
		seen[c] = true
		data, err := db.Get(c)
		if err != nil {
			t.Errorf("pinned DAG block %s: %v", c, err)
			return
		}
		reachable += int64(len(data))
		if c.Type() == toyCodec {
			kids, _ := toyLinks(c, data)
			for _, k := range kids {
				walk(k)
			}
		}
	}
	for _, p := range pins {
		walk(p.Root)
	}
	u, _ := db.Usage()
	return u.Bytes - reachable
}

func formatDAG(size int, seeds []uint64) string {
	s := make([]string, len(seeds))
	for i, x := range seeds {
		s[i] = strconv.FormatUint(x, 10)
	}
	return fmt.Sprintf("%d %s", size, strings.Join(s, ","))
}

func parseDAG(t *testing.T, f []string) dag {
	size, _ := strconv.Atoi(f[0])
	var seeds []uint64
	for _, s := range strings.Split(f[1], ",") {
		x, _ := strconv.ParseUint(s, 10, 64)
		seeds = append(seeds, x)
	}
	return makeDAG(t, seeds, size)
}

// crashChild adds, aborts and unpins packages until it is killed (or 20s).
func crashChild(t *testing.T, path string) {
	seed, _ := strconv.Atoi(os.Getenv("CRASH_SEED"))
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(time.Now().UnixNano())))
	db, err := store.Open(store.Config{Path: path, Links: toyLinks, NoSync: true, OpenTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var mine []cid.Cid
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		n := 2 + rng.IntN(30)
		seeds := make([]uint64, n)
		for i := range seeds {
			seeds[i] = uint64(rng.IntN(400)) // some leaves are shared
		}
		slices.Sort(seeds)
		seeds = slices.Compact(seeds)
		size := 1024 * (1 + rng.IntN(64))
		d := makeDAG(t, seeds, size)
		b, err := db.NewBatch(store.BatchOptions{Expected: d.size()})
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range d.leaves {
			if err := b.Put(l.CID, l.Data); err != nil {
				t.Fatal(err)
			}
			if i%5 == 4 {
				if err := b.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		switch x := rng.IntN(10); {
		case x < 2:
			if err := b.Abort(); err != nil {
				t.Fatal(err)
			}
		default:
			if err := b.Commit(store.Commit{
				Blocks:  []store.Block{d.root},
				Pin:     store.Pin{Root: d.root.CID, Reason: store.ReasonLocal, Size: d.size()},
				Package: &store.PackageRecord{CID: d.root.CID, Title: "p", Size: d.size()},
			}); err != nil {
				t.Fatal(err)
			}
			fmt.Println("committed", formatDAG(size, seeds))
			mine = append(mine, d.root.CID)
		}
		if rng.IntN(8) == 0 && len(mine) > 0 {
			c := mine[0]
			mine = mine[1:]
			fmt.Println("unpinning", c)
			if err := db.RemovePin(c, store.ReasonLocal); err != nil {
				t.Fatal(err)
			}
			if _, err := db.GC(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	db.Close()
}

// crashRound runs test's child process on path (its env variable names the
// path), follows what it reports committed and unpinned in committed, and
// kills it at a random point after its killAfter-th commit (up to maxDelayMs
// later). Lines the child wrote before dying are still read. It returns
// how many commits the child reported.
func crashRound(t *testing.T, test, env, path string, round, killAfter, maxDelayMs int, rng *rand.Rand, committed map[string]dag) (seen int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env+"="+path, "CRASH_SEED="+strconv.Itoa(round))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "committed":
			d := parseDAG(t, f[1:])
			committed[d.root.CID.KeyString()] = d
			seen++
		case "unpinning":
			c, err := cid.Decode(f[1])
			if err != nil {
				t.Fatal(err)
			}
			delete(committed, c.KeyString())
		}
		if seen == killAfter {
			// A random kill point, not synchronisation.
			time.Sleep(time.Duration(rng.IntN(maxDelayMs)) * time.Millisecond)
			cmd.Process.Kill()
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	return seen
}
