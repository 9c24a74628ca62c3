package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MaxPeers is how many remembered peers the store keeps; the least recently
// seen are dropped beyond it.
const MaxPeers = 256

// PeerRecord is a peer the node has been connected to, so that a restarted
// node can reconnect without its bootstrap list. The store treats IDs and
// addresses as opaque text.
type PeerRecord struct {
	ID    string    `json:"id"`
	Addrs []string  `json:"addrs"`
	Seen  time.Time `json:"seen"`
}

// maxPeerRecord bounds one encoded record (also what the decoder accepts).
const maxPeerRecord = 8 << 10

// PutPeers stores records (replacing earlier ones of the same ID) and trims
// the set to MaxPeers, dropping the least recently seen.
func (db *DB) PutPeers(recs []PeerRecord) error {
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPeers)
		for _, r := range recs {
			if r.ID == "" || len(r.ID) > 256 {
				continue
			}
			v, err := json.Marshal(r)
			if err != nil || len(v) > maxPeerRecord {
				continue
			}
			if err := b.Put([]byte(r.ID), v); err != nil {
				return err
			}
		}
		if all := readPeers(b); len(all) > MaxPeers {
			for _, r := range all[MaxPeers:] {
				if err := b.Delete([]byte(r.ID)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: put peers: %w", err)
	}
	return nil
}

// Peers returns the remembered peers, most recently seen first. Records that
// do not decode are skipped.
func (db *DB) Peers() ([]PeerRecord, error) {
	var out []PeerRecord
	err := db.view(func(tx *bolt.Tx) error {
		out = readPeers(tx.Bucket(bucketPeers))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: peers: %w", err)
	}
	return out, nil
}

func readPeers(b *bolt.Bucket) []PeerRecord {
	var out []PeerRecord
	_ = b.ForEach(func(k, v []byte) error {
		if r, ok := decodePeer(v); ok && r.ID == string(k) {
			out = append(out, r)
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seen.After(out[j].Seen) })
	return out
}

func decodePeer(v []byte) (PeerRecord, bool) {
	var r PeerRecord
	if len(v) > maxPeerRecord || json.Unmarshal(v, &r) != nil || r.ID == "" {
		return PeerRecord{}, false
	}
	return r, true
}
