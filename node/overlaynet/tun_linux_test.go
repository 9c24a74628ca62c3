//go:build linux

package overlaynet

import (
	"net/netip"
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/myconet/myconet/overlay"
)

// TestCreateTUN brings the TUN up in a network namespace of its own (root
// only): the interface exists with the MTU, the /128 address and the
// fd6d:7963::/32 route, and closing the device removes it.
func TestCreateTUN(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating a TUN and a network namespace needs root")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New() // switches this thread into a new, empty namespace
	if err != nil {
		t.Skipf("cannot create a network namespace: %v", err)
	}
	defer func() {
		if err := netns.Set(orig); err != nil {
			t.Fatalf("back to the original namespace: %v", err)
		}
		ns.Close()
	}()

	addr := netip.MustParseAddr("fd6d:7963:1:2:3:4:5:6")
	dev, err := createTUN("mycotest0", 9000, addr)
	if err != nil {
		t.Fatal(err)
	}
	link, err := netlink.LinkByName("mycotest0")
	if err != nil {
		dev.Close()
		t.Fatal(err)
	}
	if link.Attrs().MTU != 9000 || link.Attrs().Flags&unix.IFF_UP == 0 {
		t.Errorf("link %+v: want MTU 9000 and up", link.Attrs())
	}
	addrs, _ := netlink.AddrList(link, netlink.FAMILY_V6)
	found := false
	for _, a := range addrs {
		ones, _ := a.Mask.Size()
		found = found || (a.IP.String() == addr.String() && ones == 128)
	}
	if !found {
		t.Errorf("addresses %v lack %s/128", addrs, addr)
	}
	routes, _ := netlink.RouteList(link, netlink.FAMILY_V6)
	found = false
	for _, r := range routes {
		found = found || (r.Dst != nil && r.Dst.String() == overlay.Prefix.String())
	}
	if !found {
		t.Errorf("routes %v lack %s", routes, overlay.Prefix)
	}
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName("mycotest0"); err == nil {
		t.Error("the interface outlived Close")
	}
}
