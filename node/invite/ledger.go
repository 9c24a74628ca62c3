package invite

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Ledger counts the uses of the invitations a node issued, in a JSON file
// (written whole to a temporary file and renamed, so a crash keeps the old
// or the new file). Entries are dropped once their invitation expired.
type Ledger struct {
	path string
	mu   sync.Mutex
}

// ledgerEntry is one invitation that was used at least once.
type ledgerEntry struct {
	Expires time.Time `json:"expires"`
	Uses    int       `json:"uses"`
	Peers   []string  `json:"peers"` // the nodes that joined with it
}

// NewLedger returns the ledger kept at path.
func NewLedger(path string) *Ledger { return &Ledger{path: path} }

// Use records that p joined with inv (issued by self) at now, or says why
// it may not: not issued by self, expired, or used up. The same peer joining
// again uses nothing more.
func (l *Ledger) Use(inv Invitation, self, p peer.ID, now time.Time) error {
	if inv.Peer != self {
		return ErrNotMine
	}
	if err := inv.Check(now); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	all, err := l.load()
	if err != nil {
		return err
	}
	for k, e := range all {
		if !now.Before(e.Expires) {
			delete(all, k)
		}
	}
	e := all[inv.IDString()]
	if e == nil {
		e = &ledgerEntry{Expires: inv.Expires, Uses: inv.Uses}
		all[inv.IDString()] = e
	}
	if slices.Contains(e.Peers, p.String()) {
		return nil
	}
	if len(e.Peers) >= inv.Uses {
		return fmt.Errorf("%w: all %d of its uses are taken", ErrUsedUp, inv.Uses)
	}
	e.Peers = append(e.Peers, p.String())
	return l.save(all)
}

func (l *Ledger) load() (map[string]*ledgerEntry, error) {
	all := map[string]*ledgerEntry{}
	b, err := os.ReadFile(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return all, nil
	}
	if err != nil {
		return nil, fmt.Errorf("invitations: %w", err)
	}
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("invitations: %s is damaged: %v", l.path, err)
	}
	for k, e := range all {
		if e == nil {
			delete(all, k)
		}
	}
	return all, nil
}

func (l *Ledger) save(all map[string]*ledgerEntry) error {
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(l.path), ".invites-*")
	if err != nil {
		return fmt.Errorf("invitations: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("invitations: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("invitations: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("invitations: %w", err)
	}
	if err := os.Rename(tmp.Name(), l.path); err != nil {
		return fmt.Errorf("invitations: %w", err)
	}
	return nil
}
