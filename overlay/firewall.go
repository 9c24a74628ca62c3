package overlay

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// FirewallConfig configures a Firewall. The zero value gives the defaults.
type FirewallConfig struct {
	// Rules is the initial rule set (see SetRules).
	Rules []Rule
	// TCPIdle, UDPIdle and ICMPIdle are how long a flow the node opened stays
	// open without packets (defaults 2 h, 3 min, 30 s).
	TCPIdle, UDPIdle, ICMPIdle time.Duration
	// MaxFlows bounds the flow table (default 65536). When it is full and no
	// flow has expired, new outbound flows are not tracked: their replies are
	// dropped like any unsolicited packet.
	MaxFlows int
	// Now is the clock (time.Now if nil); a test seam.
	Now func() time.Time
}

// Firewall decides which inbound overlay packets reach the node. By default
// nothing passes except ICMPv6 echo requests; replies to flows the node
// opened pass (TCP connections it started with a SYN, UDP flows and echo
// requests it sent, tracked by 5-tuple with idle timeouts); ICMPv6 errors
// pass when they quote a packet this node sent to the error's sender; rules
// open (or close) ports.
//
// The most specific rule that matches a packet decides, whatever the order
// the rules were given in: a rule for one address beats one for a prefix
// that holds it, a longer prefix beats a shorter one, and any of them beats
// a rule without a source; between equally specific rules deny wins. So
// "deny tcp 8000 from A" closes port 8000 to A even after "allow tcp 8000",
// and "allow tcp 22 from A" opens it to A even after "deny tcp 22". Order
// lists rules in that order, the first match first. A packet no rule
// matches is denied.
//
// A Firewall is safe for concurrent use; SetRules replaces the rule set
// atomically for packets that follow. It starts no goroutines: expired flows
// are swept while tracking new ones.
type Firewall struct {
	cfg   FirewallConfig
	start time.Time
	rules atomic.Pointer[ruleSet]

	mu        sync.Mutex
	flows     map[flowKey]int64 // expiry in ns since start; guarded by mu
	lastSweep int64             // guarded by mu
}

type ruleSet struct {
	ordered []Rule // Order(rules): the first match is the most specific
}

type flowKey struct {
	local, remote         netip.Addr
	localPort, remotePort uint16 // echo identifier in localPort for ICMPv6
	proto                 uint8
}

// NewFirewall returns a firewall with cfg's rules.
func NewFirewall(cfg FirewallConfig) *Firewall {
	if cfg.TCPIdle <= 0 {
		cfg.TCPIdle = 2 * time.Hour
	}
	if cfg.UDPIdle <= 0 {
		cfg.UDPIdle = 3 * time.Minute
	}
	if cfg.ICMPIdle <= 0 {
		cfg.ICMPIdle = 30 * time.Second
	}
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = 65536
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	f := &Firewall{cfg: cfg, start: cfg.Now(), flows: make(map[flowKey]int64)}
	f.SetRules(cfg.Rules)
	return f
}

// SetRules replaces the rule set; packets that follow see the new one.
// Flows already tracked stay open.
func (f *Firewall) SetRules(rules []Rule) {
	f.rules.Store(&ruleSet{ordered: Order(rules)})
}

// Rules returns a copy of the current rule set in the order it applies
// (see Order).
func (f *Firewall) Rules() []Rule {
	return slices.Clone(f.rules.Load().ordered)
}

func (f *Firewall) now() int64 { return int64(f.cfg.Now().Sub(f.start)) }

// Outbound records a packet the node sends, so that replies to it pass.
func (f *Firewall) Outbound(p *Packet) {
	if p.NonFirst {
		return
	}
	var idle time.Duration
	create := true
	k := flowKey{local: p.Src, remote: p.Dst, proto: p.Proto}
	switch p.Proto {
	case ProtoTCP:
		k.localPort, k.remotePort = p.SrcPort, p.DstPort
		idle = f.cfg.TCPIdle
		// Only a connection the node opens creates state; its answers on
		// connections others opened refresh state but never create it, so
		// a rule change closes those.
		create = p.TCPFlags&(TCPSyn|TCPAck) == TCPSyn
	case ProtoUDP:
		k.localPort, k.remotePort = p.SrcPort, p.DstPort
		idle = f.cfg.UDPIdle
	case ProtoICMPv6:
		if p.ICMPType != icmpTypeEcho {
			return
		}
		k.localPort = p.EchoID
		idle = f.cfg.ICMPIdle
	default:
		return
	}
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.flows[k]; !ok {
		if !create {
			return
		}
		if len(f.flows) >= f.cfg.MaxFlows || now-f.lastSweep > int64(time.Minute) {
			f.sweepLocked(now)
		}
		if len(f.flows) >= f.cfg.MaxFlows {
			return
		}
	}
	f.flows[k] = now + int64(idle)
}

// sweepLocked removes expired flows. f.mu must be held.
func (f *Firewall) sweepLocked(now int64) {
	f.lastSweep = now
	for k, exp := range f.flows {
		if exp <= now {
			delete(f.flows, k)
		}
	}
}

// Allow reports whether the inbound packet b, parsed as p, may reach the
// node, refreshing the flow it belongs to.
func (f *Firewall) Allow(b []byte, p *Packet) bool {
	if p.NonFirst {
		// A non-first fragment carries no ports. It is harmless alone: the
		// receiver cannot reassemble it without the first fragment, which
		// carries the full header chain (RFC 7112) and is checked.
		return true
	}
	k := flowKey{local: p.Dst, remote: p.Src, proto: p.Proto}
	switch p.Proto {
	case ProtoTCP, ProtoUDP:
		k.localPort, k.remotePort = p.DstPort, p.SrcPort
		if f.refresh(k, p.Proto) {
			return true
		}
		for _, r := range f.rules.Load().ordered {
			if r.matches(p.Proto, p.DstPort, p.Src) {
				return r.Action == Allow
			}
		}
		return false
	case ProtoICMPv6:
		switch {
		case p.ICMPType == icmpTypeEcho:
			return true
		case p.ICMPType == icmpTypeReply:
			k.localPort = p.EchoID
			return f.refresh(k, p.Proto)
		case p.ICMPType < 128 && len(b) >= p.Offset+icmpEchoLen:
			// An error passes only if it quotes a packet this node sent to
			// the error's sender: the overlay has no routers between nodes,
			// so only the destination can report a problem with a packet.
			q, err := ParseEmbedded(b[p.Offset+icmpEchoLen:])
			return err == nil && q.Src == p.Dst && q.Dst == p.Src
		}
	}
	return false
}

func (f *Firewall) refresh(k flowKey, proto uint8) bool {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	exp, ok := f.flows[k]
	if !ok {
		return false
	}
	if exp <= now {
		delete(f.flows, k)
		return false
	}
	idle := f.cfg.UDPIdle
	switch proto {
	case ProtoTCP:
		idle = f.cfg.TCPIdle
	case ProtoICMPv6:
		idle = f.cfg.ICMPIdle
	}
	f.flows[k] = now + int64(idle)
	return true
}

// Flows returns the number of tracked flows, expired ones included until swept.
func (f *Firewall) Flows() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.flows)
}
