//go:build linux

package overlaynet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"

	"github.com/myconet/myconet/overlay"
)

// createTUN creates the TUN interface name with the given MTU, gives it addr
// (/128), brings it up and routes overlay.Prefix through it, all over
// netlink. Without the permission it says so in one line.
func createTUN(name string, mtu int, addr netip.Addr) (tun.Device, error) {
	dev, err := tun.CreateTUN(name, mtu)
	if err != nil {
		if errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("creating TUN %s needs root or CAP_NET_ADMIN (or run with --no-tun)", name)
		}
		return nil, fmt.Errorf("create TUN %s: %w", name, err)
	}
	if err := configureTUN(name, addr); err != nil {
		dev.Close()
		return nil, err
	}
	return dev, nil
}

func configureTUN(name string, addr netip.Addr) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("TUN %s: %w", name, err)
	}
	a := addr.As16()
	nlAddr := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(a[:]), Mask: net.CIDRMask(128, 128)}, Flags: unix.IFA_F_NODAD}
	if err := netlink.AddrReplace(link, nlAddr); err != nil {
		return fmt.Errorf("TUN %s: add address %s: %w", name, addr, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("TUN %s: up: %w", name, err)
	}
	p := overlay.Prefix.Addr().As16()
	dst := &net.IPNet{IP: net.IP(p[:]), Mask: net.CIDRMask(overlay.Prefix.Bits(), 128)}
	route := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: dst, Src: net.IP(a[:])}
	if err := netlink.RouteReplace(route); err != nil {
		return fmt.Errorf("TUN %s: route %s: %w", name, overlay.Prefix, err)
	}
	return nil
}
