package search

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// A persisted index keeps the same documents, statistics and ranking as
// Index, in ordered key-value tables that a node stores in its bbolt file
// (the node provides the KV; this package does not import bbolt). Queries
// read only the postings of the query's terms and the records of the
// candidate documents, so opening a node costs nothing and its memory does
// not grow with the packages it holds.
//
// Tables and records (numbers are uvarints unless noted, every record
// starts with a version byte, 1):
//
//	meta      "stats" → docs, next document number, distinct terms,
//	          (term, document) pairs, then per field the sum of lengths
//	          and the count of documents where it is not empty
//	ids       document ID → document number (8 bytes, big-endian)
//	docs      document number → ID, the field lengths, kind, language,
//	          license, publisher, and the normalized tags (strings are a
//	          length and bytes)
//	forward   document number → the document's distinct terms, sorted
//	terms     term → document frequency
//	postings  term, 0x00, document number → the hits: per field (ascending)
//	          the field byte, the count of positions and the positions,
//	          delta-coded
//
// Terms never contain 0x00 (the tokenizer emits letters, digits and
// marks), so the postings of a term are the keys under the prefix term,
// 0x00, ordered by document number.

// Table names a table of a persisted index.
type Table uint8

// The tables of a persisted index.
const (
	TableMeta Table = iota
	TableIDs
	TableDocs
	TableForward
	TableTerms
	TablePostings

	NumTables = iota // number of tables
)

var tableNames = [NumTables]string{"meta", "ids", "docs", "forward", "terms", "postings"}

// String returns the table's name.
func (t Table) String() string {
	if t < NumTables {
		return tableNames[t]
	}
	return "table?"
}

// KV is one transaction over the tables of a persisted index. Byte slices
// that Get and Scan return are valid only during the transaction (or the
// callback) and must not be modified; Put keeps key and value until the
// transaction ends, so callers pass slices they do not reuse. In a
// read-only transaction Put and Delete fail.
type KV interface {
	Get(t Table, key []byte) []byte
	Put(t Table, key, value []byte) error
	Delete(t Table, key []byte) error
	// Scan calls fn with each key that starts with prefix, ascending,
	// until fn returns false.
	Scan(t Table, prefix []byte, fn func(key, value []byte) bool) error
}

// ErrCorrupt means a persisted index holds a record that does not decode
// or contradicts another. The node drops the index and builds it again.
var ErrCorrupt = errors.New("search: corrupt index")

const storedVersion = 1

var statsKey = []byte("stats")

// Stored is an index persisted in a KV. Its methods read and write only
// through the KV, in the caller's transaction: several Adds in one
// transaction commit together.
type Stored struct{ kv KV }

// NewStored returns the index persisted in kv (empty tables: an empty
// index).
func NewStored(kv KV) Stored { return Stored{kv} }

// storedStats is the meta record.
type storedStats struct {
	docs, next, terms, pairs uint64
	totalLen                 [NumFields]uint64
	nonEmpty                 [NumFields]uint64
}

func (s storedStats) encode() []byte {
	b := []byte{storedVersion}
	for _, v := range []uint64{s.docs, s.next, s.terms, s.pairs} {
		b = binary.AppendUvarint(b, v)
	}
	for f := range NumFields {
		b = binary.AppendUvarint(b, s.totalLen[f])
		b = binary.AppendUvarint(b, s.nonEmpty[f])
	}
	return b
}

func decodeStats(b []byte) (storedStats, error) {
	var s storedStats
	if b == nil {
		return s, nil // a new index
	}
	d := decoder{b: b}
	d.storedVersion()
	s.docs, s.next, s.terms, s.pairs = d.uvarint(maxDocs), d.uvarint(1<<63), d.uvarint(1<<63), d.uvarint(1<<63)
	for f := range NumFields {
		s.totalLen[f] = d.uvarint(1 << 63)
		s.nonEmpty[f] = d.uvarint(s.docs)
	}
	d.end()
	if d.err == nil && s.docs > s.next {
		d.err = errors.New("more documents than numbers given")
	}
	if d.err != nil {
		return storedStats{}, fmt.Errorf("%w: stats: %v", ErrCorrupt, d.err)
	}
	return s, nil
}

func (s storedStats) avgLen() [NumFields]float64 {
	var avg [NumFields]float64
	for f, t := range s.totalLen {
		if n := s.nonEmpty[f]; n > 0 {
			avg[f] = float64(t) / float64(n)
		}
	}
	return avg
}

