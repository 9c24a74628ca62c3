package search

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/myconet/myconet/metadata"
)

// Limits of a query.
const (
	MaxQueryLen     = 1024 // bytes, of the text given and of the canonical form
	MaxQueryTerms   = 16   // distinct terms after tokenization, exclusions included
	MaxQueryPhrases = 8    // phrases, exclusions included
	MaxTagFilters   = 8
	maxFilterValue  = 256 // bytes, after normalization
)

// Query is a parsed search query. A document matches when it contains every
// term of Terms, every phrase of Phrases, no term of NotTerms, no phrase of
// NotPhrases, and passes every filter that is set.
//
// ParseQuery returns queries in canonical form: terms are tokenizer output,
// lists are sorted and free of duplicates, phrases have at least two terms
// and filter values are normalized. Set filters with SetFilter, which keeps
// that form; Search and Match expect it.
type Query struct {
	Terms      []string
	Phrases    [][]string // consecutive terms in one field
	NotTerms   []string
	NotPhrases [][]string

	Kind      string   // one of metadata.Kinds(), lower case
	Language  string   // BCP 47 tag, lower case; "en" matches "en" and "en-us"
	License   string   // SPDX expression; compared case-insensitively
	Publisher string   // peer ID string; compared exactly
	Tags      []string // normalized tags (terms joined by a space); each must be a tag of the document
}

// ParseQuery parses a query:
//
//	word            the document contains the term (several words: all of them)
//	"a phrase"      the terms occur consecutively in one field
//	-word -"a b"    the document does not contain the term or phrase
//	kind:video      filters: kind:, lang: (or language:), tag:, license:,
//	tag:"a b"       publisher:; quote values with spaces
//
// A word that the tokenizer splits into several terms ("e-mail", or a run of
// Chinese characters, which becomes bigrams) is a phrase; a phrase of one
// term is a word. A quote left open runs to the end of the text. A
// word that looks like a filter with an unknown key ("http://x") is text.
//
// ParseQuery returns ErrQueryTooLong, ErrTooManyTerms, ErrTooManyPhrases,
// ErrBadFilter or ErrEmptyQuery (no word or phrase to look for), wrapped.
func ParseQuery(s string) (Query, error) {
	if len(s) > MaxQueryLen {
		return Query{}, fmt.Errorf("%w: %d bytes (max %d)", ErrQueryTooLong, len(s), MaxQueryLen)
	}
	var q Query
	p := 0
	for {
		p = skipSpace(s, p)
		if p >= len(s) {
			break
		}
		neg := false
		if s[p] == '-' {
			neg = true
			p++
		}
		if p < len(s) && s[p] == '"' {
			var text string
			text, p = quoted(s, p)
			q.addText(text, neg)
			continue
		}
		start := p
		for p < len(s) && s[p] != '"' {
			r, n := utf8.DecodeRuneInString(s[p:])
			if unicode.IsSpace(r) {
				break
			}
			p += n
		}
		tok := s[start:p]
		key, value, ok := strings.Cut(tok, ":")
		if ok && isFilterKey(key) {
			if neg {
				return Query{}, fmt.Errorf("%w: negated filter %q is not supported", ErrBadFilter, tok)
			}
			if value == "" && p < len(s) && s[p] == '"' {
				value, p = quoted(s, p)
			}
			if err := q.SetFilter(key, value); err != nil {
				return Query{}, err
			}
			continue
		}
		q.addText(tok, neg)
	}
	q.canonicalize()
	if err := q.check(); err != nil {
		return Query{}, err
	}
	return q, nil
}

// skipSpace returns the offset of the first non-space rune at or after p.
func skipSpace(s string, p int) int {
	for p < len(s) {
		r, n := utf8.DecodeRuneInString(s[p:])
		if !unicode.IsSpace(r) {
			break
		}
		p += n
	}
	return p
}

// quoted reads the quoted text that starts at s[p] == '"' and returns it and
// the offset after the closing quote (or the end of s).
func quoted(s string, p int) (string, int) {
	p++
	end := strings.IndexByte(s[p:], '"')
	if end < 0 {
		return s[p:], len(s)
	}
	return s[p : p+end], p + end + 1
}

func isFilterKey(k string) bool {
	switch strings.ToLower(k) {
	case "kind", "lang", "language", "tag", "license", "publisher":
		return true
	}
	return false
}

// addText adds the terms of text as a word or, if it has several terms, a
// phrase.
func (q *Query) addText(text string, neg bool) {
	terms := Terms(text)
	switch {
	case len(terms) == 0:
	case len(terms) == 1 && neg:
		q.NotTerms = append(q.NotTerms, terms[0])
	case len(terms) == 1:
		q.Terms = append(q.Terms, terms[0])
	case neg:
		q.NotPhrases = append(q.NotPhrases, terms)
	default:
		q.Phrases = append(q.Phrases, terms)
	}
}

