package httpx

import (
	"net"
	"net/netip"
	"strings"
)

// LoopbackHost reports whether host (a Host header, with or without port) is
// localhost, a loopback IP, or, when sub is set, a name under .localhost.
func LoopbackHost(host string, sub bool) bool {
	name := Hostname(host)
	if name == "" {
		return false
	}
	if name == "localhost" || (sub && strings.HasSuffix(name, ".localhost")) {
		return true
	}
	ip, err := netip.ParseAddr(name)
	return err == nil && ip.Unmap().IsLoopback()
}

// Hostname strips the port and IPv6 brackets from host and lowercases it.
func Hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}
