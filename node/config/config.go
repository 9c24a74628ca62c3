package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/overlay"
)

// ConfigVersion is the version of the config file format this code writes.
const ConfigVersion = 1

// Default addresses. The API and gateway only ever listen on loopback by default.
const (
	DefaultAPIAddr     = "127.0.0.1:5190"
	DefaultGatewayAddr = "127.0.0.1:8190"
	DefaultReplicas    = 3
)

// FileConfig is the config file (config.toml in the node's home). Sizes and
// rates are human strings ("20GB", "10MB/s"); "" or "unlimited" means no limit
// and 0 means zero (see ParseLimit).
type FileConfig struct {
	Version     int               `toml:"version"`
	API         APIConfig         `toml:"api"`
	Gateway     GatewayConfig     `toml:"gateway"`
	Network     NetworkConfig     `toml:"network"`
	Overlay     OverlayConfig     `toml:"overlay"`
	Quota       QuotaConfig       `toml:"quota"`
	Replication ReplicationConfig `toml:"replication"`
	Moderation  ModerationConfig  `toml:"moderation"`
}

// APIConfig configures the HTTP API.
type APIConfig struct {
	Address string `toml:"address"`
}

// GatewayConfig configures the HTTP gateway.
type GatewayConfig struct {
	Address string `toml:"address"`
}

// NetworkConfig configures libp2p.
type NetworkConfig struct {
	Listen    []string `toml:"listen"`
	Bootstrap []string `toml:"bootstrap"`
	MDNS      bool     `toml:"mdns"`
	DHT       string   `toml:"dht"` // auto | server | client
	// PortMap asks the home router for a port mapping (UPnP / NAT-PMP).
	// Off by default: it sends multicast onto the local network.
	PortMap bool `toml:"port_map"`
}

// OverlayConfig configures the IPv6 overlay.
type OverlayConfig struct {
	TUN      bool     `toml:"tun"`
	TUNName  string   `toml:"tun_name"`
	MTU      int      `toml:"mtu"`
	Firewall []string `toml:"firewall"`
	DNS      string   `toml:"dns"` // tun | none | HOST:PORT (node/namesvc)
}

// DefaultOverlayMTU is the TUN's default MTU. Packets travel inside a
// stream, so the underlay's MTU does not bound them; a large MTU means fewer
// packets for the same bytes. Peers with a smaller one answer larger packets
// with ICMPv6 Packet Too Big.
const DefaultOverlayMTU = 16384

// QuotaConfig holds the owner's resource limits.
type QuotaConfig struct {
	Disk        string `toml:"disk"`
	Upload      string `toml:"upload"`
	Download    string `toml:"download"`
	Memory      string `toml:"memory"`
	Connections int    `toml:"connections"`
	Replicas    string `toml:"replicas"`
	CPU         int    `toml:"cpu"`
}

// ReplicationConfig configures replication.
type ReplicationConfig struct {
	Replicas int `toml:"replicas"`
}

// DefaultConfig returns the config a fresh node starts with.
func DefaultConfig() FileConfig {
	return FileConfig{
		Version: ConfigVersion,
		API:     APIConfig{Address: DefaultAPIAddr},
		Gateway: GatewayConfig{Address: DefaultGatewayAddr},
		Network: NetworkConfig{
			Listen: []string{
				"/ip4/0.0.0.0/tcp/4809",
				"/ip4/0.0.0.0/udp/4809/quic-v1",
				"/ip6/::/tcp/4809",
				"/ip6/::/udp/4809/quic-v1",
			},
			Bootstrap: []string{},
			DHT:       "auto",
		},
		Overlay:     OverlayConfig{TUN: true, TUNName: "myco0", MTU: DefaultOverlayMTU, Firewall: []string{}, DNS: "tun"},
		Quota:       QuotaConfig{Disk: "10GB", Upload: "unlimited", Download: "unlimited", Memory: "unlimited", Replicas: "2GB"},
		Replication: ReplicationConfig{Replicas: DefaultReplicas},
		Moderation:  DefaultModerationConfig(),
	}
}

// LoadConfig reads path; a missing file yields the defaults. Keys the file does
// not set keep their defaults; unknown keys are an error naming them.
func LoadConfig(path string) (FileConfig, error) {
	cfg := DefaultConfig()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	return parseConfig(data, path)
}

