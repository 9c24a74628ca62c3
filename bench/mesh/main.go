// Command mesh measures Myconet's mesh on libp2p's in-memory mocknet, with
// full nodes started in one process by node/nodetest. It prints tables on
// stdout and progress on stderr. See README.md for the columns.
//
// Spread (the default): time until a freshly added package is fetchable from
// every other node of a sparsely connected network.
//
//	go run ./bench/mesh -nodes 50
//
// Simulation: DHT lookup hops and time, replication traffic per package, and
// durability after churn, on a larger network.
//
//	go run ./bench/mesh -nodes 1000 -sim
package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/myconet/myconet/node/nodetest"
	"os"
	"runtime/pprof"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace/noop"
)

type options struct {
	nodes    int
	degree   int
	size     int64
	seed     uint64
	replicas int
	timeout  time.Duration
	verbose  bool
	logs     bool
	cpuprof  string
	maxRSS   int64
	fetchers int

	// -sim
	sim      bool
	full     int
	probes   int
	packages int
	lookups  int
	warm     int
	kill     float64
	interval time.Duration
	repair   time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.nodes, "nodes", 50, "nodes in the network")
	flag.IntVar(&o.degree, "degree", 3, "connections each node dials at the start (sparse: paths are multi-hop)")
	flag.Int64Var(&o.size, "size", 256<<10, "bytes of each package's file")
	flag.Uint64Var(&o.seed, "seed", 1, "random seed (topology, publishers, churn)")
	flag.IntVar(&o.replicas, "replicas", 3, "replication.replicas (R) on every node")
	flag.DurationVar(&o.timeout, "timeout", 3*time.Minute, "give up on a node's fetch (spread) or on settling (sim) after this")
	flag.BoolVar(&o.verbose, "v", false, "more progress on stderr")
	flag.BoolVar(&o.logs, "logs", false, "node debug logs on stderr (very noisy)")
	flag.StringVar(&o.cpuprof, "cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Int64Var(&o.maxRSS, "maxrss", 12<<30, "abort when the process's resident set passes this many bytes (0: no limit)")
	flag.IntVar(&o.fetchers, "fetchers", 0, "spread: nodes that fetch, farthest from the publisher first (0: all others)")
	flag.BoolVar(&o.sim, "sim", false, "run the simulation (lookups, replication traffic, churn) instead of spread")
	flag.IntVar(&o.full, "full", 0, "-sim: full nodes (0: all but the probes); the rest are DHT-only nodes")
	flag.IntVar(&o.probes, "probes", 10, "-sim: DHT-only nodes that run the measured lookups (at least this many DHT-only nodes exist)")
	flag.IntVar(&o.packages, "packages", 20, "-sim: packages published (K)")
	flag.IntVar(&o.lookups, "lookups", 100, "-sim: measured lookups of each kind, before and after churn")
	flag.IntVar(&o.warm, "warm", 1, "-sim: random-key lookups each node makes to fill routing tables before measuring")
	flag.Float64Var(&o.kill, "kill", 0.3, "-sim: fraction of nodes (not probes) killed at random")
	flag.DurationVar(&o.interval, "interval", 20*time.Second, "-sim: node.Config.ReplicateInterval (repair checks)")
	flag.DurationVar(&o.repair, "repair", 3*time.Minute, "-sim: longest wait for repair after the churn")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "mesh:", err)
		os.Exit(1)
	}
}

func run(o options) (reterr error) {
	if o.nodes < 2 {
		return errors.New("-nodes must be at least 2")
	}
	if o.cpuprof != "" {
		f, err := os.Create(o.cpuprof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// kad-dht starts an OpenTelemetry span per request; the global
	// delegating tracer provider takes one process-wide mutex for each, which
	// serialises a thousand simulated nodes. A no-op provider has no lock.
	otel.SetTracerProvider(noop.NewTracerProvider())
	tb, err := nodetest.NewProgramTB("bench-mesh-", o.logs)
	if err != nil {
		return err
	}
	if o.maxRSS > 0 {
		go guardMemory(o.maxRSS, tb.Root())
	}
	defer func() {
		progress("closing")
		tb.Close()
	}()
	// nodetest reports setup failures through Fatal, which panics here.
	defer tb.Recover(&reterr)
	if o.sim {
		return simulate(tb, o)
	}
	return spread(tb, o)
}

var start = time.Now()

// progress prints a line to stderr with the time since the program started.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
}

// guardMemory ends the program when its resident set passes limit, so that a
// simulation too large for the machine stops before the kernel's OOM killer
// picks a victim. It removes the temporary directory first.
func guardMemory(limit int64, tmp string) {
	for {
		time.Sleep(2 * time.Second) // sampling, not synchronising
		if rss, _, _ := memory(); rss > limit {
			progress("resident set %s passed -maxrss %s: stopping; %s", bytesStr(float64(rss)), bytesStr(float64(limit)), memLine())
			os.RemoveAll(tmp)
			os.Exit(2)
		}
	}
}
