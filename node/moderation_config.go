package node

import (
	"strings"
)

// moderationConfigChanged applies a new [moderation] section: cached
// decisions are made again under the new policy.
func (n *Node) moderationConfigChanged(key string) {
	if strings.HasPrefix(key, "moderation.") {
		n.forgetAllDecisions()
	}
}