// parseConfig decodes and validates the text of a config file; path names
// it in errors.
func parseConfig(data []byte, path string) (FileConfig, error) {
	cfg := DefaultConfig()
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		return cfg, fmt.Errorf("config: %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return cfg, fmt.Errorf("config: %s: unknown key %s", path, strings.Join(keys, ", "))
	}
	if cfg.Version > ConfigVersion {
		return cfg, fmt.Errorf("config: %s: version %d is newer than this myconet understands (%d)", path, cfg.Version, ConfigVersion)
	}
	cfg.Version = ConfigVersion // migrations from older versions go here
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("config: %s: %w", path, err)
	}
	return cfg, nil
}

// Validate checks every field once, with an error naming the key.
func (c *FileConfig) Validate() error {
	for _, k := range KeyTable {
		if k.check == nil {
			continue
		}
		if err := k.check(c); err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
	}
	return nil
}

// WriteConfig writes cfg to path with comments, atomically (temp file + rename).
func WriteConfig(path string, cfg FileConfig) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return writeConfigFile(path, renderConfig(cfg))
}

// renderConfig is the text of a fresh config file: every key with its
// documentation as a comment.
func renderConfig(cfg FileConfig) []byte {
	var b bytes.Buffer
	b.WriteString("# Myconet node configuration. Edit it by hand or with `myconet config set KEY VALUE`.\n")
	b.WriteString("# Sizes take units (500MB, 20GB, 1TiB); rates take units per second (10MB/s);\n")
	b.WriteString("# \"unlimited\" (or an empty string) lifts a limit; 0 means zero, not unlimited.\n")
	b.WriteString("# Flags given to `myconet daemon` win.\n\n")
	fmt.Fprintf(&b, "version = %d\n", cfg.Version)
	section := ""
	for _, k := range KeyTable {
		sec, _, _ := strings.Cut(k.name, ".")
		if sec != section {
			section = sec
			fmt.Fprintf(&b, "\n[%s]\n", sec)
		}
		for _, line := range strings.Split(k.doc, "\n") {
			fmt.Fprintf(&b, "# %s\n", line)
		}
		_, leaf, _ := strings.Cut(k.name, ".")
		fmt.Fprintf(&b, "%s = %s\n", leaf, tomlValue(k.get(&cfg)))
	}
	return b.Bytes()
}

