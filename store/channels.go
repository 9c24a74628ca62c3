package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ChannelRecord is one of this node's mutable channels: what it points at
// and the sequence number last signed, so that a restarted node continues the
// sequence and can republish. The store treats the fields as opaque.
type ChannelRecord struct {
	Name      string    `json:"name"`
	Target    string    `json:"target"` // package CID
	Seq       uint64    `json:"seq"`
	Published time.Time `json:"published"`
	Expires   time.Time `json:"expires"`
}

// maxChannelRecord bounds one encoded record.
const maxChannelRecord = 4 << 10

// PutChannel stores r under r.Name, replacing an earlier record.
func (db *DB) PutChannel(r ChannelRecord) error {
	v, err := json.Marshal(r)
	if err != nil || len(v) > maxChannelRecord || r.Name == "" {
		return fmt.Errorf("store: put channel %q: %w", r.Name, ErrBadName)
	}
	err = db.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketChannels).Put([]byte(r.Name), v)
	})
	if err != nil {
		return fmt.Errorf("store: put channel %q: %w", r.Name, err)
	}
	return nil
}

// Channel returns the record of channel name (ErrNotFound if none).
func (db *DB) Channel(name string) (ChannelRecord, error) {
	var r ChannelRecord
	var ok bool
	err := db.view(func(tx *bolt.Tx) error {
		r, ok = decodeChannel(tx.Bucket(bucketChannels).Get([]byte(name)))
		return nil
	})
	if err != nil {
		return ChannelRecord{}, fmt.Errorf("store: channel %q: %w", name, err)
	}
	if !ok {
		return ChannelRecord{}, fmt.Errorf("store: channel %q: %w", name, ErrNotFound)
	}
	return r, nil
}

// Channels returns every channel record, sorted by name.
func (db *DB) Channels() ([]ChannelRecord, error) {
	var out []ChannelRecord
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketChannels).ForEach(func(k, v []byte) error {
			if r, ok := decodeChannel(v); ok && r.Name == string(k) {
				out = append(out, r)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: channels: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func decodeChannel(v []byte) (ChannelRecord, bool) {
	var r ChannelRecord
	if v == nil || len(v) > maxChannelRecord || json.Unmarshal(v, &r) != nil || r.Name == "" {
		return ChannelRecord{}, false
	}
	return r, true
}
