package search

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		in    string
		want  Query
		canon string
	}{
		{in: "hello", want: Query{Terms: []string{"hello"}}, canon: "hello"},
		{in: "  World hello world ", want: Query{Terms: []string{"hello", "world"}}, canon: "hello world"},
		{in: `"Distributed Search" p2p`, want: Query{Terms: []string{"p2p"}, Phrases: [][]string{{"distributed", "search"}}},
			canon: `p2p "distributed search"`},
		{in: `"single"`, want: Query{Terms: []string{"single"}}, canon: "single"},
		{in: "e-mail", want: Query{Phrases: [][]string{{"e", "mail"}}}, canon: `"e mail"`},
		{in: "分布式搜索", want: Query{Phrases: [][]string{{"分布", "布式", "式搜", "搜索"}}}, canon: `"分布 布式 式搜 搜索"`},
		{in: "书", want: Query{Terms: []string{"书"}}, canon: "书"},
		{in: `go -java -"design patterns"`, want: Query{Terms: []string{"go"}, NotTerms: []string{"java"},
			NotPhrases: [][]string{{"design", "patterns"}}}, canon: `go -java -"design patterns"`},
		{in: `cat "unterminated phrase`, want: Query{Terms: []string{"cat"}, Phrases: [][]string{{"unterminated", "phrase"}}},
			canon: `cat "unterminated phrase"`},
		{in: `foo"bar baz"`, want: Query{Terms: []string{"foo"}, Phrases: [][]string{{"bar", "baz"}}}, canon: `foo "bar baz"`},
		{in: "x - -- y", want: Query{Terms: []string{"x", "y"}}, canon: "x y"},
		{in: "Kind:Video lang:EN-us tag:Machine-Learning tag:go license:MIT publisher:12D3KooWabc talk",
			want: Query{Terms: []string{"talk"}, Kind: "video", Language: "en-us", License: "MIT",
				Publisher: "12D3KooWabc", Tags: []string{"go", "machine learning"}},
			canon: `talk kind:video lang:en-us license:MIT publisher:12D3KooWabc tag:go tag:"machine learning"`},
		{in: `talk language:fr license:"MIT  OR Apache-2.0" tag:"a b"`,
			want:  Query{Terms: []string{"talk"}, Language: "fr", License: "MIT OR Apache-2.0", Tags: []string{"a b"}},
			canon: `talk lang:fr license:"MIT OR Apache-2.0" tag:"a b"`},
		{in: "kind:video kind:VIDEO x", want: Query{Terms: []string{"x"}, Kind: "video"}, canon: "x kind:video"},
		{in: "http://example.org/x", want: Query{Phrases: [][]string{{"http", "example", "org", "x"}}},
			canon: `"http example org x"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseQuery(tt.in)
			if err != nil {
				t.Fatalf("ParseQuery: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseQuery(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.canon {
				t.Fatalf("String() = %q, want %q", s, tt.canon)
			}
			again, err := ParseQuery(got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("round trip: %#v, %v", again, err)
			}
		})
	}
}

func TestParseQueryErrors(t *testing.T) {
	many := func(n int, prefix string) string {
		var w []string
		for i := range n {
			w = append(w, prefix+string(rune('a'+i%26))+string(rune('a'+i/26)))
		}
		return strings.Join(w, " ")
	}
	tests := []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrEmptyQuery},
		{"spaces", "   \t\n", ErrEmptyQuery},
		{"punctuation", "!!! ???", ErrEmptyQuery},
		{"only exclusions", "-foo -bar", ErrEmptyQuery},
		{"only filters", "kind:video", ErrEmptyQuery},
		{"too long", strings.Repeat("a ", MaxQueryLen/2+1), ErrQueryTooLong},
		{"canonical form too long", strings.Repeat("\ufdfa", 300), ErrQueryTooLong}, // NFKC expands
		{"17 terms", many(17, ""), ErrTooManyTerms},
		{"terms counted with exclusions", many(10, "") + " " + many(7, "-z"), ErrTooManyTerms},
		{"9 phrases", `"a b" "b a" "a a" "b b" "a b a" "b a b" "a a b" "b b a" -"a b b"`, ErrTooManyPhrases},
		{"unknown kind", "x kind:movie", ErrBadFilter},
		{"empty filter", "x kind:", ErrBadFilter},
		{"conflicting kind", "x kind:video kind:audio", ErrBadFilter},
		{"negated filter", "x -kind:video", ErrBadFilter},
		{"bad language", "x lang:en_US", ErrBadFilter},
		{"bad publisher", "x publisher:12D3/x", ErrBadFilter},
		{"empty tag", `x tag:"!!"`, ErrBadFilter},
		{"too many tags", "x tag:a tag:b tag:c tag:d tag:e tag:f tag:g tag:h tag:i", ErrBadFilter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := ParseQuery(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseQuery(%q) = %#v, %v; want %v", tt.in, q, err, tt.want)
			}
		})
	}
	// At the limits.
	for _, in := range []string{many(16, ""), strings.Repeat(`"a b" `, 8), strings.Repeat("a", MaxQueryLen)} {
		if _, err := ParseQuery(in); err != nil && !errors.Is(err, ErrEmptyQuery) {
			t.Errorf("ParseQuery(%.40q…): %v", in, err)
		}
	}
}

func TestSetFilter(t *testing.T) {
	q, err := ParseQuery("talk")
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"kind", " Audio "}, {"language", "DE"}, {"tag", `Say "hi"`}, {"LICENSE", "cc-by-4.0"}} {
		if err := q.SetFilter(kv[0], kv[1]); err != nil {
			t.Fatalf("SetFilter(%q, %q): %v", kv[0], kv[1], err)
		}
	}
	want := `talk kind:audio lang:de license:cc-by-4.0 tag:"say hi"`
	if q.String() != want {
		t.Fatalf("String() = %q, want %q", q.String(), want)
	}
	if err := q.SetFilter("colour", "red"); !errors.Is(err, ErrBadFilter) {
		t.Fatalf("unknown key: %v", err)
	}
	if err := q.SetFilter("license", `MIT"`); !errors.Is(err, ErrBadFilter) {
		t.Fatalf("quote in license: %v", err)
	}
}