// writeConfigFile replaces the file at path with data atomically (temp
// file + rename).
func writeConfigFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".config-*.toml")
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("config: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// ConfigKeys lists the keys `config get/set` understand, sorted.
func ConfigKeys() []string {
	names := make([]string, len(KeyTable))
	for i, k := range KeyTable {
		names[i] = k.name
	}
	sort.Strings(names)
	return names
}

// GetKey returns one key's value as text (lists are comma-separated).
func (c *FileConfig) GetKey(key string) (string, error) {
	k, err := findKey(key)
	if err != nil {
		return "", err
	}
	switch v := k.get(c).(type) {
	case []string:
		return strings.Join(v, ","), nil
	default:
		return fmt.Sprint(v), nil
	}
}

// SetKey sets one key from text and validates it.
func (c *FileConfig) SetKey(key, value string) error {
	k, err := findKey(key)
	if err != nil {
		return err
	}
	if err := k.set(c, strings.TrimSpace(value)); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if k.check != nil {
		if err := k.check(c); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return nil
}

func findKey(key string) (configKey, error) {
	for _, k := range KeyTable {
		if k.name == key {
			return k, nil
		}
	}
	return configKey{}, apitype.Errorf(apitype.CodeInvalid, "unknown config key %q (known: %s)", key, strings.Join(ConfigKeys(), ", "))
}

type configKey struct {
	name  string
	doc   string
	get   func(*FileConfig) any
	set   func(*FileConfig, string) error
	check func(*FileConfig) error
}

func strKey(name, doc string, p func(*FileConfig) *string, check func(string) error) configKey {
	k := configKey{
		name: name, doc: doc,
		get: func(c *FileConfig) any { return *p(c) },
		set: func(c *FileConfig, v string) error { *p(c) = v; return nil },
	}
	if check != nil {
		k.check = func(c *FileConfig) error { return check(*p(c)) }
	}
	return k
}

func listKey(name, doc string, p func(*FileConfig) *[]string) configKey {
	return configKey{
		name: name, doc: doc,
		get: func(c *FileConfig) any { return *p(c) },
		set: func(c *FileConfig, v string) error {
			var out []string
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
			if out == nil {
				out = []string{}
			}
			*p(c) = out
			return nil
		},
	}
}

func boolKey(name, doc string, p func(*FileConfig) *bool) configKey {
	return configKey{
		name: name, doc: doc,
		get: func(c *FileConfig) any { return *p(c) },
		set: func(c *FileConfig, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return apitype.Errorf(apitype.CodeInvalid, "want true or false, got %q", v)
			}
			*p(c) = b
			return nil
		},
	}
}

func intKey(name, doc string, p func(*FileConfig) *int, min, max int) configKey {
	return configKey{
		name: name, doc: doc,
		get: func(c *FileConfig) any { return *p(c) },
		set: func(c *FileConfig, v string) error {
			if v == "auto" && min == 0 { // quota.connections, quota.cpu: 0 = automatic
				v = "0"
			}
			n, err := strconv.Atoi(v)
			if err != nil && min == 0 {
				return apitype.Errorf(apitype.CodeInvalid, "want a whole number or auto, got %q", v)
			}
			if err != nil {
				return apitype.Errorf(apitype.CodeInvalid, "want a whole number, got %q", v)
			}
			*p(c) = n
			return nil
		},
		check: func(c *FileConfig) error {
			if n := *p(c); n < min || n > max {
				return apitype.Errorf(apitype.CodeInvalid, "%d is outside %d..%d", n, min, max)
			}
			return nil
		},
	}
}

func checkHostPort(s string) error {
	if s == "" || s == "none" {
		return nil
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		return apitype.Errorf(apitype.CodeInvalid, "want HOST:PORT or none, got %q", s)
	}
	return nil
}

func checkDNSAddr(s string) error {
	if s == "tun" || s == "none" || s == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		return apitype.Errorf(apitype.CodeInvalid, "want tun, none or HOST:PORT, got %q", s)
	}
	return nil
}

func checkDHTMode(s string) error {
	switch s {
	case "", "auto", "server", "client":
		return nil
	}
	return apitype.Errorf(apitype.CodeInvalid, "want auto, server or client, got %q", s)
}

func checkTUNName(s string) error {
	if s == "" || len(s) > 15 || strings.ContainsAny(s, "/ \t\n") {
		return apitype.Errorf(apitype.CodeInvalid, "want an interface name of 1 to 15 characters without / or spaces, got %q", s)
	}
	return nil
}

func withCheck(k configKey, check func(*FileConfig) error) configKey {
	k.check = check
	return k
}

func checkSize(s string) error { _, err := apitype.ParseSize(s); return err }

func checkLimit(s string) error { _, err := apitype.ParseLimit(s); return err }

func checkRate(s string) error { _, err := apitype.ParseRate(s); return err }

