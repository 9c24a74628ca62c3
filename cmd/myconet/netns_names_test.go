package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/myconet/myconet/internal/netns"
)

// Names across namespaces a–b–c: in a, curl reaches a web server in c by
// c's peer ID, by a petname a gave c, and by the name c published for
// itself (under the petname and under c's peer ID), through a's own DNS
// server on its overlay address (the namespace's resolv.conf points
// there); and `ssh laptop.myco` reaches an sshd in c. Issue 15 §3.
func TestNetnsNames(t *testing.T) {
	needNetns(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("the names e2e test needs curl: apt-get install curl")
	}
	tool := netns.Build(t, "internal/netns/nettool")
	lab, da, _, dc := chain(t, netns.DaemonOptions{TUN: true})
	a, c := da.NS, dc.NS
	for _, dm := range []*netns.Daemon{da, dc} {
		lab.Eventually(10*time.Second, dm.NS.Tag+"'s myco0", func() bool {
			out, _ := dm.NS.Run("ip", "-6", "addr", "show", "dev", "myco0")
			return strings.Contains(out, dm.ID.Address+"/")
		})
	}
	// `ip netns exec` mounts /etc/netns/<name>/resolv.conf over /etc/resolv.conf.
	dir := filepath.Join("/etc/netns", a.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte("nameserver "+da.ID.Address+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	srv := c.Start("http", tool, "http", "["+dc.ID.Address+"]:8080", "hello-from-c")
	lab.Eventually(10*time.Second, "c's web server", func() bool { return strings.HasPrefix(srv.Output(), "ready") })
	dc.MustCLI("firewall", "allow", "tcp", "8080")
	da.MustCLI("name", "set", "server", dc.ID.PeerID)
	var last string
	get := func(host string) bool {
		out, err := a.Run("curl", "-sS", "-m", "5", "http://"+host+":8080/")
		last = host + ": " + out
		if err != nil {
			last += err.Error()
		}
		return err == nil && strings.TrimSpace(out) == "hello-from-c"
	}
	defer func() {
		if t.Failed() {
			t.Logf("last curl: %s\na's log:\n%s", last, da.Proc.Output())
		}
	}()
	lab.Eventually(30*time.Second, "curl in a of c by its peer ID", func() bool { return get(dc.ID.PeerID + ".myco") })
	if !get("server.myco") {
		t.Fatalf("curl by petname: %s", last)
	}
	dc.MustCLI("name", "publish", "www")
	lab.Eventually(20*time.Second, "curl in a of the name c published", func() bool { return get("www.server.myco") })
	if !get("www." + dc.ID.PeerID + ".myco") {
		t.Fatalf("curl by the published name under c's peer ID: %s", last)
	}
	if _, err := a.Run("curl", "-sS", "-m", "5", "http://nobody.myco:8080/"); err == nil {
		t.Fatal("an unknown .myco name resolved")
	}
	t.Run("ssh", func(t *testing.T) { sshByName(t, lab, da, dc) }) // netns_ssh_test.go
}
