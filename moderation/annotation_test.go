package moderation

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

func mustAnnotate(t testing.TB, who int, a Annotation, at time.Time) Annotation {
	t.Helper()
	n, err := NewAnnotation(key(who), a, at, testDifficulty)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAnnotationRoundTrip(t *testing.T) {
	a := mustAnnotate(t, 1, Annotation{
		Target: pkgA,
		Tags:   []string{"rust", "compilers", "Übersetzer"},
		Titles: map[string]string{"DE": "Drachenbuch", "fr-ca": "Le livre du dragon"},
		Note:   "Second edition.\nSee also the errata.",
	}, t0)
	if !slices.Equal(a.Tags, []string{"compilers", "rust", "Übersetzer"}) {
		t.Fatalf("tags %q not sorted", a.Tags)
	}
	if !slices.Equal(slices.Sorted(maps.Keys(a.Titles)), []string{"de", "fr-CA"}) {
		t.Fatalf("languages %v not canonical", a.Titles)
	}
	if err := VerifyAnnotation(a, testDifficulty, t0, time.Hour, minute); err != nil {
		t.Fatal(err)
	}
	b := mustEncode(t, a.Encode)
	d, err := DecodeAnnotation(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustEncode(t, d.Encode), b) {
		t.Fatal("re-encoding differs")
	}
	if err := VerifyAnnotation(d, testDifficulty, t0, time.Hour, minute); err != nil {
		t.Fatal(err)
	}
	if err := CheckAnnotationTarget(d, pkgB); !errors.Is(err, ErrWrongTarget) {
		t.Fatal(err)
	}
	// An empty annotation (a withdrawal) is valid.
	e := mustAnnotate(t, 1, Annotation{Target: pkgA}, t0)
	if _, err := DecodeAnnotation(mustEncode(t, e.Encode)); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyAnnotation(t *testing.T) {
	base := mustAnnotate(t, 1, Annotation{Target: pkgA, Tags: []string{"a", "b"}, Titles: map[string]string{"en": "T"}, Note: "n"}, t0)
	tests := []struct {
		name string
		edit func(*Annotation)
		want error
	}{
		{"target", func(a *Annotation) { a.Target = pkgB }, ErrBadSignature},
		{"annotator", func(a *Annotation) { a.Annotator = pub(2) }, ErrBadSignature},
		{"time", func(a *Annotation) { a.Time = a.Time.Add(1) }, ErrBadSignature},
		{"tags", func(a *Annotation) { a.Tags = []string{"a", "c"} }, ErrBadSignature},
		{"titles", func(a *Annotation) { a.Titles = map[string]string{"en": "U"} }, ErrBadSignature},
		{"note", func(a *Annotation) { a.Note = "m" }, ErrBadSignature},
		{"nonce", func(a *Annotation) { a.Nonce++ }, ErrBadSignature},
		{"sig", func(a *Annotation) { a.Sig = bytes.Clone(a.Sig); a.Sig[5] ^= 1 }, ErrBadSignature},
		{"tags unsorted", func(a *Annotation) { a.Tags = []string{"b", "a"} }, ErrInvalid},
		{"tags duplicate", func(a *Annotation) { a.Tags = []string{"a", "a"} }, ErrInvalid},
		{"tag empty", func(a *Annotation) { a.Tags = []string{""} }, ErrInvalid},
		{"tag too long", func(a *Annotation) { a.Tags = []string{strings.Repeat("t", 65)} }, ErrTooLarge},
		{"too many tags", func(a *Annotation) { a.Tags = manyTags(MaxAnnotationTags + 1) }, ErrTooLarge},
		{"language not canonical", func(a *Annotation) { a.Titles = map[string]string{"EN": "T"} }, ErrInvalid},
		{"language invalid", func(a *Annotation) { a.Titles = map[string]string{"e n": "T"} }, ErrInvalid},
		{"title empty", func(a *Annotation) { a.Titles = map[string]string{"en": ""} }, ErrInvalid},
		{"title too long", func(a *Annotation) { a.Titles = map[string]string{"en": strings.Repeat("t", 257)} }, ErrTooLarge},
		{"note too long", func(a *Annotation) { a.Note = strings.Repeat("n", MaxNote+1) }, ErrTooLarge},
		{"note control", func(a *Annotation) { a.Note = "\x00" }, ErrInvalid},
		{"oversized", func(a *Annotation) {
			a.Tags = manyTags(16)
			a.Titles = manyTitles(8)
			a.Note = strings.Repeat("n", MaxNote)
		}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base
			tt.edit(&a)
			if err := VerifyAnnotation(a, 0, t0, time.Hour, minute); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	w := base.work()
	for _, tt := range []struct {
		name       string
		difficulty int
		now        time.Time
		want       error
	}{
		{"insufficient work", w + 1, t0, ErrInsufficientWork},
		{"future", 0, t0.Add(-time.Hour), ErrFuture},
		{"expired", 0, t0.Add(2 * time.Hour), ErrExpired},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := VerifyAnnotation(base, tt.difficulty, tt.now, time.Hour, minute); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func (a Annotation) work() int {
	prefix, err := a.appendWorkPrefix([]byte(annotationWorkDomain))
	if err != nil {
		return -1
	}
	return workOf(prefix, a.Nonce)
}

func manyTags(n int) []string {
	var l []string
	for i := range n {
		l = append(l, strings.Repeat(string(rune('a'+i%26)), 60)+string(rune('a'+i/26)))
	}
	slices.Sort(l)
	return l
}

func manyTitles(n int) map[string]string {
	langs := []string{"de", "en", "es", "fr", "it", "ja", "nl", "pt", "ru", "zh"}
	m := map[string]string{}
	for _, l := range langs[:n] {
		m[l] = strings.Repeat("t", 256)
	}
	return m
}

func TestNewAnnotationErrors(t *testing.T) {
	for _, a := range []Annotation{
		{Target: pkgA, Tags: []string{"x", "x"}},
		{Target: pkgA, Titles: map[string]string{"en": "a", "EN": "b"}},
		{Target: pkgA, Titles: map[string]string{"english!": "a"}},
		{Target: cid.Undef},
	} {
		if _, err := NewAnnotation(key(1), a, t0, 0); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%+v: %v", a, err)
		}
	}
	big := Annotation{Target: pkgA, Tags: manyTags(16), Titles: manyTitles(8), Note: strings.Repeat("n", MaxNote)}
	if _, err := NewAnnotation(key(1), big, t0, 0); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
}

func TestDecodeAnnotationErrors(t *testing.T) {
	a := mustAnnotate(t, 1, Annotation{Target: pkgA, Tags: []string{"a", "b"}, Titles: map[string]string{"de": "x", "en": "y"}}, t0)
	good := mustEncode(t, a.Encode)
	offTags := 1 + 2 + cidSize + keySize + 8
	swapTags := bytes.Clone(good)
	swapTags[offTags+1+2], swapTags[offTags+1+2+1+2] = 'b', 'a'
	offTitles := offTags + 1 + 3 + 3
	swapLangs := bytes.Clone(good)
	copy(swapLangs[offTitles+1+2:], "en")
	copy(swapLangs[offTitles+1+2+2+2+1+2:], "de")
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrDecode},
		{"truncated", good[:len(good)-1], ErrDecode},
		{"trailing", append(bytes.Clone(good), 0), ErrDecode},
		{"tags out of order", swapTags, ErrInvalid},
		{"languages out of order", swapLangs, ErrDecode},
		{"too many tags", func() []byte { b := bytes.Clone(good); b[offTags] = MaxAnnotationTags + 1; return b }(), ErrTooLarge},
		{"oversized", make([]byte, MaxAnnotationSize+1), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeAnnotation(tt.b); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	ann := func(who int, at time.Time, tags []string, titles map[string]string, note string) Annotation {
		return mustAnnotate(t, who, Annotation{Target: pkgA, Tags: tags, Titles: titles, Note: note}, at)
	}
	anns := []Annotation{
		ann(1, t0, []string{"go", "p2p"}, map[string]string{"de": "Pilznetz"}, "typo in chapter 2"),
		ann(1, t0, []string{"go", "p2p"}, map[string]string{"de": "Pilznetz"}, "typo in chapter 2"), // replay
		ann(2, t0, []string{"go"}, map[string]string{"de": "Pilznetz", "fr": "Réseau"}, ""),
		ann(3, t0, []string{"spam"}, nil, ""),
		ann(3, t0.Add(time.Hour), []string{"go"}, map[string]string{"de": "Myzelnetz"}, "typo in chapter 2"), // replaces the spam
		ann(4, t0, []string{"nothing"}, nil, ""),
		ann(4, t0.Add(time.Hour), nil, nil, ""), // withdrawal
		mustAnnotate(t, 5, Annotation{Target: pkgB, Tags: []string{"go"}}, t0),
	}
	s := Summarize(pkgA, anns)
	if s.Annotators != 3 {
		t.Fatalf("%d annotators, want 3", s.Annotators)
	}
	wantTags := []Count{{"go", 3}, {"p2p", 1}}
	if !slices.Equal(s.Tags, wantTags) {
		t.Fatalf("tags %v, want %v", s.Tags, wantTags)
	}
	if want := []Count{{"Pilznetz", 2}, {"Myzelnetz", 1}}; !slices.Equal(s.Titles["de"], want) {
		t.Fatalf("de titles %v, want %v", s.Titles["de"], want)
	}
	if want := []Count{{"Réseau", 1}}; !slices.Equal(s.Titles["fr"], want) || len(s.Titles) != 2 {
		t.Fatalf("titles %v", s.Titles)
	}
	if want := []Count{{"typo in chapter 2", 2}}; !slices.Equal(s.Notes, want) {
		t.Fatalf("notes %v", s.Notes)
	}
	// Order does not matter.
	slices.Reverse(anns)
	if s2 := Summarize(pkgA, anns); !slices.Equal(s2.Tags, s.Tags) || s2.Annotators != s.Annotators {
		t.Fatal("order changed the summary")
	}
}