func (s Stored) stats() (storedStats, error) { return decodeStats(s.kv.Get(TableMeta, statsKey)) }

// docNum encodes a document number as a key.
func docNum(n uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n) }

// postingKey returns term, 0x00, num.
func postingKey(term string, num []byte) []byte {
	k := make([]byte, 0, len(term)+1+len(num))
	k = append(k, term...)
	k = append(k, 0)
	return append(k, num...)
}

// encodeDoc encodes the docs record of a.
func encodeDoc(a *analyzed) []byte {
	b := []byte{storedVersion}
	b = appendString(b, a.id)
	for _, l := range a.lens {
		b = binary.AppendUvarint(b, uint64(l))
	}
	for _, s := range []string{a.kind, a.lang, a.license, a.publisher} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(a.tags)))
	for _, t := range a.tags {
		b = appendString(b, t)
	}
	return b
}

// maxStoredString bounds the strings of a docs record; metadata limits
// are far lower.
const maxStoredString = 1 << 16

// decodeDoc decodes a docs record as an analyzed document without terms.
func decodeDoc(b []byte) (*analyzed, error) {
	d := decoder{b: b}
	d.storedVersion()
	a := &analyzed{id: string(d.bytes(maxStoredString))}
	for f := range a.lens {
		a.lens[f] = uint32(d.uvarint(1<<32 - 1))
	}
	a.kind = string(d.bytes(maxStoredString))
	a.lang = string(d.bytes(maxStoredString))
	a.license = string(d.bytes(maxStoredString))
	a.publisher = string(d.bytes(maxStoredString))
	n := d.uvarint(uint64(len(b)))
	for i := uint64(0); i < n && d.err == nil; i++ {
		a.tags = append(a.tags, string(d.bytes(maxStoredString)))
	}
	d.end()
	if d.err != nil {
		return nil, fmt.Errorf("%w: document record: %v", ErrCorrupt, d.err)
	}
	return a, nil
}

// encodeTerms encodes the forward record: sorted distinct terms.
func encodeTerms(terms []string) []byte {
	b := []byte{storedVersion}
	b = binary.AppendUvarint(b, uint64(len(terms)))
	for _, t := range terms {
		b = appendString(b, t)
	}
	return b
}

func decodeTerms(b []byte) ([]string, error) {
	d := decoder{b: b}
	d.storedVersion()
	n := d.uvarint(uint64(len(b)))
	out := make([]string, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		t := d.bytes(MaxTermLen)
		if d.err == nil && (len(t) == 0 || bytes.IndexByte(t, 0) >= 0 || len(out) > 0 && string(t) <= out[len(out)-1]) {
			d.err = errors.New("terms not distinct, sorted and without NUL")
		}
		out = append(out, string(t))
	}
	d.end()
	if d.err != nil {
		return nil, fmt.Errorf("%w: forward record: %v", ErrCorrupt, d.err)
	}
	return out, nil
}

// encodeHits encodes the postings value of one term in one document.
func encodeHits(hs []hit) []byte {
	b := []byte{storedVersion}
	b = binary.AppendUvarint(b, uint64(len(hs)))
	for _, h := range hs {
		b = append(b, byte(h.field))
		b = binary.AppendUvarint(b, uint64(len(h.pos)))
		var prev uint32
		for i, p := range h.pos {
			if i == 0 {
				b = binary.AppendUvarint(b, uint64(p))
			} else {
				b = binary.AppendUvarint(b, uint64(p-prev))
			}
			prev = p
		}
	}
	return b
}

func decodeHits(b []byte) ([]hit, error) {
	d := decoder{b: b}
	d.storedVersion()
	n := d.uvarint(NumFields)
	hs := make([]hit, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		f := Field(d.u8())
		if d.err == nil && (f >= NumFields || len(hs) > 0 && f <= hs[len(hs)-1].field) {
			d.err = fmt.Errorf("field %d out of order", f)
			break
		}
		np := d.uvarint(uint64(len(b)))
		if d.err == nil && np == 0 {
			d.err = errors.New("hit without positions")
			break
		}
		pos := make([]uint32, 0, np)
		var p uint64
		for j := uint64(0); j < np && d.err == nil; j++ {
			delta := d.uvarint(1<<32 - 1)
			if j > 0 && delta == 0 {
				d.err = errors.New("positions not ascending")
			}
			if p += delta; p > 1<<32-1 {
				d.err = errors.New("position overflows")
			}
			pos = append(pos, uint32(p))
		}
		hs = append(hs, hit{field: f, pos: pos})
	}
	if d.err == nil && n == 0 {
		d.err = errors.New("no hits")
	}
	d.end()
	if d.err != nil {
		return nil, fmt.Errorf("%w: postings: %v", ErrCorrupt, d.err)
	}
	return hs, nil
}

