package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/myconet/myconet/internal/netns"
)

// sshd is where Debian's openssh-server puts the daemon.
const sshd = "/usr/sbin/sshd"

// sshByName: `ssh laptop.myco` from from's namespace reaches an sshd on
// to's overlay address, found through from's .myco DNS server (the
// namespace's resolv.conf points there) by the petname laptop, and runs a
// command there: it prints to's overlay interface, so the reply proves
// which namespace ran it. The sshd and keys are throwaway ones of the
// test; host keys are not checked (the name is what is tested). Issue 15 §3.
func sshByName(t *testing.T, lab *netns.Lab, from, to *netns.Daemon) {
	if _, err := os.Stat(sshd); err != nil {
		t.Skip("ssh by name needs openssh-server and openssh-client: apt-get install openssh-server openssh-client")
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("ssh by name needs openssh-client: apt-get install openssh-client")
	}
	// sshd refuses to start without its privilege separation directory,
	// which the package's service creates at boot.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keygen := func(name string) string {
		p := filepath.Join(dir, name)
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "myconet-test", "-f", p).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
		return p
	}
	hostKey, userKey := keygen("host"), keygen("user")
	pub, err := os.ReadFile(userKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	auth := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(auth, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`Port 22
ListenAddress %s
HostKey %s
AuthorizedKeysFile %s
PidFile none
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
`, to.ID.Address, hostKey, auth)), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := to.NS.Start("sshd", sshd, "-D", "-e", "-f", conf)
	lab.Eventually(10*time.Second, "sshd in "+to.NS.Tag+" to listen", func() bool {
		if done, err := srv.Exited(); done {
			t.Fatalf("sshd exited (%v):\n%s", err, srv.Output())
		}
		return strings.Contains(srv.Output(), "Server listening")
	})
	to.MustCLI("firewall", "allow", "tcp", "22")
	from.MustCLI("name", "set", "laptop", to.ID.PeerID)
	var out string
	lab.Eventually(30*time.Second, "ssh laptop.myco", func() bool {
		out, err = from.NS.Run("ssh", "-F", "/dev/null", "-i", userKey, "-o", "IdentitiesOnly=yes",
			"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
			"-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
			"root@laptop.myco", "ip -6 addr show dev myco0")
		return err == nil
	})
	if !strings.Contains(out, to.ID.Address+"/") {
		t.Fatalf("ssh laptop.myco ran somewhere else than %s:\n%s", to.NS.Tag, out)
	}
}
