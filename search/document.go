package search

import (
	"slices"
	"strings"

	"github.com/myconet/myconet/metadata"
)

// Field is an indexed text field of a document.
type Field uint8

// The indexed text fields, from the heaviest to the lightest weight.
const (
	FieldTitle Field = iota
	FieldTags
	FieldAuthors
	FieldDescription
	FieldAnnotations
	FieldKind

	NumFields = iota // number of fields
)

var fieldNames = [NumFields]string{"title", "tags", "authors", "description", "annotations", "kind"}

// String returns the lower-case name of the field.
func (f Field) String() string {
	if f < NumFields {
		return fieldNames[f]
	}
	return "field?"
}

// fieldWeights are the BM25F weights of the fields: a term in the title
// counts three times as much as in the description. The kind ("video", …)
// is indexed so that a word like "video" finds videos, but barely weighs.
var fieldWeights = [NumFields]float64{
	FieldTitle:       3.0,
	FieldTags:        2.0,
	FieldAuthors:     1.5,
	FieldDescription: 1.0,
	FieldAnnotations: 0.5,
	FieldKind:        0.3,
}

// valueGap is added to the position between two values of a multi-valued
// field (tags, authors, annotations) so that no phrase spans two values.
const valueGap = 1 << 10

// Doc is the searchable form of a package: its metadata and annotations.
// ID, Kind, Language, License and Publisher are not tokenized; Kind is also
// indexed as a word.
type Doc struct {
	ID          string // package CID, as a string
	Title       string
	Description string
	Tags        []string
	Authors     []string
	Kind        string // one of metadata.Kinds(), or ""
	Language    string // BCP 47 tag, or ""
	License     string // SPDX expression, or ""
	Publisher   string // the publisher's peer ID, as a string
	Annotations []string
}

// DocFromMeta returns the document of the package id with metadata m,
// published by publisher (a peer ID string), with the community annotations
// the node holds for it. The slices of m and annotations are shared, not
// copied.
func DocFromMeta(id string, m metadata.Meta, publisher string, annotations []string) Doc {
	return Doc{
		ID:          id,
		Title:       m.Title,
		Description: m.Description,
		Tags:        m.Tags,
		Authors:     m.Authors,
		Kind:        m.Kind,
		Language:    m.Language,
		License:     m.License,
		Publisher:   publisher,
		Annotations: annotations,
	}
}

// Terms returns the distinct terms of the indexed fields of d, sorted. A
// node holding d provides each of them in the DHT.
func (d Doc) Terms() []string {
	a := analyze(d)
	out := make([]string, 0, len(a.terms))
	for t := range a.terms {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// hit is the occurrences of a term in one field of a document.
type hit struct {
	field Field
	pos   []uint32 // ascending
}

// analyzed is a document as the index keeps it: a forward index of its
// terms and its normalized filter values.
type analyzed struct {
	id    string
	terms map[string][]hit // hits sorted by field
	lens  [NumFields]uint32

	kind, lang, license, publisher string
	tags                           []string // normalized with normTag
}

func analyze(d Doc) *analyzed {
	a := &analyzed{
		id:        d.ID,
		terms:     make(map[string][]hit),
		kind:      normKind(d.Kind),
		lang:      normLang(d.Language),
		license:   normLicense(d.License),
		publisher: d.Publisher,
	}
	for _, t := range d.Tags {
		if n := normTag(t); n != "" && !slices.Contains(a.tags, n) {
			a.tags = append(a.tags, n)
		}
	}
	a.addField(FieldTitle, d.Title)
	a.addField(FieldTags, d.Tags...)
	a.addField(FieldAuthors, d.Authors...)
	a.addField(FieldDescription, d.Description)
	a.addField(FieldAnnotations, d.Annotations...)
	a.addField(FieldKind, a.kind)
	return a
}

// addField indexes the values of field f. Fields must be added in order.
func (a *analyzed) addField(f Field, values ...string) {
	var pos uint32
	for i, v := range values {
		if i > 0 {
			pos += valueGap
		}
		tokenize(v, func(t string) {
			hs := a.terms[t]
			if n := len(hs); n > 0 && hs[n-1].field == f {
				hs[n-1].pos = append(hs[n-1].pos, pos)
			} else {
				a.terms[t] = append(hs, hit{field: f, pos: []uint32{pos}})
			}
			a.lens[f]++
			pos++
		})
	}
}

// has reports whether term t occurs in any field.
func (a *analyzed) has(t string) bool { return len(a.terms[t]) > 0 }

// hasPhrase reports whether the terms of p occur at consecutive positions
// of one field.
func (a *analyzed) hasPhrase(p []string) bool {
	if len(p) == 0 {
		return true
	}
	for _, first := range a.terms[p[0]] {
	start:
		for _, p0 := range first.pos {
			for k := 1; k < len(p); k++ {
				if !a.hasAt(p[k], first.field, p0+uint32(k)) {
					continue start
				}
			}
			return true
		}
	}
	return false
}

func (a *analyzed) hasAt(t string, f Field, pos uint32) bool {
	for _, h := range a.terms[t] {
		if h.field == f {
			_, ok := slices.BinarySearch(h.pos, pos)
			return ok
		}
	}
	return false
}

// Normalizers of filter values, shared by documents and queries.

func normKind(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func normLang(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// normLicense collapses white space; licenses compare case-insensitively.
func normLicense(s string) string { return strings.Join(strings.Fields(s), " ") }

// normTag returns the terms of a tag joined by single spaces, so that
// "Machine-Learning" and "machine learning" are the same tag.
func normTag(s string) string { return strings.Join(Terms(s), " ") }
