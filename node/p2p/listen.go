package p2p

// Refusing a listen port that another program holds.
//
// libp2p's TCP transport binds its listeners with SO_REUSEPORT (so that
// outgoing connections can leave from the listen port, which NAT traversal
// needs). The kernel then lets a second process of the same user bind the
// very same port: two homes with the default config both "listen" on 4809,
// and connections meant for one reach the other ("peer id mismatch"). So
// before the host starts, every configured address with a fixed port is
// bound once without SO_REUSEPORT: that fails exactly when someone holds the
// port, and the node refuses to start with one line that says what to do,
// as Kubo and Syncthing do for a port in use. (Kernel-chosen ports, port 0,
// cannot collide.) Only "address in use" refuses: an address family the
// system lacks (no IPv6) is left to libp2p, which skips it.

import (
	"errors"
	"fmt"
	"syscall"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	"github.com/myconet/myconet/node/apitype"
)

// checkListenFree returns an error naming the first address of listen whose
// port another program holds.
func checkListenFree(listen []string) error {
	for _, s := range listen {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return apitype.Errorf(apitype.CodeInvalid, "config: network.listen: %q: %v", s, err)
		}
		if err := probeListen(a); errors.Is(err, syscall.EADDRINUSE) {
			return apitype.Errorf(apitype.CodeInvalid, "network.listen: %s is in use by another program (another Myconet daemon?): stop it, or give this node other ports with `myconet daemon --listen` or `myconet config set network.listen`", s)
		}
	}
	return nil
}

// probeListen binds a's TCP or UDP port (without SO_REUSEPORT) and closes
// it again. Addresses with port 0 or of other transports are not probed.
func probeListen(a ma.Multiaddr) error {
	var (
		port string
		tcp  bool
	)
	if p, err := a.ValueForProtocol(ma.P_TCP); err == nil {
		port, tcp = p, true
	} else if p, err := a.ValueForProtocol(ma.P_UDP); err == nil {
		port = p
	}
	if port == "" || port == "0" {
		return nil
	}
	// The IP and the transport part alone: /ip4/…/tcp/N or /ip4/…/udp/N.
	first, _ := ma.SplitFirst(a)
	if first == nil {
		return nil
	}
	proto := "udp"
	if tcp {
		proto = "tcp"
	}
	base, err := ma.NewMultiaddr(fmt.Sprintf("%s/%s/%s", first.String(), proto, port))
	if err != nil {
		return nil
	}
	if tcp {
		l, err := manet.Listen(base)
		if err != nil {
			return err
		}
		return l.Close()
	}
	c, err := manet.ListenPacket(base)
	if err != nil {
		return err
	}
	return c.Close()
}
