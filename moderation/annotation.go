package moderation

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ipfs/go-cid"
	"golang.org/x/text/language"

	"github.com/myconet/myconet/metadata"
)

const (
	// MaxAnnotationTags is the most tags one annotation may add; each is
	// 1..metadata.MaxTag bytes.
	MaxAnnotationTags = 16

	// MaxAnnotationTitles is the most title translations one annotation
	// may give; each is 1..metadata.MaxTitle bytes, keyed by a canonical
	// BCP 47 language tag of at most metadata.MaxLanguage bytes.
	MaxAnnotationTitles = 8

	// MaxNote is the longest note, in bytes (UTF-8; tabs and line feeds
	// allowed).
	MaxNote = 1024

	// MaxAnnotationSize bounds an encoded annotation. It is below the sum
	// of the field limits: an annotation that uses every field to the full
	// is too large.
	MaxAnnotationSize = 4096

	annotationSigDomain  = "myconet-annotation/v1\n"
	annotationWorkDomain = "myconet-annotation-pow/v1\n"
)

// Annotation is a signed community addition to a package's metadata: tags,
// translations of the title, a note (a correction, a content warning). It
// never changes the package; it is gathered like votes and shown beside
// the publisher's metadata, with how many distinct annotators said the
// same (Summarize). Like a vote it carries proof of work, and an
// annotator's later annotation of a package replaces the earlier one (an
// empty annotation withdraws). Slices of a decoded annotation alias its
// input.
type Annotation struct {
	Target    cid.Cid           // the package: CIDv1 dag-cbor sha2-256
	Annotator ed25519.PublicKey // raw 32-byte Ed25519 key
	Time      time.Time         // UTC, nanoseconds
	Tags      []string          // unique, in ascending byte order
	Titles    map[string]string // canonical BCP 47 language → title in that language
	Note      string
	Nonce     uint64 // proof-of-work nonce
	Sig       []byte // Ed25519 by Annotator over "myconet-annotation/v1\n" + unsigned encoding
}

// NewAnnotation signs an annotation of a.Target with a.Tags, a.Titles and
// a.Note (the other fields of a are ignored) at time now, after searching
// its proof of work (as NewVote). Tags are sorted and must be unique;
// title languages are canonicalised ("EN-us" → "en-US") and must stay
// distinct.
func NewAnnotation(priv ed25519.PrivateKey, a Annotation, now time.Time, difficulty int) (Annotation, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return Annotation{}, fmt.Errorf("moderation: new annotation: %w: private key of %d bytes", ErrInvalid, len(priv))
	}
	n := Annotation{
		Target:    a.Target,
		Annotator: priv.Public().(ed25519.PublicKey),
		Time:      time.Unix(0, now.UnixNano()).UTC(),
		Tags:      slices.Sorted(slices.Values(a.Tags)),
		Note:      a.Note,
	}
	if len(a.Titles) > 0 {
		n.Titles = make(map[string]string, len(a.Titles))
		for lang, title := range a.Titles {
			canon, err := canonicalLanguage(lang)
			if err != nil {
				return Annotation{}, fmt.Errorf("moderation: new annotation: %w", err)
			}
			if _, dup := n.Titles[canon]; dup {
				return Annotation{}, fmt.Errorf("moderation: new annotation: %w: two titles in language %s", ErrInvalid, canon)
			}
			n.Titles[canon] = title
		}
	}
	prefix, err := n.appendWorkPrefix([]byte(annotationWorkDomain))
	if err != nil {
		return Annotation{}, fmt.Errorf("moderation: new annotation: %w", err)
	}
	if n.Nonce, err = solve(prefix, difficulty); err != nil {
		return Annotation{}, fmt.Errorf("moderation: new annotation: %w", err)
	}
	unsigned := binary.BigEndian.AppendUint64(prefix[len(annotationWorkDomain):], n.Nonce)
	if len(unsigned)+sigSize > MaxAnnotationSize {
		return Annotation{}, fmt.Errorf("moderation: new annotation: %w: %d bytes (max %d)",
			ErrTooLarge, len(unsigned)+sigSize, MaxAnnotationSize)
	}
	n.Sig = ed25519.Sign(priv, append([]byte(annotationSigDomain), unsigned...))
	return n, nil
}

