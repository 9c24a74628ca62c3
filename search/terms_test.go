package search

import (
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestTerms(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", nil},
		{"punctuation only", " -- !? ", nil},
		{"ascii", "Hello, World!", []string{"hello", "world"}},
		{"digits", "mp3 H.264 2024", []string{"mp3", "h", "264", "2024"}},
		{"ligature NFKC", "ﬁle", []string{"file"}},
		{"full-width ASCII", "ＡＢＣ１２３ Ｇｏ", []string{"abc123", "go"}},
		{"fold sharp s", "Straße STRASSE strasse", []string{"strasse", "strasse", "strasse"}},
		{"fold greek sigma", "ΣΟΦΙΑ σοφια", []string{"σοφια", "σοφια"}},
		{"superscript", "x² m³", []string{"x2", "m3"}},
		{"composed and decomposed", "café cafe\u0301", []string{"café", "café"}},
		{"chinese bigrams", "分布式搜索", []string{"分布", "布式", "式搜", "搜索"}},
		{"single han", "书", []string{"书"}},
		{"han runs split by punctuation", "搜索，书", []string{"搜索", "书"}},
		{"japanese mixed kana and kanji", "検索する", []string{"検索", "索す", "する"}},
		{"katakana prolonged sound mark", "コーヒー", []string{"コー", "ーヒ", "ヒー"}},
		{"half-width katakana", "ｺｰﾋｰ", []string{"コー", "ーヒ", "ヒー"}},
		{"mixed latin and han", "iPhone手机壳", []string{"iphone", "手机", "机壳"}},
		{"han digit han", "第3章", []string{"第", "3", "章"}},
		{"hangul bigrams", "검색은", []string{"검색", "색은"}},
		{"thai keeps marks", "ภาษาไทย", []string{"ภา", "าษ", "ษา", "าไ", "ไท", "ทย"}},
		{"cyrillic", "Привет мир", []string{"привет", "мир"}},
		{"devanagari keeps marks", "हिन्दी खोज", []string{"हिन्दी", "खोज"}},
		{"arabic", "بحث موزع", []string{"بحث", "موزع"}},
		{"leading mark separates", "\u0301abc", []string{"abc"}},
		{"apostrophe and hyphen split", "don't e-mail", []string{"don", "t", "e", "mail"}},
		{"long term dropped", "a " + strings.Repeat("x", 65) + " b", []string{"a", "b"}},
		{"64 bytes kept", strings.Repeat("y", 64), []string{strings.Repeat("y", 64)}},
		{"invalid utf-8 separates", "ab\xffcd", []string{"ab", "cd"}},
		{"NFKC after invalid utf-8", "\xf6Ǉ", []string{"lj"}},
		{"emoji separate", "go🚀rust", []string{"go", "rust"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Terms(tt.in)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Terms(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// checkTermsInvariants checks what every caller of Terms relies on.
func checkTermsInvariants(t *testing.T, text string) {
	t.Helper()
	terms := Terms(text)
	if again := Terms(text); !slices.Equal(terms, again) {
		t.Fatalf("Terms(%q) not deterministic: %q then %q", text, terms, again)
	}
	for _, term := range terms {
		if term == "" || len(term) > MaxTermLen || !utf8.ValidString(term) {
			t.Fatalf("Terms(%q): bad term %q", text, term)
		}
		if got := Terms(term); len(got) != 1 || got[0] != term {
			t.Fatalf("Terms(%q): term %q (% x) tokenizes to %q", text, term, term, got)
		}
	}
	// Joining the terms with spaces gives back the same terms: queries
	// are rendered that way.
	if got := Terms(strings.Join(terms, " ")); !slices.Equal(got, terms) {
		t.Fatalf("Terms(%q) = %q, but Terms of them joined = %q", text, terms, got)
	}
}

func FuzzTerms(f *testing.F) {
	for _, s := range []string{"", "Hello World", "ﬁle", "分布式搜索", "検索する コーヒー", "ภาษาไทย", "e\u0301\u0301", "İıǅ", "각", "\u1100\u1161x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkTermsInvariants(t, s) })
}

func TestTermKey(t *testing.T) {
	// SHA-256("myconet-term/v1/search")
	const want = "3312a94c34730294e1b293b254bc51f57c709cdf9c1504689ec553ceb0a5c0ae"
	got := hex.EncodeToString(TermKey("search"))
	if got != want {
		t.Fatalf("TermKey(search) = %s, want %s", got, want)
	}
	c := TermCID("search")
	if c.Version() != 1 || c.Type() != 0x55 {
		t.Fatalf("TermCID = %v: want CIDv1 raw", c)
	}
	dec := c.Hash()
	if hex.EncodeToString(dec[2:]) != got || dec[0] != 0x12 || dec[1] != 32 {
		t.Fatalf("TermCID multihash %x does not wrap TermKey %s", []byte(dec), got)
	}
	if TermCID("search").Equals(TermCID("searc")) {
		t.Fatal("different terms, same CID")
	}
}

// TestNormalizeIdempotent checks every letter, number and mark: normalizing
// twice gives what normalizing once gives.
func TestNormalizeIdempotent(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r) {
			continue
		}
		n := normalize(string(r))
		if m := normalize(n); m != n {
			t.Errorf("%U %q: normalize gives %q, then %q", r, string(r), n, m)
		}
	}
}