// keyTable is the single table behind the file layout, `config get/set` and
// validation. Keys of one section stay together, in file order.
var KeyTable = []configKey{
	strKey("api.address", "HTTP API address (loopback only unless you know why); none disables it.",
		func(c *FileConfig) *string { return &c.API.Address }, checkHostPort),
	strKey("gateway.address", "HTTP gateway address; each package is served on its own origin <cid>.localhost (/myco/<cid>/ redirects there).",
		func(c *FileConfig) *string { return &c.Gateway.Address }, checkHostPort),
	listKey("network.listen", "libp2p listen multiaddrs (TCP and QUIC).",
		func(c *FileConfig) *[]string { return &c.Network.Listen }),
	listKey("network.bootstrap", "Peers (multiaddrs with /p2p/ID) to join the network through. There are no public ones.",
		func(c *FileConfig) *[]string { return &c.Network.Bootstrap }),
	boolKey("network.mdns", "LAN discovery by multicast DNS. Off by default.",
		func(c *FileConfig) *bool { return &c.Network.MDNS }),
	boolKey("network.port_map", "Ask the router for a port mapping (UPnP / NAT-PMP). Off by default: it sends multicast.",
		func(c *FileConfig) *bool { return &c.Network.PortMap }),
	strKey("network.dht", "DHT mode: auto (serve others unless this node turns out to be behind NAT), server or client.",
		func(c *FileConfig) *string { return &c.Network.DHT }, checkDHTMode),
	boolKey("overlay.tun", "Bring up the overlay TUN interface (needs root or CAP_NET_ADMIN).",
		func(c *FileConfig) *bool { return &c.Overlay.TUN }),
	strKey("overlay.tun_name", "Name of the TUN interface.",
		func(c *FileConfig) *string { return &c.Overlay.TUNName }, checkTUNName),
	intKey("overlay.mtu", "MTU of the TUN and largest packet forwarded (1280..65535); larger packets get ICMPv6 Packet Too Big.",
		func(c *FileConfig) *int { return &c.Overlay.MTU }, 1280, 65535),
	withCheck(listKey("overlay.firewall", "Firewall rules for inbound overlay traffic; the most specific match decides, deny among equals:\n\"allow|deny tcp|udp PORT [from ADDR|PREFIX]\". Nothing else is reachable but ICMPv6 echo\nand replies to this node's own connections. `myconet firewall allow tcp 22` edits it.",
		func(c *FileConfig) *[]string { return &c.Overlay.Firewall }), func(c *FileConfig) error { return checkFirewall(c.Overlay.Firewall) }),
	strKey("overlay.dns", "Where the daemon answers DNS for .myco names: tun (port 53 on the TUN's overlay address), none, or HOST:PORT.",
		func(c *FileConfig) *string { return &c.Overlay.DNS }, checkDNSAddr),
	strKey("quota.disk", "Most disk the store may use (\"20GB\", or \"unlimited\"). Cached content is evicted to stay under it.",
		func(c *FileConfig) *string { return &c.Quota.Disk }, checkSize),
	strKey("quota.upload", "Upload bandwidth limit (\"10MB/s\", or \"unlimited\").",
		func(c *FileConfig) *string { return &c.Quota.Upload }, checkRate),
	strKey("quota.download", "Download bandwidth limit (\"10MB/s\", or \"unlimited\").",
		func(c *FileConfig) *string { return &c.Quota.Download }, checkRate),
	strKey("quota.memory", "Memory the network stack may use (\"1GB\", or \"unlimited\").",
		func(c *FileConfig) *string { return &c.Quota.Memory }, checkSize),
	intKey("quota.connections", "Most open peer connections; 0 = automatic (`quota set connections auto`).",
		func(c *FileConfig) *int { return &c.Quota.Connections }, 0, 1<<20),
	strKey("quota.replicas", "Part of the disk quota that may hold replicas of other people's content (\"2GB\";\n\"0\" takes no replicas, \"unlimited\" as many as the disk quota allows).",
		func(c *FileConfig) *string { return &c.Quota.Replicas }, checkLimit),
	intKey("quota.cpu", "Cores background work (replication checks and fetches) may use at once; 0 = automatic (2).",
		func(c *FileConfig) *int { return &c.Quota.CPU }, 0, 4096),
	intKey("replication.replicas", "Target number of nodes holding each package.",
		func(c *FileConfig) *int { return &c.Replication.Replicas }, 1, 64),
}

// tomlValue renders one value as TOML.
func tomlValue(v any) string {
	if r, ok := v.(Ratio); ok {
		return r.TOMLText()
	}
	if l, ok := v.([]string); ok {
		parts := make([]string, len(l))
		for i, s := range l {
			parts[i] = tomlValue(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(map[string]any{"v": v}); err != nil {
		return `""`
	}
	s := strings.TrimSpace(b.String())
	return strings.TrimSpace(strings.TrimPrefix(s, "v ="))
}

// Values is every key of the config with its typed value (for `config
// show --json`).
func (c *FileConfig) Values() map[string]any {
	out := make(map[string]any, len(KeyTable))
	for _, k := range KeyTable {
		out[k.name] = k.get(c)
	}
	return out
}

const ConfigFile = "config.toml"

func checkFirewall(rules []string) error {
	for _, s := range rules {
		if _, err := overlay.ParseRule(s); err != nil {
			return err
		}
	}
	return nil
}