func encodeCount(n uint64) []byte { return binary.AppendUvarint(nil, n) }

func decodeCount(b []byte) (uint64, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || k != len(b) || n == 0 || len(b) != len(binary.AppendUvarint(nil, n)) {
		return 0, fmt.Errorf("%w: bad count %x", ErrCorrupt, b)
	}
	return n, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// num returns the document number of id, or nil.
func (s Stored) num(id string) ([]byte, error) {
	v := s.kv.Get(TableIDs, []byte(id))
	if v == nil {
		return nil, nil
	}
	if len(v) != 8 {
		return nil, fmt.Errorf("%w: document number of %q", ErrCorrupt, id)
	}
	return slices.Clone(v), nil
}

// Has reports whether the document id is indexed.
func (s Stored) Has(id string) (bool, error) {
	n, err := s.num(id)
	return n != nil, err
}

// Add indexes d, replacing any document with the same ID.
func (s Stored) Add(d Doc) error {
	if _, err := s.Remove(d.ID); err != nil {
		return err
	}
	st, err := s.stats()
	if err != nil {
		return err
	}
	a := analyze(d)
	num := docNum(st.next)
	st.next++
	terms := make([]string, 0, len(a.terms))
	for t := range a.terms {
		terms = append(terms, t)
	}
	slices.Sort(terms)
	put := func(t Table, k, v []byte) {
		if err == nil {
			err = s.kv.Put(t, k, v)
		}
	}
	put(TableIDs, []byte(d.ID), num)
	put(TableDocs, num, encodeDoc(a))
	put(TableForward, num, encodeTerms(terms))
	for _, t := range terms {
		put(TablePostings, postingKey(t, num), encodeHits(a.terms[t]))
		df, derr := s.df(t)
		if derr != nil {
			return derr
		}
		if df == 0 {
			st.terms++
		}
		put(TableTerms, []byte(t), encodeCount(df+1))
	}
	st.docs++
	st.pairs += uint64(len(terms))
	for f, n := range a.lens {
		st.totalLen[f] += uint64(n)
		if n > 0 {
			st.nonEmpty[f]++
		}
	}
	put(TableMeta, statsKey, st.encode())
	return err
}

// Remove removes the document id and reports whether it was indexed.
func (s Stored) Remove(id string) (bool, error) {
	num, err := s.num(id)
	if num == nil || err != nil {
		return false, err
	}
	st, err := s.stats()
	if err != nil {
		return false, err
	}
	a, err := decodeDoc(s.kv.Get(TableDocs, num))
	if err != nil {
		return false, err
	}
	terms, err := decodeTerms(s.kv.Get(TableForward, num))
	if err != nil {
		return false, err
	}
	if st.docs == 0 || st.pairs < uint64(len(terms)) {
		return false, fmt.Errorf("%w: statistics below the document %q", ErrCorrupt, id)
	}
	for _, t := range terms {
		df, err := s.df(t)
		if err != nil {
			return false, err
		}
		switch {
		case df == 0:
			return false, fmt.Errorf("%w: term %q of %q has no frequency", ErrCorrupt, t, id)
		case df == 1:
			err = s.kv.Delete(TableTerms, []byte(t))
			st.terms--
		default:
			err = s.kv.Put(TableTerms, []byte(t), encodeCount(df-1))
		}
		if err == nil {
			err = s.kv.Delete(TablePostings, postingKey(t, num))
		}
		if err != nil {
			return false, err
		}
	}
	st.docs--
	st.pairs -= uint64(len(terms))
	for f, n := range a.lens {
		st.totalLen[f] -= min(st.totalLen[f], uint64(n))
		if n > 0 && st.nonEmpty[f] > 0 {
			st.nonEmpty[f]--
		}
	}
	for _, del := range []struct {
		t Table
		k []byte
	}{{TableDocs, num}, {TableForward, num}, {TableIDs, []byte(id)}} {
		if err := s.kv.Delete(del.t, del.k); err != nil {
			return false, err
		}
	}
	return true, s.kv.Put(TableMeta, statsKey, st.encode())
}

// df returns the document frequency of term.
func (s Stored) df(term string) (uint64, error) {
	v := s.kv.Get(TableTerms, []byte(term))
	if v == nil {
		return 0, nil
	}
	return decodeCount(v)
}

// DF returns the document frequency of term.
func (s Stored) DF(term string) (int, error) {
	n, err := s.df(term)
	return int(n), err
}

// Stats returns counts and mean field lengths.
func (s Stored) Stats() (Stats, error) {
	st, err := s.stats()
	if err != nil {
		return Stats{}, err
	}
	return Stats{Docs: int(st.docs), Terms: int(st.terms), Postings: int(st.pairs), AvgLen: st.avgLen()}, nil
}

// Terms calls fn with each distinct term of the indexed documents, in
// order, until fn returns false.
func (s Stored) Terms(fn func(term string) bool) error {
	return s.kv.Scan(TableTerms, nil, func(k, _ []byte) bool { return fn(string(k)) })
}

// IDs calls fn with the ID of each indexed document, in order, until fn
// returns false.
func (s Stored) IDs(fn func(id string) bool) error {
	return s.kv.Scan(TableIDs, nil, func(k, _ []byte) bool { return fn(string(k)) })
}

// Search is Index.Search over the persisted index.
func (s Stored) Search(q Query, limit int) ([]Result, error) { return s.SearchFunc(q, limit, nil) }

// SearchFunc is Index.SearchFunc over the persisted index: the same
// results and scores as an Index holding the same documents.
func (s Stored) SearchFunc(q Query, limit int, skip func(id string) bool) ([]Result, error) {
	req := q.RequiredTerms()
	if len(req) == 0 {
		return nil, nil
	}
	dfs := make(map[string]int, len(req))
	rarest := ""
	for _, t := range req {
		n, err := s.DF(t)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil // a required term nobody has
		}
		dfs[t] = n
		if rarest == "" || n < dfs[rarest] {
			rarest = t
		}
	}
	st, err := s.stats()
	if err != nil {
		return nil, err
	}
	// The terms looked up in each candidate besides the rarest: the other
	// required ones (score fails without them), then those of exclusions.
	var others, excluded []string
	for _, t := range req {
		if t != rarest {
			others = append(others, t)
		}
	}
	excluded = append(excluded, q.NotTerms...)
	for _, p := range q.NotPhrases {
		excluded = append(excluded, p...)
	}
	excluded = sortedSet(excluded)
	scorer := newScorer(req, int(st.docs), func(t string) int { return dfs[t] }, st.avgLen())
	top := topK{limit: limit}
	prefix := append([]byte(rarest), 0)
	scanErr := s.kv.Scan(TablePostings, prefix, func(k, v []byte) bool {
		num := k[len(prefix):]
		if len(num) != 8 {
			err = fmt.Errorf("%w: postings key %x", ErrCorrupt, k)
			return false
		}
		var a *analyzed
		if a, err = decodeDoc(s.kv.Get(TableDocs, num)); err != nil {
			return false
		}
		if !filtersMatch(q, a) {
			return true
		}
		a.terms = make(map[string][]hit, len(others)+len(excluded)+1)
		if a.terms[rarest], err = decodeHits(v); err != nil {
			return false
		}
		for _, t := range others {
			pv := s.kv.Get(TablePostings, postingKey(t, num))
			if pv == nil {
				return true // lacks a required term
			}
			if a.terms[t], err = decodeHits(pv); err != nil {
				return false
			}
		}
		score, ok := scorer.score(a)
		if !ok {
			return true
		}
		for _, t := range excluded {
			if _, done := a.terms[t]; done {
				continue
			}
			if pv := s.kv.Get(TablePostings, postingKey(t, num)); pv != nil {
				if a.terms[t], err = decodeHits(pv); err != nil {
					return false
				}
			}
		}
		if !matchesText(q, a) {
			return true
		}
		r := Result{ID: a.id, Score: score}
		if top.admits(r) && (skip == nil || !skip(a.id)) {
			top.push(r)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if scanErr != nil {
		return nil, scanErr
	}
	return top.sorted(), nil
}

// storedVersion reads the version byte of a persisted record.
func (d *decoder) storedVersion() {
	switch {
	case d.err != nil:
	case len(d.b) == 0:
		d.err = errors.New("empty record")
	case d.b[0] != storedVersion:
		d.err = fmt.Errorf("unknown record version %d", d.b[0])
	default:
		d.b = d.b[1:]
	}
}

// u8 reads one byte.
func (d *decoder) u8() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errors.New("record truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}
