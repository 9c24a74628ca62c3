package moderate

import (
	"context"
	"fmt"

	"github.com/ipfs/go-cid"
)

// Withholding by block.
//
// A package is withheld under every name that reaches its bytes: its
// package CID, its content CID, any path, and any block of its DAG named
// directly. The store's block index (store.DB.BlockRoots) names the pinned
// roots whose DAG holds a block, in one seek; a block is withheld when the
// packages among them are all withheld. A block that a package this node
// does not withhold shares is served, for that package's sake. Bare UnixFS
// roots pinned on their own (a content CID fetched by itself) do not count
// as packages: pinning the content of a withheld package under its content
// CID must not unlock it.
//
// A block that no held package contains is decided by the content roots of
// the packages the node has decided to withhold (modState.content), so a
// node that withholds a package it does not hold still refuses to fetch its
// content CID for a reader.

// blockWithheldWhy is withheldWhy for a CID that is not a package root.
// pkgWhy decides about each package that holds c.
func (m *Service) blockWithheldWhy(ctx context.Context, c cid.Cid, look modLook, pkgWhy func(context.Context, cid.Cid, modLook) (bool, string)) (bool, string) {
	roots, err := m.db.BlockRoots(c)
	if err != nil {
		m.log.Warn("moderation: block index", "block", c, "err", err)
	}
	var pkgs []cid.Cid
	for _, r := range roots {
		if isPackageCID(r) {
			pkgs = append(pkgs, r)
		}
	}
	if len(pkgs) == 0 {
		m.mu.Lock()
		pkg, ok := m.content[c]
		m.mu.Unlock()
		if !ok {
			return false, ""
		}
		w, why := pkgWhy(ctx, pkg, look)
		if !w {
			return false, ""
		}
		return true, fmt.Sprintf("%s is the content of withheld package %s; %s", c, pkg, why)
	}
	first, firstWhy := cid.Undef, ""
	for _, p := range pkgs {
		w, why := pkgWhy(ctx, p, look)
		if !w {
			return false, "" // shared with a package that is served
		}
		if !first.Defined() {
			first, firstWhy = p, why
		}
	}
	if len(pkgs) == 1 {
		return true, fmt.Sprintf("%s is part of withheld package %s; %s", c, first, firstWhy)
	}
	return true, fmt.Sprintf("%s is part of %d packages, all withheld (%s: %s)", c, len(pkgs), first, firstWhy)
}
