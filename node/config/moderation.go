package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/myconet/myconet/moderation"
	"github.com/myconet/myconet/node/apitype"
)

// DefaultAggregators is k, the number of aggregators of a package.
const DefaultAggregators = 5

// DefaultModerationRefresh is how long a decision is trusted.
const DefaultModerationRefresh = 10 * time.Minute

// peerKey returns the raw Ed25519 key of a peer ID.
func PeerKey(s string) ([]byte, error) {
	id, err := peer.Decode(s)
	if err != nil {
		return nil, err
	}
	return PeerRawKey(id)
}

func PeerRawKey(id peer.ID) ([]byte, error) {
	pk, err := id.ExtractPublicKey()
	if err != nil {
		return nil, fmt.Errorf("peer %s: %w", id, err)
	}
	if pk.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("peer %s: not an Ed25519 key", id)
	}
	return pk.Raw()
}

// ModerationConfig is the [moderation] section: this node's policy.
type ModerationConfig struct {
	MinVotes    int      `toml:"min_votes"`
	RemoveRatio Ratio    `toml:"remove_ratio"`
	MinTallies  int      `toml:"min_tallies"`
	Trusted     []string `toml:"trusted"`    // peer IDs of tally signers
	Distrusted  []string `toml:"distrusted"` // peer IDs of tally signers
	PowBits     int      `toml:"pow_bits"`
	Aggregators int      `toml:"aggregators"`
	Refresh     string   `toml:"refresh"`
}

// DefaultModerationConfig is the policy of a fresh node.
func DefaultModerationConfig() ModerationConfig {
	return ModerationConfig{
		MinVotes:    moderation.DefaultMinVotes,
		RemoveRatio: moderation.DefaultRemoveRatio,
		MinTallies:  2,
		Trusted:     []string{},
		Distrusted:  []string{},
		PowBits:     moderation.DefaultDifficulty,
		Aggregators: DefaultAggregators,
		Refresh:     DefaultModerationRefresh.String(),
	}
}

var ModerationKeys = []configKey{
	intKey("moderation.min_votes", "Fewest counted votes (keep + remove) before the community decides anything about a package.",
		func(c *FileConfig) *int { return &c.Moderation.MinVotes }, 1, 1<<30),
	ratioKey("moderation.remove_ratio", "Share of remove votes (0 to 1, a number or a fraction such as \"2/3\") at or above which a package is withheld.",
		func(c *FileConfig) *Ratio { return &c.Moderation.RemoveRatio }),
	intKey("moderation.min_tallies", "Fewest aggregators' tallies a decision needs (their median is used).",
		func(c *FileConfig) *int { return &c.Moderation.MinTallies }, 1, 64),
	peerListKey("moderation.trusted", "Peer IDs of tally signers to believe; when any of them answers, only their tallies count.",
		func(c *FileConfig) *[]string { return &c.Moderation.Trusted }),
	peerListKey("moderation.distrusted", "Peer IDs of tally signers whose tallies are ignored.",
		func(c *FileConfig) *[]string { return &c.Moderation.Distrusted }),
	intKey("moderation.pow_bits", "Proof of work of votes and annotations, in leading zero bits (23: about a second of one core).\nThe whole network must agree: aggregators refuse votes with less work than their own setting.",
		func(c *FileConfig) *int { return &c.Moderation.PowBits }, 1, moderation.MaxDifficulty),
	intKey("moderation.aggregators", "How many nodes (closest in the DHT to a package's poll key) count its votes.",
		func(c *FileConfig) *int { return &c.Moderation.Aggregators }, 1, 20),
	strKey("moderation.refresh", "How long a decision is trusted before the tallies are gathered again (Go duration: 10m, 1h).",
		func(c *FileConfig) *string { return &c.Moderation.Refresh }, checkDuration),
}

func ratioKey(name, doc string, p func(*FileConfig) *Ratio) configKey {
	return configKey{
		name: name, doc: doc,
		get: func(c *FileConfig) any { return *p(c) },
		set: func(c *FileConfig, v string) error {
			r, err := ParseRatio(v)
			if err != nil {
				return apitype.Wrap(apitype.CodeInvalid, err)
			}
			*p(c) = r
			return nil
		},
		check: func(c *FileConfig) error {
			if x := float64(*p(c)); !(x > 0 && x <= 1) {
				return apitype.Errorf(apitype.CodeInvalid, "%v is not in (0, 1]", *p(c))
			}
			return nil
		},
	}
}

func peerListKey(name, doc string, p func(*FileConfig) *[]string) configKey {
	k := listKey(name, doc, p)
	k.check = func(c *FileConfig) error {
		for _, s := range *p(c) {
			if _, err := PeerKey(s); err != nil {
				return apitype.Errorf(apitype.CodeInvalid, "%q is not an Ed25519 peer ID: %v", s, err)
			}
		}
		return nil
	}
	return k
}

func checkDuration(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return fmt.Errorf("want a positive duration such as 10m or 1h, got %q", s)
	}
	return nil
}

// Ratio is a share between 0 and 1 in the config file. It reads a number
// (0.75) or a fraction ("2/3", as a string), and writes a fraction back as
// one, so that 2/3 stays "2/3" and not 0.6666666666666666 (which a rounded
// 0.6667 could not replace: 2 remove votes of 3 would no longer reach it).
type Ratio float64

// parseRatio reads "0.75", "2/3" or " 2 / 3 ".
func ParseRatio(s string) (Ratio, error) {
	s = strings.TrimSpace(s)
	if a, b, ok := strings.Cut(s, "/"); ok {
		x, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
		y, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
		if err1 != nil || err2 != nil || y == 0 {
			return 0, fmt.Errorf("want a number or a fraction such as 2/3, got %q", s)
		}
		return Ratio(x / y), nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("want a number or a fraction such as 2/3, got %q", s)
	}
	return Ratio(x), nil
}

// UnmarshalTOML implements toml.Unmarshaler: a float, an integer or a
// string holding a number or a fraction.
func (r *Ratio) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case float64:
		*r = Ratio(v)
	case int64:
		*r = Ratio(v)
	case string:
		x, err := ParseRatio(v)
		if err != nil {
			return err
		}
		*r = x
	default:
		return fmt.Errorf("want a number or a fraction such as \"2/3\", got %T", v)
	}
	return nil
}

// fraction returns p/q when r is exactly (in float64) a fraction with a
// small denominator whose decimal form is long; ok is false otherwise.
func (r Ratio) fraction() (p, q int, ok bool) {
	x := float64(r)
	if len(strconv.FormatFloat(x, 'g', -1, 64)) <= 8 {
		return 0, 0, false
	}
	for q := 2; q <= 12; q++ {
		p := math.Round(x * float64(q))
		if p/float64(q) == x && p >= 0 && p <= float64(q) {
			return int(p), q, true
		}
	}
	return 0, 0, false
}

// String is the ratio as `config get` prints it: "2/3" or "0.75".
func (r Ratio) String() string {
	if p, q, ok := r.fraction(); ok {
		return fmt.Sprintf("%d/%d", p, q)
	}
	return strconv.FormatFloat(float64(r), 'g', -1, 64)
}

// TOMLText is the ratio as a TOML value: a quoted fraction or a float.
func (r Ratio) TOMLText() string {
	if _, _, ok := r.fraction(); ok {
		return strconv.Quote(r.String())
	}
	s := strconv.FormatFloat(float64(r), 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") { // a TOML float needs a point
		s += ".0"
	}
	return s
}

func init() {
	KeyTable = append(KeyTable, ModerationKeys...)
}
