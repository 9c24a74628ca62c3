package search

import (
	"crypto/sha256"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// MaxTermLen is the longest term, in bytes, that the tokenizer keeps.
// Longer terms are dropped (they are noise, hashes or attacks, and each
// term becomes a DHT key).
const MaxTermLen = 64

// termKeyPrefix is the domain string of term keys.
const termKeyPrefix = "myconet-term/v1/"

// Terms returns the terms of text, in order of appearance, with repeats:
// the text is normalized (NFKC, case-folded, NFKC again), split on every
// rune that is not a letter, a number or a combining mark, and runs of
// scripts written without spaces become overlapping bigrams. See the
// package documentation. Terms is deterministic and every term t it returns
// satisfies Terms(t) == [t].
func Terms(text string) []string {
	var out []string
	tokenize(text, func(t string) { out = append(out, t) })
	return out
}

// TermKey returns the 32-byte key of a term: SHA-256 of
// "myconet-term/v1/" + term. term must be a term as Terms returns it.
func TermKey(term string) []byte {
	h := sha256.Sum256([]byte(termKeyPrefix + term))
	return h[:]
}

// TermCID returns the DHT provider key of a term: CIDv1, codec raw, with the
// SHA2-256 multihash of TermKey(term).
func TermCID(term string) cid.Cid {
	mh := make([]byte, 0, 2+sha256.Size)
	mh = append(mh, multihash.SHA2_256, sha256.Size)
	mh = append(mh, TermKey(term)...)
	return cid.NewCidV1(cid.Raw, multihash.Multihash(mh))
}

// normalize returns text in NFKC, case-folded form. ASCII text, by far the
// most common, takes a fast path (NFKC is the identity on ASCII and folding
// is lowering).
func normalize(text string) string {
	ascii, upper := true, false
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if ascii {
		if !upper {
			return text
		}
		b := []byte(text)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b)
	}
	// Folding can leave text that is not NFKC (and NFKC can produce
	// upper case, e.g. from compatibility characters), hence NFKC on both
	// sides: the result approximates Unicode's NFKC_Casefold. A Caser
	// holds state, so each call makes its own.
	// Invalid bytes separate terms; replaced first, because norm leaves
	// the text after them unnormalized.
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	s := norm.NFKC.String(text)
	s = cases.Fold().String(s)
	if strings.ContainsFunc(s, isCherokeeLower) {
		s = strings.Map(cherokeeUpper, s)
	}
	return norm.NFKC.String(s)
}

// Unicode case folding maps Cherokee small letters to capitals (the
// capitals came first), but x/text's Fold swaps the two cases, so that
// folding twice undoes the first fold. We fold Cherokee ourselves, to
// capitals as CaseFolding.txt does.
func isCherokeeLower(r rune) bool {
	return 0xAB70 <= r && r <= 0xABBF || 0x13F8 <= r && r <= 0x13FD
}

func cherokeeUpper(r rune) rune {
	if isCherokeeLower(r) {
		return unicode.ToUpper(r)
	}
	return r
}

// class is the tokenizer class of a rune.
type class uint8

const (
	classSep  class = iota // separates terms
	classMark              // combining mark: continues the current unit
	classWord              // letters and numbers of scripts with spaces
	// Scripts written without spaces between words; their runs become
	// bigrams. Han, Hiragana and Katakana share a class because Japanese
	// mixes them inside words.
	classCJK
	classHangul
	classThai
	classLao
	classKhmer
	classMyanmar
)

func (c class) bigrams() bool { return c >= classCJK }

func classOf(r rune) class {
	if r < utf8.RuneSelf {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9', 'A' <= r && r <= 'Z':
			return classWord
		}
		return classSep
	}
	switch {
	case unicode.IsMark(r):
		return classMark
	case !unicode.IsLetter(r) && !unicode.IsNumber(r):
		return classSep
	case unicode.Is(unicode.Han, r), unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r),
		r == 0x30FC: // KATAKANA-HIRAGANA PROLONGED SOUND MARK (script Common)
		return classCJK
	case unicode.Is(unicode.Hangul, r):
		return classHangul
	case unicode.Is(unicode.Thai, r):
		return classThai
	case unicode.Is(unicode.Lao, r):
		return classLao
	case unicode.Is(unicode.Khmer, r):
		return classKhmer
	case unicode.Is(unicode.Myanmar, r):
		return classMyanmar
	}
	return classWord
}

// tokenize calls emit with each term of text in order.
func tokenize(text string, emit func(string)) {
	s := normalize(text)
	// A run is a maximal sequence of units of one class; a unit is one
	// base rune with the combining marks that follow it. units holds the
	// byte offsets where the units of the current run start.
	var (
		cur      = classSep
		runStart int
		units    []int
	)
	flush := func(end int) {
		switch {
		case cur == classSep:
		case !cur.bigrams():
			emitTerm(s[runStart:end], emit)
		case len(units) == 1:
			emitTerm(s[runStart:end], emit)
		default:
			for i := 0; i+1 < len(units); i++ {
				e := end
				if i+2 < len(units) {
					e = units[i+2]
				}
				emitTerm(s[units[i]:e], emit)
			}
		}
		cur = classSep
		units = units[:0]
	}
	for i, r := range s {
		c := classOf(r)
		switch {
		case c == classMark:
			if cur == classSep {
				continue // a mark with nothing to attach to separates
			}
		case c == classSep:
			flush(i)
		case c == cur:
			units = append(units, i)
		default:
			flush(i)
			cur, runStart = c, i
			units = append(units, i)
		}
	}
	flush(len(s))
}

func emitTerm(t string, emit func(string)) {
	if len(t) > 0 && len(t) <= MaxTermLen {
		emit(t)
	}
}
