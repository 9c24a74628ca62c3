package moderation

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
)

// MaxSnapshotTallies bounds the tallies a Snapshot keeps.
const MaxSnapshotTallies = 64

// Snapshot is what a node keeps of its last community decision about a
// package: the signed tallies it gathered, when, and from how many
// aggregators it asked. The decision itself is not stored: the node
// decides again from the tallies under its policy of the moment, so a
// changed policy applies to kept decisions too, and a tampered file can
// only drop tallies (their signatures are checked by Decide), not forge
// them.
type Snapshot struct {
	Target  cid.Cid
	Checked time.Time // when the tallies were gathered
	Asked   int       // aggregators asked, 0..65535
	Tallies []Tally   // each about Target; at most MaxSnapshotTallies
}

// Encode returns the canonical encoding of s:
//
//	version 1 byte = 1
//	target  u16 length + binary package CID
//	checked 8 bytes (Unix nanoseconds)
//	asked   u16
//	count   1 byte (≤ MaxSnapshotTallies)
//	tallies count × TallySize bytes, each a tally's encoding
func (s Snapshot) Encode() ([]byte, error) {
	if err := checkTarget(s.Target); err != nil {
		return nil, fmt.Errorf("moderation: encode snapshot: %w", err)
	}
	ts, err := checkTime("checked", s.Checked)
	if err != nil {
		return nil, fmt.Errorf("moderation: encode snapshot: %w", err)
	}
	if s.Asked < 0 || s.Asked > 0xffff {
		return nil, fmt.Errorf("moderation: encode snapshot: %w: asked %d", ErrInvalid, s.Asked)
	}
	if len(s.Tallies) > MaxSnapshotTallies {
		return nil, fmt.Errorf("moderation: encode snapshot: %w: %d tallies (max %d)", ErrTooLarge, len(s.Tallies), MaxSnapshotTallies)
	}
	b := []byte{recordVersion}
	b = appendBytes(b, s.Target.Bytes())
	b = binary.BigEndian.AppendUint64(b, uint64(ts))
	b = binary.BigEndian.AppendUint16(b, uint16(s.Asked))
	b = append(b, byte(len(s.Tallies)))
	for _, t := range s.Tallies {
		if !t.Target.Equals(s.Target) {
			return nil, fmt.Errorf("moderation: encode snapshot: %w: tally of %s", ErrWrongTarget, t.Target)
		}
		tb, err := t.Encode()
		if err != nil {
			return nil, fmt.Errorf("moderation: encode snapshot: %w", err)
		}
		b = append(b, tb...)
	}
	return b, nil
}

// MaxSnapshotSize is the size of the largest encoded Snapshot.
const MaxSnapshotSize = 1 + 2 + cidSize + 8 + 2 + 1 + MaxSnapshotTallies*TallySize

// DecodeSnapshot parses the canonical encoding of a snapshot; Encode of
// the result gives back b. It does not verify the tallies' signatures.
func DecodeSnapshot(b []byte) (Snapshot, error) {
	s, err := decodeSnapshot(b)
	if err != nil {
		return Snapshot{}, fmt.Errorf("moderation: decode snapshot: %w", err)
	}
	return s, nil
}

func decodeSnapshot(b []byte) (Snapshot, error) {
	if len(b) > MaxSnapshotSize {
		return Snapshot{}, fmt.Errorf("%w: %d bytes (max %d)", ErrTooLarge, len(b), MaxSnapshotSize)
	}
	r := reader{b: b}
	r.version()
	target := r.varBytes(cidSize, "target")
	ts := r.u64("checked")
	asked := r.u16("asked")
	n := int(r.u8("count"))
	if r.err == nil && n > MaxSnapshotTallies {
		r.fail("%d tallies (max %d)", n, MaxSnapshotTallies)
	}
	var raw [][]byte
	for i := 0; i < n && r.err == nil; i++ {
		raw = append(raw, r.fixed(TallySize, "tally"))
	}
	if err := r.done(); err != nil {
		return Snapshot{}, err
	}
	s := Snapshot{Asked: int(asked)}
	var err error
	if s.Target, err = decodeTarget(target); err != nil {
		return Snapshot{}, err
	}
	if s.Checked, err = decodeTime("checked", ts); err != nil {
		return Snapshot{}, err
	}
	for _, tb := range raw {
		t, err := decodeTally(tb)
		if err != nil {
			return Snapshot{}, fmt.Errorf("tally: %w", err)
		}
		if !t.Target.Equals(s.Target) {
			return Snapshot{}, fmt.Errorf("%w: tally of %s in the snapshot of %s", ErrInvalid, t.Target, s.Target)
		}
		s.Tallies = append(s.Tallies, t)
	}
	return s, nil
}
