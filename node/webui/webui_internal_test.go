package webui

import (
	"strings"
	"testing"
)

// FuzzUploadPath: a file name from the browser becomes a clean relative
// path (no empty, "." or ".." segment, no backslash or control character)
// or is refused; it never escapes the staging directory.
func FuzzUploadPath(f *testing.F) {
	for _, s := range []string{"a.txt", "site/index.html", "../x", "/etc/passwd", "a//b", "a\\b", ".", "a/./b", "a/\x00", "é/ü.png", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, err := uploadPath(name)
		if err != nil {
			return
		}
		if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
			t.Fatalf("uploadPath(%q) = %q", name, p)
		}
		for _, s := range strings.Split(p, "/") {
			if s == "" || s == "." || s == ".." {
				t.Fatalf("uploadPath(%q) = %q has segment %q", name, p, s)
			}
		}
	})
}

func TestFieldOf(t *testing.T) {
	f, r, ok := fieldOf(errString("add: metadata: language: \"x y\" is not a BCP 47 language tag"))
	if !ok || f != "language" || !strings.Contains(r, "BCP 47") {
		t.Fatalf("fieldOf = %q %q %v", f, r, ok)
	}
	if _, _, ok := fieldOf(errString("store: quota exceeded")); ok {
		t.Fatal("fieldOf found a field in a non-metadata error")
	}
}

type errString string

func (e errString) Error() string { return string(e) }
