package main

import (
	"strings"
	"testing"

	"github.com/myconet/myconet/node/apitype"
)

// TestPrintLinks: add says what it did with symlinks (issue 10, item 27).
func TestPrintLinks(t *testing.T) {
	var b strings.Builder
	err := printLinks(&b, &apitype.LinkReport{Followed: 2, Kept: 1, Dangling: 1, Examples: []string{"_static/jquery.js -> /usr/share/javascript/jquery/jquery.js (followed)"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "symlinks: 2 followed out of the directory (their content is in the package), 1 kept as a link\n" +
		"  _static/jquery.js -> /usr/share/javascript/jquery/jquery.js (followed)\n" +
		"warning: 1 symlink leads to nothing in the package; the gateway answers 404 there\n"
	if b.String() != want {
		t.Errorf("got:\n%swant:\n%s", b.String(), want)
	}
}
