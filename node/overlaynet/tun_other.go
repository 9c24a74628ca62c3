//go:build !linux

package overlaynet

import (
	"fmt"
	"net/netip"
	"runtime"

	"golang.zx2c4.com/wireguard/tun"
)

// createTUN is Linux-only for now: elsewhere the node runs without a TUN.
func createTUN(name string, mtu int, addr netip.Addr) (tun.Device, error) {
	return nil, fmt.Errorf("the overlay TUN is not supported on %s yet", runtime.GOOS)
}
