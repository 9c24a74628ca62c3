package node

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The import graph's rules (docs/ARCHITECTURE.md, "Package map"), checked
// on the non-test imports of every package in the module, as tailscale's
// deptest does.
const module = "github.com/myconet/myconet"

// pureCores import nothing above them: no node package, no network library.
var pureCores = []string{"mri", "metadata", "moderation", "search", "overlay", "store"}

// network libraries a pure core may not reach, even indirectly. overlay
// alone may use package net (it routes IP packets and opens the TUN).
var networkPkgs = []string{"net/http", "github.com/libp2p/", "github.com/quic-go/", "github.com/multiformats/go-multiaddr", "github.com/miekg/dns"}

// cmdMay is everything of the module that cmd may import: the node (the
// composition root) and the vocabulary and clients of its API.
var cmdMay = map[string]bool{
	module + "/node":         true,
	module + "/node/apitype": true,
	module + "/node/config":  true,
	module + "/node/client":  true,
	module + "/node/webui":   true, // the web app: an API client the daemon mounts
}

// depGraph maps a package to its direct non-test imports.
type depGraph map[string][]string

// closure returns every package pkg reaches.
func (g depGraph) closure(pkg string) map[string]bool {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(p string) {
		for _, d := range g[p] {
			if !seen[d] {
				seen[d] = true
				walk(d)
			}
		}
	}
	walk(pkg)
	return seen
}

// importViolations lists every broken rule, one line each.
func importViolations(g depGraph) []string {
	var out []string
	for pkg := range g {
		if !strings.HasPrefix(pkg, module+"/") {
			continue
		}
		rel := strings.TrimPrefix(pkg, module+"/")
		deps := g.closure(pkg)
		switch {
		case strings.HasPrefix(rel, "node/") && rel != "node/nodetest":
			// A service (or the API's vocabulary) never reaches back into
			// the composition root.
			if deps[module+"/node"] {
				out = append(out, rel+" imports node (only node/nodetest may)")
			}
		case strings.HasPrefix(rel, "cmd/"):
			for _, d := range g[pkg] {
				if strings.HasPrefix(d, module+"/") && !cmdMay[d] && !strings.HasPrefix(d, module+"/internal/") {
					out = append(out, rel+" reaches past node's API: imports "+strings.TrimPrefix(d, module+"/"))
				}
			}
		}
		for _, core := range pureCores {
			if rel != core {
				continue
			}
			for d := range deps {
				if d == module+"/node" || strings.HasPrefix(d, module+"/node/") {
					out = append(out, core+" (a pure core) imports "+strings.TrimPrefix(d, module+"/"))
				}
				for _, n := range networkPkgs {
					if d == n || strings.HasSuffix(n, "/") && strings.HasPrefix(d, n) {
						out = append(out, core+" (a pure core) imports the network library "+d)
					}
				}
				if d == "net" && core != "overlay" {
					out = append(out, core+" (a pure core) imports net")
				}
			}
		}
	}
	// The API's vocabulary, which every client links, imports of the module
	// only pure cores without storage (the query language of search, say).
	for _, d := range g[module+"/node/apitype"] {
		rel := strings.TrimPrefix(d, module+"/")
		if strings.HasPrefix(d, module+"/") && (rel == "store" || !slices.Contains(pureCores, rel)) {
			out = append(out, "node/apitype imports "+rel)
		}
	}
	sort.Strings(out)
	return out
}

// TestImportGraph enforces the rules on the module as it is.
func TestImportGraph(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the go command")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	g := depGraph{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		g[f[0]] = f[1:]
	}
	if len(g) < 50 {
		t.Fatalf("go list gave only %d packages", len(g))
	}
	for _, v := range importViolations(g) {
		t.Error(v)
	}
}

// TestImportRulesCatch shows that each rule fires on a graph that breaks it.
func TestImportRulesCatch(t *testing.T) {
	m := func(s string) string { return module + "/" + s }
	g := depGraph{
		m("node"):          {m("node/moderate"), m("store")},
		m("node/moderate"): {m("node/helper")},
		m("node/helper"):   {m("node")},                                // a service reaching back
		m("node/nodetest"): {m("node")},                                // allowed
		m("node/apitype"):  {"context", m("search"), m("node/config")}, // vocabulary importing a service
		m("cmd/myconet"):   {m("node"), m("node/moderate"), "fmt"},     // cmd past the API
		m("search"):        {m("metadata")},
		m("metadata"):      {"github.com/libp2p/go-libp2p/core/peer"}, // network, indirectly for search
		m("mri"):           {"net"},
		m("overlay"):       {"net"}, // allowed
		m("store"):         {m("node/config")},
	}
	got := importViolations(g)
	want := []string{
		"cmd/myconet reaches past node's API: imports node/moderate",
		"metadata (a pure core) imports the network library github.com/libp2p/go-libp2p/core/peer",
		"mri (a pure core) imports net",
		"node/apitype imports node/config",
		"node/helper imports node (only node/nodetest may)",
		"node/moderate imports node (only node/nodetest may)",
		"search (a pure core) imports the network library github.com/libp2p/go-libp2p/core/peer",
		"store (a pure core) imports node/config",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestFileSizes keeps node the composition root (its own non-test files
// together at most 3,000 lines) and every non-test file of the module under
// 700 lines, so that no package grows back into one room.
func TestFileSizes(t *testing.T) {
	root := filepath.Join("..")
	var nodeLines int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		lines := bytes.Count(b, []byte("\n"))
		if lines > 700 {
			t.Errorf("%s has %d lines (at most 700)", path, lines)
		}
		if filepath.Dir(path) == filepath.Join(root, "node") {
			nodeLines += lines
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if nodeLines > 3000 || nodeLines == 0 {
		t.Errorf("package node's non-test files have %d lines (at most 3,000: node composes, services live in packages of their own)", nodeLines)
	}
	t.Logf("package node: %d lines", nodeLines)
}
