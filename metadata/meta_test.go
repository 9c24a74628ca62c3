package metadata

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

func testCID(t testing.TB, codec uint64, data string) cid.Cid {
	t.Helper()
	h, err := mh.Sum([]byte(data), mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(codec, h)
}

func validMeta() Meta {
	return Meta{Title: "A title"}
}

func TestValidate(t *testing.T) {
	many := func(n int, f func(i int) string) []string {
		l := make([]string, n)
		for i := range l {
			l[i] = f(i)
		}
		return l
	}
	num := func(i int) string { return "t" + strings.Repeat("x", i) }
	tests := []struct {
		name   string
		edit   func(m *Meta)
		field  string // "" means valid
		reason string // substring of the reason
	}{
		{"minimal", func(m *Meta) {}, "", ""},
		{"full", func(m *Meta) {
			*m = Meta{
				Title: "Ünïcode title ✓", Description: "line 1\nline 2\r\n\ttabbed",
				Tags: []string{"a", "b c"}, Language: "pt-BR", License: "MIT OR (Apache-2.0 WITH LLVM-exception)",
				Authors: []string{"Ada", "Bob"}, Kind: KindSite, Entry: "site/index.html",
				Created: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), Size: 1 << 40, Files: 3,
				Previous: testCID(t, cid.DagCBOR, "prev"),
			}
		}, "", ""},

		{"title empty", func(m *Meta) { m.Title = "" }, "title", "required"},
		{"title blank", func(m *Meta) { m.Title = " \t " }, "title", ""},
		{"title spaces only", func(m *Meta) { m.Title = "   " }, "title", "required"},
		{"title max", func(m *Meta) { m.Title = strings.Repeat("a", 256) }, "", ""},
		{"title long", func(m *Meta) { m.Title = strings.Repeat("a", 257) }, "title", "longer than 256 bytes"},
		{"title utf8", func(m *Meta) { m.Title = "a\xffb" }, "title", "UTF-8"},
		{"title control", func(m *Meta) { m.Title = "a\x00b" }, "title", "control character U+0000"},
		{"title newline", func(m *Meta) { m.Title = "a\nb" }, "title", "control character U+000A"},
		{"title C1", func(m *Meta) { m.Title = "a\u0085b" }, "title", "control character U+0085"},

		{"description max", func(m *Meta) { m.Description = strings.Repeat("d", 8192) }, "", ""},
		{"description long", func(m *Meta) { m.Description = strings.Repeat("d", 8193) }, "description", "longer than 8192"},
		{"description control", func(m *Meta) { m.Description = "bell\a" }, "description", "control character U+0007"},
		{"description utf8", func(m *Meta) { m.Description = "\xc3" }, "description", "UTF-8"},

		{"tags max", func(m *Meta) { m.Tags = many(32, num) }, "", ""},
		{"tags too many", func(m *Meta) { m.Tags = many(33, num) }, "tags", "more than 32 tags"},
		{"tag empty", func(m *Meta) { m.Tags = []string{"a", ""} }, "tags", "tag 2: required"},
		{"tag long", func(m *Meta) { m.Tags = []string{strings.Repeat("t", 65)} }, "tags", "tag 1: longer than 64"},
		{"tag control", func(m *Meta) { m.Tags = []string{"a\tb"} }, "tags", "control character"},
		{"tag duplicate", func(m *Meta) { m.Tags = []string{"go", "p2p", "go"} }, "tags", `duplicate tag "go"`},

		{"language", func(m *Meta) { m.Language = "en" }, "", ""},
		{"language script", func(m *Meta) { m.Language = "zh-Hant-TW" }, "", ""},
		{"language private", func(m *Meta) { m.Language = "x-klingon" }, "", ""},
		{"language bad", func(m *Meta) { m.Language = "english language" }, "language", "not a BCP 47"},
		{"language ill-formed", func(m *Meta) { m.Language = "en--US" }, "language", "not a BCP 47"},
		{"language underscore", func(m *Meta) { m.Language = "en_US" }, "language", "not a BCP 47"},
		{"language long", func(m *Meta) { m.Language = "en-" + strings.Repeat("abcdefgh-", 4) }, "language", "longer than 35"},

		{"license id", func(m *Meta) { m.License = "GPL-3.0-or-later" }, "", ""},
		{"license plus", func(m *Meta) { m.License = "GPL-2.0+" }, "", ""},
		{"license ref", func(m *Meta) { m.License = "LicenseRef-my.own-1" }, "", ""},
		{"license docref", func(m *Meta) { m.License = "DocumentRef-spdx:LicenseRef-x" }, "", ""},
		{"license expr", func(m *Meta) { m.License = "(MIT AND BSD-2-Clause) OR GPL-2.0-only WITH Classpath-exception-2.0" }, "", ""},
		{"license nested", func(m *Meta) { m.License = "((MIT))" }, "", ""},
		{"license lower op", func(m *Meta) { m.License = "MIT or Apache-2.0" }, "license", "must be upper case"},
		{"license dangling", func(m *Meta) { m.License = "MIT AND" }, "license", "unexpected end"},
		{"license two ids", func(m *Meta) { m.License = "MIT Apache-2.0" }, "license", `unexpected "Apache-2.0"`},
		{"license paren", func(m *Meta) { m.License = "(MIT" }, "license", "missing ')'"},
		{"license close", func(m *Meta) { m.License = "MIT)" }, "license", `unexpected ")"`},
		{"license empty parens", func(m *Meta) { m.License = "()" }, "license", `unexpected ")"`},
		{"license chars", func(m *Meta) { m.License = "MIT/X11" }, "license", "bad license id"},
		{"license spaces", func(m *Meta) { m.License = " MIT" }, "license", "single spaces"},
		{"license double space", func(m *Meta) { m.License = "MIT  OR BSD" }, "license", "single spaces"},
		{"license with missing", func(m *Meta) { m.License = "MIT WITH" }, "license", "missing exception"},
		{"license bad ref", func(m *Meta) { m.License = "LicenseRef-" }, "license", "bad license reference"},
		{"license long", func(m *Meta) { m.License = "LicenseRef-" + strings.Repeat("x", 118) }, "license", "longer than 128"},
		{"license free text", func(m *Meta) { m.License = "All rights reserved" }, "license", "not an SPDX"},

		{"authors max", func(m *Meta) { m.Authors = many(32, num) }, "", ""},
		{"authors too many", func(m *Meta) { m.Authors = many(33, num) }, "authors", "more than 32 authors"},
		{"author empty", func(m *Meta) { m.Authors = []string{""} }, "authors", "author 1: required"},
		{"author long", func(m *Meta) { m.Authors = []string{strings.Repeat("a", 129)} }, "authors", "longer than 128"},
		{"author control", func(m *Meta) { m.Authors = []string{"\x1b[31m"} }, "authors", "control character"},

		{"kind", func(m *Meta) { m.Kind = KindVideo }, "", ""},
		{"kind bad", func(m *Meta) { m.Kind = "movie" }, "kind", `"movie" is not one of`},
		{"kind case", func(m *Meta) { m.Kind = "Video" }, "kind", "not one of"},

		{"entry", func(m *Meta) { m.Entry = "index.html" }, "", ""},
		{"entry leading slash", func(m *Meta) { m.Entry = "/index.html" }, "entry", "relative"},
		{"entry dotdot", func(m *Meta) { m.Entry = "a/../../x" }, "entry", `".."`},
		{"entry dot", func(m *Meta) { m.Entry = "./x" }, "entry", `"."`},
		{"entry trailing slash", func(m *Meta) { m.Entry = "docs/" }, "entry", "empty segment"},
		{"entry double slash", func(m *Meta) { m.Entry = "a//b" }, "entry", "empty segment"},
		{"entry control", func(m *Meta) { m.Entry = "a\x00" }, "entry", "control character"},
		{"entry long", func(m *Meta) { m.Entry = strings.Repeat("e", 1025) }, "entry", "longer than 1024"},

		{"name", func(m *Meta) { m.Name = "report 2024 ✓.pdf" }, "", ""},
		{"name max", func(m *Meta) { m.Name = strings.Repeat("n", 255) }, "", ""},
		{"name long", func(m *Meta) { m.Name = strings.Repeat("n", 256) }, "name", "longer than 255"},
		{"name slash", func(m *Meta) { m.Name = "../../.bashrc" }, "name", "not a single file name"},
		{"name absolute", func(m *Meta) { m.Name = "/etc/passwd" }, "name", "not a single file name"},
		{"name backslash", func(m *Meta) { m.Name = `..\x.exe` }, "name", "not a single file name"},
		{"name dot", func(m *Meta) { m.Name = "." }, "name", "not a file name"},
		{"name dotdot", func(m *Meta) { m.Name = ".." }, "name", "not a file name"},
		{"name NUL", func(m *Meta) { m.Name = "a\x00b" }, "name", "control character U+0000"},
		{"name newline", func(m *Meta) { m.Name = "a\nb" }, "name", "control character U+000A"},
		{"name utf8", func(m *Meta) { m.Name = "a\xffb" }, "name", "UTF-8"},

		{"created year", func(m *Meta) { m.Created = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "created", "outside"},
		{"created zone", func(m *Meta) { m.Created = time.Date(2024, 1, 1, 0, 0, 0, 5, time.FixedZone("x", 3600)) }, "", ""},

		{"previous", func(m *Meta) { m.Previous = testCID(t, cid.Raw, "x") }, "previous", "not a package CID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validMeta()
			tt.edit(&m)
			err := m.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate = %v, want a *FieldError", err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Reason, tt.reason) {
				t.Fatalf("Validate = %q, want field %q with reason containing %q", err, tt.field, tt.reason)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatal("errors.Is(err, ErrInvalid) = false")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "metadata: "+tt.field+": ") || strings.Contains(msg, "\n") {
				t.Fatalf("message %q is not one line starting with the field", msg)
			}
		})
	}
}

func TestKinds(t *testing.T) {
	ks := Kinds()
	if len(ks) != 9 {
		t.Fatalf("Kinds = %v", ks)
	}
	for _, k := range ks {
		if !ValidKind(k) {
			t.Errorf("ValidKind(%q) = false", k)
		}
	}
	ks[0] = "mutated"
	if !slices.Contains(Kinds(), KindDocument) {
		t.Fatal("Kinds shares its slice with the caller")
	}
	for _, k := range []string{"", "Video", "movie", "site "} {
		if ValidKind(k) {
			t.Errorf("ValidKind(%q) = true", k)
		}
	}
}

func TestFieldError(t *testing.T) {
	err := error(&FieldError{Field: "title", Reason: "required"})
	if err.Error() != "metadata: title: required" {
		t.Fatalf("Error = %q", err)
	}
	if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrDecode) {
		t.Fatal("FieldError Is mismatch")
	}
}