// canonicalLanguage checks a BCP 47 tag as metadata does and returns its
// canonical form.
func canonicalLanguage(s string) (string, error) {
	if s == "" || len(s) > metadata.MaxLanguage {
		return "", fmt.Errorf("%w: title language %q: want 1..%d bytes", ErrInvalid, s, metadata.MaxLanguage)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return "", fmt.Errorf("%w: title language %q is not a BCP 47 tag", ErrInvalid, s)
		}
	}
	t, err := language.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: title language %q is not a BCP 47 tag: %v", ErrInvalid, s, err)
	}
	canon := t.String()
	if len(canon) > metadata.MaxLanguage {
		return "", fmt.Errorf("%w: title language %q: canonical form too long", ErrInvalid, s)
	}
	return canon, nil
}

// appendWorkPrefix checks every field but the nonce and signature and
// appends their encoding.
func (a *Annotation) appendWorkPrefix(dst []byte) ([]byte, error) {
	if err := checkTarget(a.Target); err != nil {
		return nil, err
	}
	if err := checkKey("annotator", a.Annotator); err != nil {
		return nil, err
	}
	t, err := checkTime("time", a.Time)
	if err != nil {
		return nil, err
	}
	if len(a.Tags) > MaxAnnotationTags {
		return nil, fmt.Errorf("%w: %d tags (max %d)", ErrTooLarge, len(a.Tags), MaxAnnotationTags)
	}
	for i, tag := range a.Tags {
		if err := checkText("tag", tag, metadata.MaxTag, false); err != nil {
			return nil, err
		}
		if tag == "" {
			return nil, fmt.Errorf("%w: empty tag", ErrInvalid)
		}
		if i > 0 && a.Tags[i-1] >= tag {
			return nil, fmt.Errorf("%w: tags not unique and in ascending order at %q", ErrInvalid, tag)
		}
	}
	if len(a.Titles) > MaxAnnotationTitles {
		return nil, fmt.Errorf("%w: %d title translations (max %d)", ErrTooLarge, len(a.Titles), MaxAnnotationTitles)
	}
	langs := slices.Sorted(maps.Keys(a.Titles))
	for _, lang := range langs {
		if canon, err := canonicalLanguage(lang); err != nil {
			return nil, err
		} else if canon != lang {
			return nil, fmt.Errorf("%w: title language %q is not canonical (%q)", ErrInvalid, lang, canon)
		}
		title := a.Titles[lang]
		if err := checkText("title", title, metadata.MaxTitle, false); err != nil {
			return nil, err
		}
		if title == "" {
			return nil, fmt.Errorf("%w: empty title for %s", ErrInvalid, lang)
		}
	}
	if err := checkText("note", a.Note, MaxNote, true); err != nil {
		return nil, err
	}
	dst = append(dst, recordVersion)
	dst = appendBytes(dst, a.Target.Bytes())
	dst = append(dst, a.Annotator...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(t))
	dst = append(dst, byte(len(a.Tags)))
	for _, tag := range a.Tags {
		dst = appendString(dst, tag)
	}
	dst = append(dst, byte(len(langs)))
	for _, lang := range langs {
		dst = appendString(dst, lang)
		dst = appendString(dst, a.Titles[lang])
	}
	dst = appendString(dst, a.Note)
	return dst, nil
}

