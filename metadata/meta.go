package metadata

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
	"golang.org/x/text/language"
)

// Kinds of content a package may declare in Meta.Kind.
const (
	KindDocument = "document"
	KindVideo    = "video"
	KindAudio    = "audio"
	KindImage    = "image"
	KindSite     = "site"
	KindDataset  = "dataset"
	KindSoftware = "software"
	KindArchive  = "archive"
	KindOther    = "other"
)

var kinds = []string{KindDocument, KindVideo, KindAudio, KindImage, KindSite, KindDataset, KindSoftware, KindArchive, KindOther}

// Kinds returns the valid kinds, in a fixed order. The caller owns the slice.
func Kinds() []string { return append([]string(nil), kinds...) }

// ValidKind reports whether k is one of the kinds. The empty string
// (unspecified) is not a kind.
func ValidKind(k string) bool {
	for _, v := range kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Size limits of metadata fields, in bytes unless said otherwise.
const (
	MaxTitle       = 256
	MaxDescription = 8192
	MaxTags        = 32 // number of tags
	MaxTag         = 64
	MaxLanguage    = 35
	MaxLicense     = 128
	MaxAuthors     = 32 // number of authors
	MaxAuthor      = 128
	MaxEntry       = 1024
	MaxName        = 255 // a file name, as most file systems bound it
)

// Meta is the metadata of a package (schema v1). Empty and zero fields are
// absent from the encoding.
type Meta struct {
	Title       string    // required, 1..256 bytes, valid UTF-8, no control chars
	Description string    // <= 8192 bytes; tabs and line breaks allowed
	Tags        []string  // <= 32 tags, each 1..64 bytes, no control chars, no exact duplicates (New folds case-insensitive ones, see FoldTags)
	Language    string    // BCP 47 tag, <= 35 bytes
	License     string    // SPDX license id or expression, <= 128 bytes
	Authors     []string  // <= 32, each 1..128 bytes
	Kind        string    // one of Kinds(); "" means unspecified
	Entry       string    // start page of a site: a clean relative path inside the package, <= 1024 bytes
	Name        string    // original file name of a single-file package: one path segment, <= 255 bytes (see CheckName)
	Created     time.Time // zero = absent; encoded as RFC 3339 UTC, second precision
	Size        uint64    // total content bytes
	Files       uint64    // number of files
	Previous    cid.Cid   // the package this one updates (a dag-cbor CID); cid.Undef = absent
}

// Validate checks every field of m against the schema and returns a
// *FieldError for the first one that breaks it, or nil.
func (m *Meta) Validate() error {
	if err := checkText("title", m.Title, MaxTitle, false); err != nil {
		return err
	}
	if strings.TrimSpace(m.Title) == "" {
		return fieldErr("title", "required")
	}
	if len(m.Description) > 0 {
		if err := checkText("description", m.Description, MaxDescription, true); err != nil {
			return err
		}
	}
	if err := checkList("tags", "tag", m.Tags, MaxTags, MaxTag, true); err != nil {
		return err
	}
	if m.Language != "" {
		if err := checkLanguage(m.Language); err != nil {
			return fieldErr("language", err.Error())
		}
	}
	if m.License != "" {
		if err := checkLicense(m.License); err != nil {
			return fieldErr("license", err.Error())
		}
	}
	if err := checkList("authors", "author", m.Authors, MaxAuthors, MaxAuthor, false); err != nil {
		return err
	}
	if m.Kind != "" && !ValidKind(m.Kind) {
		return fieldErr("kind", fmt.Sprintf("%q is not one of %s", m.Kind, strings.Join(kinds, ", ")))
	}
	if m.Entry != "" {
		if err := checkEntry(m.Entry); err != nil {
			return fieldErr("entry", err.Error())
		}
	}
	if m.Name != "" {
		if err := CheckName(m.Name); err != nil {
			return fieldErr("name", err.Error())
		}
	}
	if !m.Created.IsZero() {
		if y := m.Created.UTC().Year(); y < 1 || y > 9999 {
			return fieldErr("created", "year "+strconv.Itoa(y)+" is outside 1..9999")
		}
	}
	if m.Previous.Defined() && m.Previous.Type() != cid.DagCBOR {
		return fieldErr("previous", "not a package CID (want codec dag-cbor)")
	}
	return nil
}

// normalized returns a copy of m as it will be encoded: Created in UTC at
// second precision, and empty lists as nil. The slices are copied.
func (m Meta) normalized() Meta {
	if !m.Created.IsZero() {
		m.Created = m.Created.UTC().Truncate(time.Second)
	}
	m.Tags = copyList(FoldTags(m.Tags))
	m.Authors = copyList(m.Authors)
	return m
}

// FoldTags returns tags without the ones that repeat an earlier tag up to
// case ("Audio", "audio" gives "Audio"): the first spelling wins and the
// order stays. Real catalogs repeat tags this way, and a search matches
// them without case anyway. New applies it; callers that validate before
// New should fold first. It returns tags itself when nothing repeats.
// Decode still accepts packages made before folding (tags that differ in
// case only): their encoding is theirs, and refusing them would lose them.
func FoldTags(tags []string) []string {
	var seen map[string]bool
	var out []string
	for i, t := range tags {
		k := strings.ToLower(t)
		if seen[k] {
			if out == nil {
				out = append(make([]string, 0, len(tags)-1), tags[:i]...)
			}
			continue
		}
		if seen == nil {
			seen = make(map[string]bool, len(tags))
		}
		seen[k] = true
		if out != nil {
			out = append(out, t)
		}
	}
	if out == nil {
		return tags
	}
	return out
}

func copyList(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return append([]string(nil), l...)
}

// checkText checks that s is 1..max bytes of valid UTF-8 without control
// characters (multiline allows tab, CR and LF).
func checkText(field, s string, max int, multiline bool) error {
	switch {
	case s == "":
		return fieldErr(field, "required")
	case len(s) > max:
		return fieldErr(field, fmt.Sprintf("longer than %d bytes (%d)", max, len(s)))
	case !utf8.ValidString(s):
		return fieldErr(field, "not valid UTF-8")
	}
	for _, r := range s {
		if multiline && (r == '\t' || r == '\n' || r == '\r') {
			continue
		}
		if unicode.IsControl(r) {
			return fieldErr(field, fmt.Sprintf("contains control character %U", r))
		}
	}
	return nil
}

// checkList checks a list of short texts.
func checkList(field, item string, l []string, maxItems, maxLen int, unique bool) error {
	if len(l) > maxItems {
		return fieldErr(field, fmt.Sprintf("more than %d %ss (%d)", maxItems, item, len(l)))
	}
	for i, s := range l {
		if err := checkText(field, s, maxLen, false); err != nil {
			err.(*FieldError).Reason = fmt.Sprintf("%s %d: %s", item, i+1, err.(*FieldError).Reason)
			return err
		}
		if unique {
			for _, t := range l[:i] {
				if s == t {
					return fieldErr(field, fmt.Sprintf("duplicate %s %q", item, s))
				}
			}
		}
	}
	return nil
}

// checkLanguage checks for a well-formed BCP 47 tag.
func checkLanguage(s string) error {
	if len(s) > MaxLanguage {
		return fmt.Errorf("longer than %d bytes (%d)", MaxLanguage, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return fmt.Errorf("%q is not a BCP 47 language tag (character %q)", s, c)
		}
	}
	if _, err := language.Parse(s); err != nil {
		return fmt.Errorf("%q is not a BCP 47 language tag: %v", s, err)
	}
	return nil
}

// CheckName reports why s cannot be a package's file name, or nil: it must
// be 1..MaxName bytes of valid UTF-8, one path segment (no '/' or '\\'),
// not "." or "..", without control characters (NUL included). A reader
// writes a file under this name, so it must never name a path elsewhere.
func CheckName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty")
	case len(s) > MaxName:
		return fmt.Errorf("longer than %d bytes (%d)", MaxName, len(s))
	case !utf8.ValidString(s):
		return fmt.Errorf("not valid UTF-8")
	case s == "." || s == "..":
		return fmt.Errorf("%q is not a file name", s)
	case strings.ContainsAny(s, `/\`):
		return fmt.Errorf("%q is a path, not a single file name", truncate(s))
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("contains control character %U", r)
		}
	}
	return nil
}

// checkEntry checks that s is a clean relative path: no leading or
// trailing "/", no empty, "." or ".." segments, no control characters.
func checkEntry(s string) error {
	if len(s) > MaxEntry {
		return fmt.Errorf("longer than %d bytes (%d)", MaxEntry, len(s))
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("not valid UTF-8")
	}
	if strings.HasPrefix(s, "/") {
		return fmt.Errorf("%q must be relative (no leading '/')", s)
	}
	for seg := range strings.SplitSeq(s, "/") {
		switch seg {
		case "":
			return fmt.Errorf("%q has an empty segment", s)
		case ".", "..":
			return fmt.Errorf("%q has a %q segment", s, seg)
		}
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("contains control character %U", r)
		}
	}
	return nil
}
