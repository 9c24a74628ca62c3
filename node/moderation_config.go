package node

import (
	"fmt"
	"strings"
	"time"

	"github.com/myconet/myconet/moderation"
	"github.com/myconet/myconet/node/apitype"
)

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

func init() {
	configKeys = append(configKeys, moderationKeys...)
}

var moderationKeys = []configKey{
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
			r, err := parseRatio(v)
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
			if _, err := peerKey(s); err != nil {
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

// moderationConfigChanged applies a new [moderation] section: cached
// decisions are made again under the new policy.
func (n *Node) moderationConfigChanged(key string) {
	if strings.HasPrefix(key, "moderation.") {
		n.forgetAllDecisions()
	}
}