// Encode returns the canonical encoding of a. It checks every field but
// verifies neither the signature nor the work.
func (a Annotation) Encode() ([]byte, error) {
	b, err := a.appendWorkPrefix(make([]byte, 0, 512))
	if err != nil {
		return nil, fmt.Errorf("moderation: encode annotation: %w", err)
	}
	b = binary.BigEndian.AppendUint64(b, a.Nonce)
	if len(a.Sig) != sigSize {
		return nil, fmt.Errorf("moderation: encode annotation: %w: signature of %d bytes", ErrInvalid, len(a.Sig))
	}
	b = append(b, a.Sig...)
	if len(b) > MaxAnnotationSize {
		return nil, fmt.Errorf("moderation: encode annotation: %w: %d bytes (max %d)", ErrTooLarge, len(b), MaxAnnotationSize)
	}
	return b, nil
}

// DecodeAnnotation parses the canonical encoding of an annotation. It is
// strict: for every b it accepts, Encode gives back b. It verifies neither
// the signature nor the work nor the time; call VerifyAnnotation.
func DecodeAnnotation(b []byte) (Annotation, error) {
	a, err := decodeAnnotation(b)
	if err != nil {
		return Annotation{}, fmt.Errorf("moderation: decode annotation: %w", err)
	}
	return a, nil
}

func decodeAnnotation(b []byte) (Annotation, error) {
	if len(b) > MaxAnnotationSize {
		return Annotation{}, fmt.Errorf("%w: %d bytes (max %d)", ErrTooLarge, len(b), MaxAnnotationSize)
	}
	r := reader{b: b}
	r.version()
	target := r.varBytes(cidSize, "target")
	annotator := r.fixed(keySize, "annotator")
	ts := r.u64("time")
	var a Annotation
	if n := int(r.u8("tags")); n > MaxAnnotationTags {
		return Annotation{}, fmt.Errorf("%w: %d tags (max %d)", ErrTooLarge, n, MaxAnnotationTags)
	} else if n > 0 {
		a.Tags = make([]string, n)
		for i := range a.Tags {
			a.Tags[i] = string(r.varBytes(metadata.MaxTag, "tag"))
		}
	}
	if n := int(r.u8("titles")); n > MaxAnnotationTitles {
		return Annotation{}, fmt.Errorf("%w: %d title translations (max %d)", ErrTooLarge, n, MaxAnnotationTitles)
	} else if n > 0 {
		a.Titles = make(map[string]string, n)
		prev := ""
		for i := 0; i < n && r.err == nil; i++ {
			lang := string(r.varBytes(metadata.MaxLanguage, "title language"))
			title := string(r.varBytes(metadata.MaxTitle, "title"))
			if r.err == nil && i > 0 && lang <= prev {
				r.fail("title languages not unique and in ascending order at %q", lang)
			}
			a.Titles[lang], prev = title, lang
		}
	}
	a.Note = string(r.varBytes(MaxNote, "note"))
	a.Nonce = r.u64("nonce")
	a.Sig = r.fixed(sigSize, "signature")
	if err := r.done(); err != nil {
		return Annotation{}, err
	}
	var err error
	if a.Target, err = decodeTarget(target); err != nil {
		return Annotation{}, err
	}
	a.Annotator = ed25519.PublicKey(annotator)
	if a.Time, err = decodeTime("time", ts); err != nil {
		return Annotation{}, err
	}
	if _, err := a.appendWorkPrefix(nil); err != nil { // field checks
		return Annotation{}, err
	}
	return a, nil
}

// VerifyAnnotation checks an annotation as Verify checks a vote: valid
// fields, the time window, the work, then the signature.
func VerifyAnnotation(a Annotation, difficulty int, now time.Time, maxAge, maxSkew time.Duration) error {
	if err := verifyAnnotation(&a, difficulty, now, maxAge, maxSkew); err != nil {
		return fmt.Errorf("moderation: verify annotation: %w", err)
	}
	return nil
}

