package node

import "github.com/ipfs/go-cid"

// withheldCached is withheld without the network and without waiting: the
// local allow and deny rules, then the decision the node already holds about
// c (kept fresh in the background for the packages it holds), and "not
// withheld" for a package it has not decided about. Search asks it: one
// query touches hundreds of packages, and a first look at each would start
// a tally lookup and wait up to modWait.
func (n *Node) withheldCached(c cid.Cid) bool {
	if !isPackageCID(c) {
		n.mod.mu.Lock()
		pkg, ok := n.mod.content[c]
		n.mod.mu.Unlock()
		if !ok {
			return false
		}
		c = pkg
	}
	switch n.localRule(c) {
	case "deny":
		return true
	case "allow":
		return false
	}
	n.mod.mu.Lock()
	e := n.mod.cache[c]
	n.mod.mu.Unlock()
	if e == nil {
		return false
	}
	r := e.report
	n.applyLocal(&r, c, n.modSettings())
	return r.Withheld
}
