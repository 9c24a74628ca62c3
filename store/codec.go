package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
)

// On-disk record encodings. Every record starts with a version byte; fields
// follow as uvarint/varint integers and uvarint-length-prefixed byte strings.
// Decoders never panic: garbage yields an error wrapping ErrCorrupt.

const (
	recordV1 = 1

	// maxRecordField bounds any length-prefixed field so a corrupt length
	// cannot make a decoder allocate absurd amounts of memory.
	maxRecordField = 1 << 20
)

var errShort = errors.New("truncated record")

type encoder struct{ b []byte }

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) bytes(p []byte)   { e.uvarint(uint64(len(p))); e.b = append(e.b, p...) }
func (e *encoder) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) time(t time.Time) { e.varint(timeToInt(t)) }
func (e *encoder) cid(c cid.Cid) {
	if !c.Defined() {
		e.uvarint(0)
		return
	}
	e.str(c.KeyString())
}

// decoder reads fields until the first error, which sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > maxRecordField || n > uint64(len(d.b)) {
		d.fail(errShort)
		return nil
	}
	p := make([]byte, n)
	copy(p, d.b)
	d.b = d.b[n:]
	return p
}

func (d *decoder) str() string { return string(d.bytes()) }

func (d *decoder) time() time.Time { return intToTime(d.varint()) }

func (d *decoder) cid() cid.Cid {
	p := d.bytes()
	if d.err != nil || len(p) == 0 {
		return cid.Undef
	}
	c, err := cid.Cast(p)
	if err != nil {
		d.fail(fmt.Errorf("bad CID: %w", err))
		return cid.Undef
	}
	return c
}

func (d *decoder) version() {
	if d.err != nil {
		return
	}
	if len(d.b) == 0 {
		d.fail(errShort)
		return
	}
	if d.b[0] != recordV1 {
		d.fail(fmt.Errorf("unsupported record version %d", d.b[0]))
		return
	}
	d.b = d.b[1:]
}

// done returns the decoder's error, failing on trailing bytes.
func (d *decoder) done(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Errorf("%d trailing bytes", len(d.b)))
	}
	if d.err != nil {
		return fmt.Errorf("%w: %s record: %v", ErrCorrupt, what, d.err)
	}
	return nil
}

// timeToInt encodes t as Unix nanoseconds; the zero time is 0.
func timeToInt(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func intToTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// usageRecord holds the block counters kept in the meta bucket.
type usageRecord struct {
	Blocks int64
	Bytes  int64
}

func encodeUsage(u usageRecord) []byte {
	e := encoder{b: []byte{recordV1}}
	e.varint(u.Blocks)
	e.varint(u.Bytes)
	return e.b
}

func decodeUsage(p []byte) (usageRecord, error) {
	d := decoder{b: p}
	d.version()
	u := usageRecord{Blocks: d.varint(), Bytes: d.varint()}
	if d.err == nil && (u.Blocks < 0 || u.Bytes < 0) {
		d.fail(errors.New("negative counter"))
	}
	return u, d.done("usage")
}

// encodePins encodes all pins of one root. The root itself is the key.
func encodePins(pins []Pin) []byte {
	e := encoder{b: []byte{recordV1}}
	e.uvarint(uint64(len(pins)))
	for _, p := range pins {
		e.str(string(p.Reason))
		e.str(p.Name)
		e.time(p.Created)
		e.time(p.Accessed)
		e.varint(p.Size)
	}
	return e.b
}

func decodePins(root cid.Cid, p []byte) ([]Pin, error) {
	d := decoder{b: p}
	d.version()
	n := d.uvarint()
	if d.err == nil && (n == 0 || n > 16) {
		d.fail(fmt.Errorf("bad pin count %d", n))
	}
	var pins []Pin
	for i := uint64(0); i < n && d.err == nil; i++ {
		pin := Pin{Root: root}
		pin.Reason = Reason(d.str())
		pin.Name = d.str()
		pin.Created = d.time()
		pin.Accessed = d.time()
		pin.Size = d.varint()
		if d.err == nil && !pin.Reason.valid() {
			d.fail(fmt.Errorf("bad pin reason %q", pin.Reason))
		}
		pins = append(pins, pin)
	}
	if err := d.done("pin"); err != nil {
		return nil, err
	}
	return pins, nil
}

func encodePackage(r PackageRecord) []byte {
	e := encoder{b: []byte{recordV1}}
	e.cid(r.CID)
	e.cid(r.Content)
	e.str(r.Title)
	e.str(r.Kind)
	e.varint(r.Size)
	e.varint(r.Files)
	e.bytes(r.Publisher)
	e.time(r.Added)
	return e.b
}

func decodePackage(p []byte) (PackageRecord, error) {
	d := decoder{b: p}
	d.version()
	var r PackageRecord
	r.CID = d.cid()
	r.Content = d.cid()
	r.Title = d.str()
	r.Kind = d.str()
	r.Size = d.varint()
	r.Files = d.varint()
	r.Publisher = d.bytes()
	r.Added = d.time()
	if err := d.done("package"); err != nil {
		return PackageRecord{}, err
	}
	return r, nil
}

// encodeBookmark encodes b without its name, which is the key.
func encodeBookmark(b Bookmark) []byte {
	e := encoder{b: []byte{recordV1}}
	e.str(b.Target)
	e.time(b.Created)
	// Optional trailing fields: older records simply end earlier.
	resolved := b.Resolved.Defined()
	if b.Follow || resolved {
		e.uvarint(boolUvarint(b.Follow))
	}
	if resolved {
		e.cid(b.Resolved)
		e.time(b.ResolvedAt)
	}
	return e.b
}

func boolUvarint(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

func decodeBookmark(name string, p []byte) (Bookmark, error) {
	d := decoder{b: p}
	d.version()
	b := Bookmark{Name: name}
	b.Target = d.str()
	b.Created = d.time()
	if d.err == nil && len(d.b) > 0 {
		b.Follow = d.uvarint() == 1
	}
	if d.err == nil && len(d.b) > 0 {
		b.Resolved = d.cid()
		b.ResolvedAt = d.time()
		if d.err == nil && !b.Resolved.Defined() {
			d.fail(errors.New("empty resolved CID"))
		}
	}
	if err := d.done("bookmark"); err != nil {
		return Bookmark{}, err
	}
	return b, nil
}

// The staged bucket maps a block key to a uvarint reference count.

func encodeCount(n uint64) []byte { return binary.AppendUvarint(nil, n) }

func decodeCount(p []byte) uint64 {
	n, k := binary.Uvarint(p)
	if k <= 0 {
		return 1 // unreadable: treat as a single reference
	}
	return n
}