func verifyAnnotation(a *Annotation, difficulty int, now time.Time, maxAge, maxSkew time.Duration) error {
	prefix, err := a.appendWorkPrefix([]byte(annotationWorkDomain))
	if err != nil {
		return err
	}
	if n := len(prefix) - len(annotationWorkDomain) + 8 + sigSize; n > MaxAnnotationSize {
		return fmt.Errorf("%w: %d bytes (max %d)", ErrTooLarge, n, MaxAnnotationSize)
	}
	if len(a.Sig) != sigSize {
		return fmt.Errorf("%w: signature of %d bytes", ErrBadSignature, len(a.Sig))
	}
	if err := timeCheck(a.Time, now, maxAge, maxSkew); err != nil {
		return err
	}
	if err := checkWork(prefix, a.Nonce, difficulty); err != nil {
		return err
	}
	msg := binary.BigEndian.AppendUint64(append([]byte(annotationSigDomain), prefix[len(annotationWorkDomain):]...), a.Nonce)
	if !ed25519.Verify(a.Annotator, msg, a.Sig) {
		return ErrBadSignature
	}
	return nil
}

// CheckAnnotationTarget returns ErrWrongTarget unless a is about want.
func CheckAnnotationTarget(a Annotation, want cid.Cid) error {
	if !a.Target.Equals(want) {
		return fmt.Errorf("moderation: %w: annotation of %s, want %s", ErrWrongTarget, a.Target, want)
	}
	return nil
}

// Count is a value (a tag, a title, a note) with the number of distinct
// annotators who gave it.
type Count struct {
	Value      string
	Annotators int
}

// Summary is what the annotations of one package say, counted per
// distinct annotator.
type Summary struct {
	// Annotators is the number of distinct annotators whose latest
	// annotation says something (an empty one withdraws).
	Annotators int
	// Tags, most annotators first, then in byte order.
	Tags []Count
	// Titles maps a language to its proposed titles, most annotators
	// first.
	Titles map[string][]Count
	// Notes, most annotators first (identical notes are counted
	// together).
	Notes []Count
}

// Summarize counts what the annotations of target say. Of several
// annotations by one annotator only the latest counts (later Time, then
// the greater encoding), as with votes; annotations of other packages and
// annotations with invalid fields are skipped. Summarize trusts its input:
// pass annotations that passed VerifyAnnotation.
func Summarize(target cid.Cid, anns []Annotation) Summary {
	type latest struct {
		a   Annotation
		enc []byte
	}
	by := make(map[string]latest)
	for _, a := range anns {
		if !a.Target.Equals(target) {
			continue
		}
		enc, err := a.Encode()
		if err != nil {
			continue
		}
		old, ok := by[string(a.Annotator)]
		if ok {
			if c := a.Time.Compare(old.a.Time); c < 0 || c == 0 && bytes.Compare(enc, old.enc) <= 0 {
				continue
			}
		}
		by[string(a.Annotator)] = latest{a, enc}
	}
	tags := make(map[string]int)
	titles := make(map[string]map[string]int)
	notes := make(map[string]int)
	for _, l := range by {
		for _, t := range l.a.Tags {
			tags[t]++
		}
		for lang, t := range l.a.Titles {
			if titles[lang] == nil {
				titles[lang] = make(map[string]int)
			}
			titles[lang][t]++
		}
		if l.a.Note != "" {
			notes[l.a.Note]++
		}
	}
	s := Summary{Tags: ranked(tags), Notes: ranked(notes)}
	for _, l := range by {
		if len(l.a.Tags) > 0 || len(l.a.Titles) > 0 || l.a.Note != "" {
			s.Annotators++
		}
	}
	if len(titles) > 0 {
		s.Titles = make(map[string][]Count, len(titles))
		for lang, m := range titles {
			s.Titles[lang] = ranked(m)
		}
	}
	return s
}

func ranked(m map[string]int) []Count {
	if len(m) == 0 {
		return nil
	}
	cs := make([]Count, 0, len(m))
	for v, n := range m {
		cs = append(cs, Count{Value: v, Annotators: n})
	}
	slices.SortFunc(cs, func(a, b Count) int {
		if c := cmp.Compare(b.Annotators, a.Annotators); c != 0 {
			return c
		}
		return cmp.Compare(a.Value, b.Value)
	})
	return cs
}