func TestRarestTerms(t *testing.T) {
	q, err := ParseQuery(`common rare "mid phrase" -excluded`)
	if err != nil {
		t.Fatal(err)
	}
	df := map[string]int{"common": 900, "rare": 2, "mid": 50, "phrase": 50, "excluded": 0}
	got := q.RarestTerms(func(t string) int { return df[t] }, 3)
	if want := []string{"rare", "mid", "phrase"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("RarestTerms = %q, want %q", got, want)
	}
	if got := q.RarestTerms(func(string) int { return 1 }, 10); len(got) != 4 {
		t.Fatalf("RarestTerms(k=10) = %q", got)
	}
	if got := q.RarestTerms(func(string) int { return 1 }, 0); got != nil {
		t.Fatalf("RarestTerms(k=0) = %q", got)
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"hello world", `"a phrase" -not -"not this"`, "kind:video lang:en tag:x license:MIT publisher:Qm",
		`tag:"machine learning" talk`, "分布式搜索 -广告", "e-mail", `x "unterminated`, "ﬁle ＡＢＣ",
		"language:EN-us kind:DOCUMENT x", "http://a:b/c", `-"`, `tag:"`, "a:b:c",
	} {
		f.Add(s)
	}
	f.Fuzz(checkQueryRoundTrip)
}

// TestQueryRandom runs the checks of the fuzzers on random strings made of
// the pieces that matter (quotes, dashes, colons, filter keys, scripts,
// compatibility characters), which the fuzzer reaches slowly.
func TestQueryRandom(t *testing.T) {
	pieces := []string{
		" ", "  ", "\t", `"`, "-", ":", "kind", "lang", "tag", "license", "publisher", "video", "EN-us",
		"a", "Go", "ﬁle", "Ｆｕｌｌ", "Straße", "分布式", "搜索", "検索する", "ｺｰﾋｰ", "ภาษา", "한국어",
		"e\u0301", "\u0301", "Ǉ", "ꮷ", "İ", "\ufdfa", "²", "\xff", "\xf6", "\xe2\x82", "\u00a0", "\u3000", "🚀", ",", "MIT OR",
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := b.String()
		checkQueryRoundTrip(t, s)
		checkTermsInvariants(t, s)
		if t.Failed() {
			return
		}
	}
}

func checkQueryRoundTrip(t *testing.T, s string) {
	q, err := ParseQuery(s)
	if err != nil {
		return
	}
	canon := q.String()
	if len(canon) > MaxQueryLen {
		t.Fatalf("canonical form of %d bytes", len(canon))
	}
	q2, err := ParseQuery(canon)
	if err != nil {
		t.Fatalf("ParseQuery(%q) = %v; its canonical form %q fails: %v", s, q, canon, err)
	}
	if !reflect.DeepEqual(q, q2) {
		t.Fatalf("round trip of %q via %q:\n got %#v\nwant %#v", s, canon, q2, q)
	}
	if q2.String() != canon {
		t.Fatalf("canonical form not stable: %q then %q", canon, q2.String())
	}
	if len(q.allTerms()) > MaxQueryTerms || len(q.Phrases)+len(q.NotPhrases) > MaxQueryPhrases {
		t.Fatalf("limits broken: %#v", q)
	}
}
