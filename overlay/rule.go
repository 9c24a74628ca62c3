package overlay

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Action is what a firewall rule does with a matching packet.
type Action uint8

const (
	Deny Action = iota
	Allow
)

func (a Action) String() string {
	if a == Allow {
		return "allow"
	}
	return "deny"
}

// Rule is one firewall rule for inbound connections:
//
//	allow|deny tcp|udp PORT [from ADDR|PREFIX]
//
// A Rule matches a packet of protocol Proto to port Port from a source inside
// From; the zero From (not valid) means any source.
type Rule struct {
	Action Action
	Proto  uint8 // ProtoTCP or ProtoUDP
	Port   uint16
	From   netip.Prefix
}

// ParseRule parses a rule from text such as "allow tcp 22 from
// fd6d:7963::/32" or "deny udp 53". Keywords are case-insensitive and fields
// are separated by white space. A from address must be IPv6; a prefix is
// stored masked; a plain address is a /128. Errors wrap ErrBadRule and name
// the offending field.
func ParseRule(s string) (Rule, error) {
	var r Rule
	f := strings.Fields(s)
	if len(f) != 3 && len(f) != 5 {
		return r, fmt.Errorf("%w %q: want \"allow|deny tcp|udp PORT [from ADDR|PREFIX]\"", ErrBadRule, s)
	}
	switch strings.ToLower(f[0]) {
	case "allow":
		r.Action = Allow
	case "deny":
		r.Action = Deny
	default:
		return r, fmt.Errorf("%w %q: action %q is not allow or deny", ErrBadRule, s, f[0])
	}
	switch strings.ToLower(f[1]) {
	case "tcp":
		r.Proto = ProtoTCP
	case "udp":
		r.Proto = ProtoUDP
	default:
		return r, fmt.Errorf("%w %q: protocol %q is not tcp or udp", ErrBadRule, s, f[1])
	}
	port, err := strconv.ParseUint(f[2], 10, 16)
	if err != nil || port == 0 || f[2][0] == '+' {
		return r, fmt.Errorf("%w %q: port %q is not a number from 1 to 65535", ErrBadRule, s, f[2])
	}
	r.Port = uint16(port)
	if len(f) == 5 {
		if strings.ToLower(f[3]) != "from" {
			return r, fmt.Errorf("%w %q: expected \"from\", got %q", ErrBadRule, s, f[3])
		}
		if r.From, err = parseSource(f[4]); err != nil {
			return r, fmt.Errorf("%w %q: source %q: %v", ErrBadRule, s, f[4], err)
		}
	}
	return r, nil
}

func parseSource(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, err
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return p, err
		}
		if a.Zone() != "" {
			return p, fmt.Errorf("zones are not allowed")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if !p.Addr().Is6() || p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("not an IPv6 address")
	}
	return p.Masked(), nil
}

// String formats the rule in the syntax ParseRule reads.
func (r Rule) String() string {
	proto := "tcp"
	if r.Proto == ProtoUDP {
		proto = "udp"
	} else if r.Proto != ProtoTCP {
		proto = strconv.Itoa(int(r.Proto))
	}
	s := r.Action.String() + " " + proto + " " + strconv.Itoa(int(r.Port))
	if r.From.IsValid() {
		if r.From.IsSingleIP() {
			s += " from " + r.From.Addr().String()
		} else {
			s += " from " + r.From.String()
		}
	}
	return s
}

// ParseRules parses one rule per line; blank lines and lines starting with
// '#' are skipped. The error names the line.
func ParseRules(text string) ([]Rule, error) {
	var rules []Rule
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		r, err := ParseRule(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// Order returns a sorted copy of rules in the order a Firewall applies
// them, so that the first rule matching a packet is the one that decides:
// by protocol and port, then most specific source first (an address, then
// longer prefixes, then no source), deny before allow among equals.
func Order(rules []Rule) []Rule {
	out := slices.Clone(rules)
	slices.SortStableFunc(out, func(a, b Rule) int {
		return cmp.Or(
			cmp.Compare(a.Proto, b.Proto),
			cmp.Compare(a.Port, b.Port),
			cmp.Compare(b.specificity(), a.specificity()),
			cmp.Compare(a.Action, b.Action), // Deny (0) first
			a.From.Addr().Compare(b.From.Addr()),
		)
	})
	return out
}

// specificity is the source prefix length, -1 for any source.
func (r Rule) specificity() int {
	if !r.From.IsValid() {
		return -1
	}
	return r.From.Bits()
}

func (r Rule) matches(proto uint8, port uint16, src netip.Addr) bool {
	return r.Proto == proto && r.Port == port && (!r.From.IsValid() || r.From.Contains(src))
}