// SetFilter sets the filter key (kind, lang, language, tag, license or
// publisher; case-insensitive) to value, normalized. A tag filter adds to
// the tags; another filter set twice must have the same value. It returns an
// error wrapping ErrBadFilter for an unknown key, an invalid value or a
// conflict. The CLI sets its --kind, --tag, … flags with it.
func (q *Query) SetFilter(key, value string) error {
	bad := func(reason string) error {
		return fmt.Errorf("%w: %s:%q: %s", ErrBadFilter, key, value, reason)
	}
	lkey := strings.ToLower(key)
	if lkey != "tag" && (!utf8.ValidString(value) ||
		strings.ContainsFunc(value, func(r rune) bool { return r == '"' || unicode.IsControl(r) })) {
		return bad("invalid characters")
	}
	var dst *string
	var v string
	switch lkey {
	case "kind":
		v, dst = normKind(value), &q.Kind
		if !metadata.ValidKind(v) {
			return bad("unknown kind (want one of " + strings.Join(metadata.Kinds(), ", ") + ")")
		}
	case "lang", "language":
		v, dst = normLang(value), &q.Language
		if len(v) > metadata.MaxLanguage || strings.ContainsFunc(v, func(r rune) bool {
			return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-')
		}) {
			return bad("not a language tag")
		}
	case "license":
		v, dst = normLicense(value), &q.License
		if len(v) > metadata.MaxLicense {
			return bad("too long")
		}
	case "publisher":
		v, dst = strings.TrimSpace(value), &q.Publisher
		if len(v) > 128 || strings.ContainsFunc(v, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
		}) {
			return bad("not a peer ID")
		}
	case "tag":
		v = normTag(value)
		switch {
		case v == "":
			return bad("empty")
		case len(v) > maxFilterValue:
			return bad("too long")
		case slices.Contains(q.Tags, v):
			return nil
		case len(q.Tags) >= MaxTagFilters:
			return bad(fmt.Sprintf("more than %d tag filters", MaxTagFilters))
		}
		q.Tags = append(q.Tags, v)
		slices.Sort(q.Tags)
		return nil
	default:
		return bad("unknown filter")
	}
	switch {
	case v == "":
		return bad("empty")
	case *dst != "" && *dst != v:
		return bad("conflicts with " + *dst)
	}
	*dst = v
	return nil
}

// canonicalize sorts and dedupes the lists.
func (q *Query) canonicalize() {
	q.Terms = sortedSet(q.Terms)
	q.NotTerms = sortedSet(q.NotTerms)
	q.Phrases = sortedPhrases(q.Phrases)
	q.NotPhrases = sortedPhrases(q.NotPhrases)
}

func sortedSet(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return slices.Compact(s)
}

func sortedPhrases(ps [][]string) [][]string {
	if len(ps) == 0 {
		return nil
	}
	slices.SortFunc(ps, func(a, b []string) int { return slices.Compare(a, b) })
	return slices.CompactFunc(ps, func(a, b []string) bool { return slices.Equal(a, b) })
}

// check enforces the limits on a canonical query.
func (q *Query) check() error {
	all := q.allTerms()
	if len(all) > MaxQueryTerms {
		return fmt.Errorf("%w: %d (max %d)", ErrTooManyTerms, len(all), MaxQueryTerms)
	}
	if n := len(q.Phrases) + len(q.NotPhrases); n > MaxQueryPhrases {
		return fmt.Errorf("%w: %d (max %d)", ErrTooManyPhrases, n, MaxQueryPhrases)
	}
	if len(q.Terms) == 0 && len(q.Phrases) == 0 {
		return fmt.Errorf("%w: no word to look for", ErrEmptyQuery)
	}
	if n := len(q.String()); n > MaxQueryLen {
		return fmt.Errorf("%w: %d bytes in canonical form (max %d)", ErrQueryTooLong, n, MaxQueryLen)
	}
	return nil
}

// allTerms returns the distinct terms of q, exclusions included, sorted.
func (q *Query) allTerms() []string {
	all := slices.Concat(q.Terms, q.NotTerms)
	for _, p := range slices.Concat(q.Phrases, q.NotPhrases) {
		all = append(all, p...)
	}
	return sortedSet(all)
}

// RequiredTerms returns the distinct terms every matching document
// contains (words and terms of phrases), sorted. They are the terms BM25
// scores and the ones worth looking up in the DHT.
func (q Query) RequiredTerms() []string {
	req := slices.Clone(q.Terms)
	for _, p := range q.Phrases {
		req = append(req, p...)
	}
	return sortedSet(req)
}

// RarestTerms returns the k required terms with the lowest document
// frequency df (ties: by term), rarest first: the DHT keys a searcher looks
// up. It returns fewer when the query has fewer, and none when k <= 0.
func (q Query) RarestTerms(df func(term string) int, k int) []string {
	if k <= 0 {
		return nil
	}
	req := q.RequiredTerms()
	freq := make(map[string]int, len(req))
	for _, t := range req {
		freq[t] = df(t)
	}
	slices.SortFunc(req, func(a, b string) int {
		return cmp.Or(cmp.Compare(freq[a], freq[b]), strings.Compare(a, b))
	})
	return req[:min(k, len(req))]
}

// String returns the canonical text of q: words, phrases, exclusions, then
// filters in a fixed order. For a canonical query,
// ParseQuery(q.String()) returns q.
func (q Query) String() string {
	var b strings.Builder
	sep := func() {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
	}
	phrase := func(p []string) {
		b.WriteByte('"')
		b.WriteString(strings.Join(p, " "))
		b.WriteByte('"')
	}
	value := func(v string) {
		if strings.ContainsFunc(v, unicode.IsSpace) {
			phrase([]string{v})
		} else {
			b.WriteString(v)
		}
	}
	for _, t := range q.Terms {
		sep()
		b.WriteString(t)
	}
	for _, p := range q.Phrases {
		sep()
		phrase(p)
	}
	for _, t := range q.NotTerms {
		sep()
		b.WriteByte('-')
		b.WriteString(t)
	}
	for _, p := range q.NotPhrases {
		sep()
		b.WriteByte('-')
		phrase(p)
	}
	for _, f := range []struct{ key, v string }{
		{"kind", q.Kind}, {"lang", q.Language}, {"license", q.License}, {"publisher", q.Publisher},
	} {
		if f.v != "" {
			sep()
			b.WriteString(f.key + ":")
			value(f.v)
		}
	}
	for _, t := range q.Tags {
		sep()
		b.WriteString("tag:")
		value(t)
	}
	return b.String()
}
